"""The article's non-cost trade-offs as a checklist: each answer with its consequence stated."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

API, SELF_HOSTED, NEUTRAL = "api", "self_hosted", "neutral"
LEANS = MappingProxyType(
    {API: "favours a paid API", SELF_HOSTED: "favours self-hosting", NEUTRAL: "cost decides"}
)


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    question: str
    unanswered: str
    answers: MappingProxyType[str, tuple[str, str]]  # answer -> (consequence, lean)


def _topic(
    key: str, title: str, question: str, unanswered: str, **answers: tuple[str, str]
) -> Topic:
    return Topic(key, title, question, unanswered, MappingProxyType(answers))


TOPICS = (
    _topic(
        "quality", "Quality requirement",
        "Does an open model meet the quality the feature needs?",
        "Unknown, so the cost answer assumes the open model is good enough. Run an evaluation "
        "on your own prompts before acting on a self-hosting saving.",
        frontier_required=(
            "Only frontier paid models meet it: self-hosted options are out whatever they cost, "
            "until an evaluation shows an open model passes.", API),
        open_model_passes_eval=(
            "An evaluation showed the open model meets the bar: quality does not decide, cost "
            "does.", NEUTRAL),
        unknown=(
            "Not yet measured: the cost answer assumes the open model is good enough. Evaluate "
            "before acting on a self-hosting saving.", NEUTRAL),
    ),
    _topic(
        "data_residency", "Data privacy and residency",
        "May prompts leave your network, or your region?",
        "Not stated. If prompts may not reach a third party, paid APIs are ruled out whatever "
        "they cost; if they must stay in a region, only providers that process there qualify.",
        none=("No restriction: every option is allowed.", NEUTRAL),
        region=(
            "Prompts must stay in a region: only API offerings processed there qualify (check each "
            "provider's regional endpoints and their prices); self-hosting in that region does.",
            NEUTRAL),
        no_third_party=(
            "Prompts may not reach a third party: paid APIs are ruled out whatever they cost; "
            "only self-hosting remains.", SELF_HOSTED),
    ),
    _topic(
        "outage_tolerance", "Outages",
        "How long may the feature be down when a provider or a replica fails?",
        "Not stated. One provider or one replica is a single point of failure: plan a second "
        "provider (failover in `llmecon serve`) or one spare replica (`llmecon plan --ha`).",
        hours=("Hours of downtime are acceptable: one provider or one replica will do.", NEUTRAL),
        minutes=(
            "Minutes at most: a single API provider or a single replica is not enough. Add a "
            "second provider as failover, or price one spare replica (`llmecon plan --ha`).",
            NEUTRAL),
        none=(
            "No downtime: needs two independent paths (two API providers, or self-hosted "
            "replicas in two zones plus a paid API as fallback); price both.", NEUTRAL),
    ),
    _topic(
        "fine_tuning", "Customisation and fine-tuning",
        "Will the model be fine-tuned on your data?",
        "Not stated. Fine-tuning open weights is possible only when self-hosting (or through a "
        "provider's fine-tuning service, at its own per-token prices).",
        none=("No fine-tuning: no constraint.", NEUTRAL),
        planned=(
            "Planned: keep the self-hosted path open; a provider's tuned models cost more per "
            "token than its base models.", SELF_HOSTED),
        required=(
            "Required: self-host open weights, or use a provider's fine-tuning service and price "
            "its tuned-model rates instead of the base rates shown here.", SELF_HOSTED),
    ),
    _topic(
        "ops_team", "The team it takes",
        "Who runs the self-hosted fleet (deploys, upgrades, on-call)?",
        "Not stated. Self-hosting needs people: unless `fixed_costs: labour` is in the scenario, "
        "the self-hosted costs shown leave them out.",
        none=(
            "No one: self-hosting needs on-call and upgrades; add their cost (`fixed_costs: "
            "labour`) or prefer a paid API.", API),
        part_time=(
            "Part-time: count that share of an engineer in `fixed_costs: labour` so the "
            "self-hosted costs include it.", NEUTRAL),
        dedicated=("A dedicated team exists: its cost belongs in `fixed_costs: labour`.", NEUTRAL),
    ),
    _topic(
        "price_change_exposure", "Exposure to price changes",
        "Can the budget absorb a provider changing its prices or retiring a model?",
        "Not stated. API prices here are as of their source date; providers change them and "
        "retire models (`llmecon prices show MODEL` lists the history).",
        acceptable=("Price changes are acceptable: the dated prices shown decide.", NEUTRAL),
        must_be_fixed=(
            "Costs must be predictable: a paid API's price can change at the provider's will; "
            "self-hosting on reserved capacity fixes the rate.", SELF_HOSTED),
    ),
)  # fmt: skip


def checklist(answers: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per topic: the scenario's answer (or None), its consequence and its lean."""
    given = answers or {}
    comments = given.get("comments") or {}
    rows = []
    for topic in TOPICS:
        answer = str(given.get(topic.key) or "") or None
        consequence, lean = topic.answers.get(answer or "", (topic.unanswered, NEUTRAL))
        rows.append(
            {
                "key": topic.key,
                "title": topic.title,
                "question": topic.question,
                "answer": answer,
                "consequence": consequence,
                "lean": lean,
                "comment": comments.get(topic.key),
            }
        )
    return rows
