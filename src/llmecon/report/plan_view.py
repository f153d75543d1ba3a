"""`llmecon plan` results: the cheapest self-hosted configurations next to paid APIs."""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.table import Table

from llmecon.core.accuracy import OUT_OF_SAMPLE
from llmecon.core.planning import Candidate, Plan
from llmecon.core.roofline import MOE_CAVEAT
from llmecon.report.contract import breakeven_to_dict
from llmecon.report.numbers import clean, money, volume
from llmecon.report.table import wide_console
from llmecon.report.words import breakeven_sentences

NOTES = (
    "Throughput and latency are roofline estimates, "
    + OUT_OF_SAMPLE.band()
    + " (docs/roofline.md; size with --confidence p90 for headroom); measure your own "
    "endpoint with `llmecon bench` before buying.",
    "TTFT is the steady-state estimate with every slot busy, used as the p95 target's proxy; "
    "queueing at high utilization adds to it (lower --target-utilization for headroom).",
)


def candidate_to_dict(candidate: Candidate) -> dict[str, Any]:
    estimate = candidate.estimate
    return {
        "source": candidate.source,
        "instance": candidate.machine.name,
        "pricing": candidate.machine.pricing,
        "hourly_price": candidate.machine.hourly.amount,
        "price_source": candidate.machine.hourly.cited(),
        "gpu": candidate.machine.accelerator_name,
        "gpus": candidate.machine.gpus,
        "tensor_parallel": candidate.tensor_parallel,
        "replicas_per_instance": candidate.replicas_per_machine,
        "precision": candidate.precision,
        "concurrency": None if estimate is None else estimate.concurrency,
        "binding": candidate.binding,
        "ttft_ms": None if estimate is None else clean(estimate.ttft_ms),
        "tpot_ms": None if estimate is None else clean(estimate.tpot_ms),
        "requests_per_second_per_instance": clean(candidate.per_machine_rps),
        "replicas": candidate.replicas,
        "utilization": None if candidate.utilization is None else clean(candidate.utilization),
        "daily_cost": clean(candidate.daily_cost),
        "cost_per_1m_tokens": clean(candidate.cost_per_1m_tokens),
    }


def plan_to_dict(plan: Plan, price_book: str | None = None) -> dict[str, Any]:
    tokens = plan.tokens
    return {
        "model": plan.model.name,
        "price_book": price_book,
        "workload": {
            "requests_per_day": clean(plan.requests_per_day),
            "input_tokens": tokens.input,
            "output_tokens": tokens.output,
            "daily_profile": list(plan.rules.daily_profile) if plan.rules.daily_profile else None,
        },
        "targets": {"ttft_p95_ms": plan.targets.ttft_ms, "tpot_ms": plan.targets.tpot_ms},
        "fleet": {
            "peak_factor": plan.rules.peak_factor,
            "target_utilization": plan.rules.target_utilization,
            "min_replicas": plan.rules.min_replicas,
            "spare_replicas": plan.rules.spare,
            "autoscale": plan.rules.autoscale,
        },
        "estimate_accuracy": {
            "out_of_sample_geometric_mean_error": OUT_OF_SAMPLE.geo_mean,
            "out_of_sample_worst_error": OUT_OF_SAMPLE.worst,
            "out_of_sample_bias": OUT_OF_SAMPLE.bias,
            "safety_factor": plan.safety,
        },
        "candidates": [candidate_to_dict(c) for c in plan.candidates],
        "rejected": [
            {
                "instance": r.machine.name,
                "pricing": r.machine.pricing,
                "precision": r.precision,
                "tensor_parallel": r.tensor_parallel,
                "reason": r.reason,
            }
            for r in plan.rejected
        ],
        "api_alternatives": [
            {
                "model": alt.option.model,
                "hosted": alt.hosted,
                "daily_cost": clean(alt.bill.daily_cost),
                "cost_per_1m_tokens": clean(alt.bill.cost_per_1m_tokens or 0.0),
                "source": alt.bill.line_items[0].source,
                "breakeven": breakeven_to_dict(alt.breakeven) if alt.breakeven else None,
            }
            for alt in plan.alternatives
        ],
        "recommendation": _recommendation(plan),
        "notes": list(NOTES),
    }


def _recommendation(plan: Plan) -> dict[str, Any] | None:
    best = plan.recommendation
    if best is None:
        return None
    if isinstance(best, Candidate):
        return {"kind": "self_hosted", "name": best.option.name,
                "daily_cost": clean(best.daily_cost)}  # fmt: skip
    kind = "hosted" if best.hosted else "api"
    return {"kind": kind, "name": best.option.name, "daily_cost": clean(best.bill.daily_cost)}


def _recommendation_line(plan: Plan) -> str | None:
    best = _recommendation(plan)
    if best is None:
        return None
    words = {"self_hosted": "self-host", "hosted": "the same model hosted per token",
             "api": "a paid API"}  # fmt: skip
    return (
        f"Cheapest at {volume(plan.requests_per_day)} requests/day: {words[best['kind']]}, "
        f"{best['name']}, {money(best['daily_cost'])}/day"
    )


def render_plan_json(plan: Plan, out: TextIO, *, top: int, price_book: str | None) -> None:
    json.dump(plan_to_dict(plan, price_book), out, indent=2)
    out.write("\n")


def render_plan_table(plan: Plan, out: TextIO, *, top: int, price_book: str | None) -> None:
    console = wide_console(out)
    tokens = plan.tokens
    console.print(
        f"[bold]Self-hosting {plan.model.name}[/bold] at {volume(plan.requests_per_day)} "
        f"requests/day ({tokens.input:g} tokens in, {tokens.output:g} out)" + _targets(plan)
    )
    console.print(_candidates_table(plan.candidates[:top]))
    if len(plan.candidates) > top:
        console.print(f"[dim]{len(plan.candidates) - top} more feasible (--top N or JSON)[/dim]")
    if plan.rejected:
        console.print(f"[dim]{len(plan.rejected)} configurations rejected (see JSON)[/dim]")
    if plan.alternatives:
        console.print(_api_table(plan, top))
        hidden = sum(alt.hosted for alt in plan.alternatives) - top
        if hidden > 0:
            console.print(f"[dim]{hidden} more hosted offers (--top N or JSON)[/dim]")
    line = _recommendation_line(plan)
    if line is not None:
        console.print(f"[bold]{line}[/bold]")
    notes = (*NOTES, MOE_CAVEAT) if plan.model.is_moe else NOTES
    for note in notes:
        console.print(f"  - {note}", markup=False)
    if price_book:
        console.print(f"[dim]price book: {price_book}[/dim]")


def _targets(plan: Plan) -> str:
    parts = []
    if plan.targets.ttft_ms is not None:
        parts.append(f"TTFT <= {plan.targets.ttft_ms:g} ms")
    if plan.targets.tpot_ms is not None:
        parts.append(f"TPOT <= {plan.targets.tpot_ms:g} ms")
    return f", targets: {', '.join(parts)}" if parts else ""


def _candidates_table(candidates: tuple[Candidate, ...]) -> Table:
    table = Table(title="cheapest configurations (roofline estimates)", title_justify="left")
    headers = (
        "",
        "instance",
        "GPUs",
        "precision",
        "replicas/inst",
        "batch",
        "limited by",
        "TTFT ms",
        "TPOT ms",
        "req/s/inst",
        "instances",
        "util",
        "per day",
        "per 1M tok",
    )
    for header in headers:
        table.add_column(
            header, justify="left" if header in (*headers[:4], "limited by") else "right"
        )
    for rank, c in enumerate(candidates, start=1):
        spot = "" if c.machine.pricing == "on_demand" else f" ({c.machine.pricing})"
        hardware = f"{c.machine.gpus}x {c.machine.accelerator_name}"
        table.add_row(
            "★" if rank == 1 else str(rank), c.machine.name + spot,
            hardware, c.precision, str(c.replicas_per_machine),
            _estimated(c, "concurrency", "{:,}"), c.binding, _estimated(c, "ttft_ms", "{:,.0f}"),
            _estimated(c, "tpot_ms", "{:,.1f}"), f"{c.per_machine_rps:,.3g}", str(c.replicas),
            f"{c.utilization:.0%}" if c.utilization is not None else "-",
            money(c.daily_cost), money(c.cost_per_1m_tokens),
        )  # fmt: skip
    return table


def _estimated(candidate: Candidate, field: str, form: str) -> str:
    if candidate.estimate is None:
        return "-"
    return form.format(getattr(candidate.estimate, field))


def _api_table(plan: Plan, top: int) -> Table:
    title = "paid API alternatives (closed models, and the same model hosted per token)"
    table = Table(title=title, title_justify="left")
    for header in (
        "model",
        "kind",
        "per day",
        "per 1M tokens",
        "break-even with the cheapest plan",
    ):
        table.add_column(header, justify="right" if header.startswith("per") else "left")
    kinds = {alt.option.name: "api" for alt in plan.alternatives}
    if plan.candidates:
        kinds[plan.candidates[0].option.name] = "self_hosted"
    shown = [a for a in plan.alternatives if not a.hosted]
    shown += [a for a in plan.alternatives if a.hosted][:top]
    for alt in shown:
        words = "; ".join(breakeven_sentences(alt.breakeven, kinds)) if alt.breakeven else "-"
        table.add_row(
            alt.option.model or alt.option.name,
            "hosted" if alt.hosted else "api",
            money(alt.bill.daily_cost),
            money(alt.bill.cost_per_1m_tokens),
            words,
        )
    return table
