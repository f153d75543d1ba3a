"""The cheapest way to self-host a model: search machines, precisions and tensor parallelism.

For each machine and each precision, a replica spans `tp` of the machine's GPUs (tp divides the
GPU count, so a machine runs gpus / tp replicas). The roofline estimate gives each replica's
rate at the largest concurrency that meets the latency targets; the capacity formula turns that
into machines for the volume. Pure: machines and prices come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from llmecon.core.bill import Bill
from llmecon.core.breakeven import Breakeven, solve_breakeven
from llmecon.core.capacity import CapacityFleet, Throughput
from llmecon.core.commitments import is_commitment
from llmecon.core.comparison import bill_at
from llmecon.core.options import ApiOption, SelfHostedOption
from llmecon.core.prices import Price
from llmecon.core.roofline import DEFAULT_EFFICIENCY, Efficiency, Estimate, GpuSpec, ModelSpec
from llmecon.core.roofline import estimate as estimate_replica
from llmecon.core.workload import Tokens

TENSOR_PARALLEL = (1, 2, 4, 8)


@dataclass(frozen=True)
class Machine:
    """A rentable machine: its hourly price (on-demand or spot) and its GPUs. `gpu` is None
    for an accelerator the roofline cannot estimate (Inferentia2, Trainium): such a machine
    is only ranked from a measured throughput, and `accelerator` names it."""

    name: str
    hourly: Price
    gpu: GpuSpec | None
    gpus: int
    pricing: str = "on_demand"
    accelerator: str = ""

    @property
    def accelerator_name(self) -> str:
        return self.gpu.name if self.gpu is not None else self.accelerator


@dataclass(frozen=True)
class Targets:
    """Latency limits a replica must meet (None: no limit)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None

    def met_by(self, estimate: Estimate) -> bool:
        return (self.ttft_ms is None or estimate.ttft_ms <= self.ttft_ms) and (
            self.tpot_ms is None or estimate.tpot_ms <= self.tpot_ms
        )


@dataclass(frozen=True)
class Candidate:
    """One way to serve the volume, with its cost and what limits it."""

    machine: Machine
    precision: str  # "measured" for a bench result
    tensor_parallel: int
    binding: str  # what stops a bigger batch: memory, engine limit, ttft/tpot target, measured
    option: SelfHostedOption
    replicas: int  # machines needed at the volume
    daily_cost: float
    cost_per_1m_tokens: float
    utilization: float | None
    per_machine_rps: float
    source: str  # where the throughput comes from
    estimate: Estimate | None = None  # None when the throughput was measured

    @property
    def replicas_per_machine(self) -> int:
        return self.machine.gpus // self.tensor_parallel


@dataclass(frozen=True)
class Rejected:
    machine: Machine
    precision: str
    tensor_parallel: int
    reason: str


@dataclass(frozen=True)
class FleetRules:
    """How fleets are sized (the capacity options of a scenario)."""

    peak_factor: float = 1.0
    target_utilization: float = 1.0
    min_replicas: int = 1
    daily_profile: tuple[float, ...] | None = None
    autoscale: bool = False
    spare: int = 0  # replicas beyond need (1 with --ha: survives losing one)


@dataclass(frozen=True)
class _Search:
    """What every configuration is judged against."""

    model: ModelSpec
    tokens: Tokens
    requests_per_day: float
    targets: Targets
    rules: FleetRules
    efficiency: Efficiency
    safety: float = 1.0

    def estimate(
        self, machine: Machine, precision: str, tp: int, concurrency: int | None
    ) -> Estimate:
        assert self.tokens.input is not None and self.tokens.output is not None
        if machine.gpu is None:
            raise ValueError(f"{machine.name}: no GPU the roofline model can estimate")
        return estimate_replica(
            self.model, machine.gpu, tp, precision, concurrency,
            input_tokens=max(1, round(self.tokens.input)), output_tokens=round(self.tokens.output),
            efficiency=self.efficiency,
        )  # fmt: skip


def plan_deployments(
    model: ModelSpec,
    machines: Iterable[Machine],
    precisions: Iterable[str],
    tokens: Tokens,
    requests_per_day: float,
    *,
    targets: Targets = Targets(),
    rules: FleetRules = FleetRules(),
    efficiency: Efficiency = DEFAULT_EFFICIENCY,
    measured: Iterable[tuple[Machine, Throughput]] = (),
    safety: float = 1.0,
) -> tuple[list[Candidate], list[Rejected]]:
    """Every feasible configuration sorted by daily cost, and the rejected ones with reasons.

    `measured` adds machines whose per-machine throughput a benchmark measured (one replica
    over all their GPUs); they are ranked with the estimates. Estimated throughput is divided
    by `safety` (>= 1; `llmecon.core.accuracy.safety_factor`), measured throughput is not.
    """
    if tokens.input is None or tokens.output is None:
        raise ValueError("planning needs input and output tokens per request")
    if safety < 1:
        raise ValueError(f"safety must be >= 1, got {safety}")
    search = _Search(model, tokens, requests_per_day, targets, rules, efficiency, safety)
    candidates = [
        _priced(
            search, machine, "measured", machine.gpus, rate=rate, binding="measured", estimate=None
        )
        for machine, rate in measured
    ]
    rejected = []
    for machine, precision, tp in _configurations(machines, precisions):
        best = _best_estimate(search, machine, precision, tp)
        if isinstance(best, str):
            rejected.append(Rejected(machine, precision, tp, best))
        else:
            candidates.append(_candidate(search, machine, precision, tp, best))
    # Cheapest first; at equal cost, the one with the most headroom (lowest utilization).
    candidates.sort(key=lambda c: (c.daily_cost, c.utilization or 0.0, c.machine.name))
    return candidates, rejected


def _configurations(
    machines: Iterable[Machine], precisions: Iterable[str]
) -> Iterator[tuple[Machine, str, int]]:
    chosen = tuple(precisions)
    for machine in machines:
        if machine.gpu is None:
            continue
        for precision in chosen:
            for tp in TENSOR_PARALLEL:
                if tp <= machine.gpus and machine.gpus % tp == 0:
                    yield machine, precision, tp


def _best_estimate(
    search: _Search, machine: Machine, precision: str, tp: int
) -> tuple[Estimate, str] | str:
    """The largest-concurrency estimate that meets the targets (and what binds), or why none."""
    targets = search.targets

    def at(concurrency: int | None) -> Estimate:
        return search.estimate(machine, precision, tp, concurrency)

    widest = at(None)
    if not widest.fits:
        return widest.reason
    if targets.met_by(widest):
        limit = "engine limit" if widest.concurrency < widest.max_concurrency else "memory"
        return widest, limit
    if not targets.met_by(at(1)):
        return "misses the latency targets even one request at a time"
    low, high = 1, widest.concurrency  # low meets the targets, high does not
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if targets.met_by(at(middle)) else (low, middle)
    over = at(high)
    bound = "ttft target" if targets.ttft_ms and over.ttft_ms > targets.ttft_ms else "tpot target"
    return at(low), bound


def _candidate(
    search: _Search, machine: Machine, precision: str, tp: int, best: tuple[Estimate, str]
) -> Candidate:
    estimate, binding = best
    per_machine = estimate.requests_per_second * (machine.gpus // tp) / search.safety
    source = describe(machine, precision, tp, estimate)
    if search.safety > 1:
        source += f", derated by x{search.safety:.2f} (confidence)"
    rate = Throughput(source, requests_per_second=per_machine)
    return _priced(search, machine, precision, tp, rate=rate, binding=binding, estimate=estimate)


def _priced(
    search: _Search,
    machine: Machine,
    precision: str,
    tp: int,
    *,
    rate: Throughput,
    binding: str,
    estimate: Estimate | None,
) -> Candidate:
    rules = search.rules
    fleet = CapacityFleet(
        rate,
        peak_factor=rules.peak_factor,
        target_utilization=rules.target_utilization,
        min_replicas=rules.min_replicas,
        daily_profile=rules.daily_profile,
        autoscale=rules.autoscale and not is_commitment(machine.pricing),  # paid 24 h a day
        spare=rules.spare,
    )
    priced = "" if machine.pricing == "on_demand" else f" {machine.pricing}"
    option = SelfHostedOption(
        name=f"{machine.name} {precision} tp{tp}{priced}",
        hourly=machine.hourly,
        fleet=fleet,
        instance=machine.name,
    )
    bill = option.bill(search.requests_per_day, search.tokens)
    assert bill.fleet is not None
    return Candidate(
        machine=machine,
        precision=precision,
        tensor_parallel=tp,
        binding=binding,
        option=option,
        replicas=bill.fleet.peak_replicas,
        daily_cost=bill.daily_cost,
        cost_per_1m_tokens=bill.cost_per_1m_tokens or 0.0,
        utilization=bill.fleet.utilization,
        per_machine_rps=bill.fleet.per_replica_rps,
        source=rate.source,
        estimate=estimate,
    )


def describe(machine: Machine, precision: str, tp: int, estimate: Estimate) -> str:
    replicas = machine.gpus // tp
    return (
        f"roofline estimate: {estimate.model} {precision}, {replicas} replica(s) of {tp}x "
        f"{machine.accelerator_name} per {machine.name}, concurrency {estimate.concurrency} each"
    )


def with_pricing(machine: Machine, hourly: Price, pricing: str) -> Machine:
    return replace(machine, hourly=hourly, pricing=pricing)


@dataclass(frozen=True)
class ApiAlternative:
    """A paid API at the same volume, and where it crosses the cheapest self-hosted plan."""

    option: ApiOption
    bill: Bill
    breakeven: Breakeven | None
    hosted: bool = False  # the same open model, hosted per token by a provider


@dataclass(frozen=True)
class Plan:
    model: ModelSpec
    requests_per_day: float
    tokens: Tokens
    targets: Targets
    rules: FleetRules
    candidates: tuple[Candidate, ...]
    rejected: tuple[Rejected, ...]
    alternatives: tuple[ApiAlternative, ...]
    safety: float = 1.0  # estimated throughput was divided by this (plan --confidence)

    @property
    def recommendation(self) -> Candidate | ApiAlternative | None:
        """The cheapest way at this volume: the best self-hosted plan or a per-token offer."""
        choices: list[tuple[float, Candidate | ApiAlternative]] = [
            (alt.bill.daily_cost, alt) for alt in self.alternatives
        ]
        if self.candidates:
            choices.append((self.candidates[0].daily_cost, self.candidates[0]))
        return min(choices, key=lambda pair: pair[0])[1] if choices else None


def make_plan(
    model: ModelSpec,
    machines: Iterable[Machine],
    precisions: Iterable[str],
    tokens: Tokens,
    requests_per_day: float,
    *,
    apis: Iterable[ApiOption] = (),
    targets: Targets = Targets(),
    rules: FleetRules = FleetRules(),
    efficiency: Efficiency = DEFAULT_EFFICIENCY,
    measured: Iterable[tuple[Machine, Throughput]] = (),
    hosted: Iterable[ApiOption] = (),
    safety: float = 1.0,
) -> Plan:
    """Candidates sorted by daily cost, next to paid APIs and their break-evens."""
    candidates, rejected = plan_deployments(
        model, machines, precisions, tokens, requests_per_day,
        targets=targets, rules=rules, efficiency=efficiency, measured=measured, safety=safety,
    )  # fmt: skip
    cheapest = candidates[0].option if candidates else None
    offers = [(api, False) for api in apis] + [(api, True) for api in hosted]
    alternatives = tuple(
        ApiAlternative(
            api,
            api.bill(requests_per_day, tokens),
            solve_breakeven(partial(bill_at, api, tokens), partial(bill_at, cheapest, tokens))
            if cheapest is not None
            else None,
            is_hosted,
        )
        for api, is_hosted in offers
    )
    # closed APIs in the order given; hosted offers cheapest first at this volume
    alternatives = tuple(a for a in alternatives if not a.hosted) + tuple(
        sorted((a for a in alternatives if a.hosted), key=lambda a: a.bill.daily_cost)
    )
    return Plan(model, requests_per_day, tokens, targets, rules, tuple(candidates),
                tuple(rejected), alternatives, safety)  # fmt: skip
