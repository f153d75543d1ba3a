"""What the library's calls return: the core result, its JSON contract as plain dicts, and
rows for a pandas DataFrame (pandas is optional: `pip install pandas`)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmecon.errors import LlmeconError

if TYPE_CHECKING:
    from llmecon.core.comparison import Comparison
    from llmecon.core.planning import Plan
    from llmecon.core.roofline import Estimate

__all__ = ["ComparisonResult", "EstimateResult", "PlanResult"]


def _data_frame(rows: list[dict[str, Any]]) -> Any:
    try:
        pandas = importlib.import_module("pandas")  # optional, and slow to import
    except ModuleNotFoundError:
        raise LlmeconError(
            "to_dataframe() needs pandas: pip install pandas (to_records() gives the same rows "
            "as plain dicts)"
        ) from None
    return pandas.DataFrame.from_records(rows)


@dataclass(frozen=True)
class ComparisonResult:
    """Every option's bill at each volume and the break-evens (`llmecon compare`).

    `comparison` is the core result; `to_dict()` is `compare --format json`'s document.
    """

    comparison: Comparison
    price_book: str | None = None

    @property
    def cheapest(self) -> dict[float, str]:
        """The cheapest option's name at each requests/day."""
        return {r.requests_per_day: r.cheapest.option for r in self.comparison.results}

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (docs/json.md): plain dicts, lists, strings and numbers."""
        from llmecon.report.contract import comparison_to_dict  # noqa: PLC0415

        return comparison_to_dict(self.comparison, self.price_book)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row per volume and option: requests_per_day, option, kind, rank, cheapest,
        replicas, daily/monthly/yearly cost, cost per request and per 1M tokens."""
        rows = []
        for result in self.to_dict()["results"]:
            for option in result["options"]:
                row = {key: value for key, value in option.items()
                       if key not in {"line_items", "capacity", "commitment"}}  # fmt: skip
                name = row.pop("name")
                rows.append({"requests_per_day": result["requests_per_day"], "option": name,
                             **row})  # fmt: skip
        return rows

    def to_dataframe(self) -> Any:
        """`to_records()` as a pandas DataFrame (needs pandas)."""
        return _data_frame(self.to_records())


@dataclass(frozen=True)
class PlanResult:
    """Self-hosting configurations ranked by daily cost, next to paid APIs (`llmecon plan`)."""

    plan: Plan
    price_book: str | None = None
    pricing: tuple[str, ...] = ("on_demand",)  # the pricing kinds searched, listed side by side

    @property
    def recommendation(self) -> dict[str, Any] | None:
        """The cheapest way at this volume: {"kind", "name", "daily_cost"} (kind: self_hosted,
        hosted or api), or None when nothing was found."""
        found: dict[str, Any] | None = self.to_dict()["recommendation"]
        return found

    def to_dict(self) -> dict[str, Any]:
        """`plan --format json`'s document (every candidate, rejected and API alternative)."""
        from llmecon.core.pricing_compare import compare_pricing  # noqa: PLC0415
        from llmecon.report.plan_view import plan_to_dict  # noqa: PLC0415
        from llmecon.report.pricing_view import render_pricing_json  # noqa: PLC0415

        data = plan_to_dict(self.plan, self.price_book)
        data["pricing"] = render_pricing_json(compare_pricing(self.plan, self.pricing))
        return data

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row per candidate configuration, cheapest first."""
        return [dict(candidate) for candidate in self.to_dict()["candidates"]]

    def to_dataframe(self) -> Any:
        """`to_records()` as a pandas DataFrame (needs pandas)."""
        return _data_frame(self.to_records())


@dataclass(frozen=True)
class EstimateResult:
    """Memory fit, latency and throughput of one replica (`llmecon estimate`)."""

    estimate: Estimate
    engine: str
    explain: bool = False

    def to_dict(self) -> dict[str, Any]:
        """`estimate --format json`'s document (with every term when made with explain=True)."""
        from llmecon.report.estimate_view import estimate_to_dict  # noqa: PLC0415

        data = estimate_to_dict(self.estimate, self.engine, explain=self.explain)
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in data.items()}  # fmt: skip

    def to_records(self) -> list[dict[str, Any]]:
        """One row: the estimate's scalar figures."""
        return [{key: value for key, value in self.to_dict().items()
                 if not isinstance(value, dict | list)}]  # fmt: skip

    def to_dataframe(self) -> Any:
        """`to_records()` as a one-row pandas DataFrame (needs pandas)."""
        return _data_frame(self.to_records())
