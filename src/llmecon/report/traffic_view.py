"""`llmecon traffic show`: a traffic profile as a table, JSON, or a plot of requests per hour."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO

from rich.table import Table

from llmecon.report.figures import check_path, new_figure, save_figure
from llmecon.report.numbers import volume
from llmecon.report.table import wide_console
from llmecon.traffic import TrafficProfile

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def profile_data(profile: TrafficProfile) -> dict[str, Any]:
    """The profile as plain JSON-ready data (derived figures included)."""
    data = asdict(profile)
    for name in ("start", "end", "peak_hour"):
        data[name] = data[name].isoformat().replace("+00:00", "Z")
    data["daily"] = [
        {"date": day, "requests": requests, "tokens": tokens}
        for day, requests, tokens in profile.daily
    ]
    data.update(
        days=profile.days, requests_per_day=profile.requests_per_day,
        peak_rps=profile.peak_rps, average_rps=profile.average_rps,
        peak_factor=profile.peak_factor,
    )  # fmt: skip
    return data


def render_profile_json(profile: TrafficProfile, out: TextIO) -> None:
    json.dump(profile_data(profile), out, indent=2)
    out.write("\n")


def render_profile_table(profile: TrafficProfile, out: TextIO) -> None:
    console = wide_console(out)
    console.print(
        f"[bold]traffic[/bold] {profile.source} ({profile.format}): "
        f"{profile.start:%Y-%m-%d %H:%M} .. {profile.end:%Y-%m-%d %H:%M} UTC, "
        f"{profile.days:g} days",
        markup=True,
        highlight=False,
    )
    console.print(_models_table(profile))
    console.print(_shape_table(profile))
    for line in summary_lines(profile):
        console.print(f"  {line}", markup=False)


def summary_lines(profile: TrafficProfile) -> list[str]:
    growth = (
        "not enough whole days for a trend (14 needed)"
        if profile.growth_per_month is None
        else f"{profile.growth_per_month:+.1%}/month (fitted to daily requests)"
    )
    basis = "per request" if profile.per_request else "over bucket means (bucketed source)"
    per_day = sorted(requests for _, requests, _ in profile.daily)
    tokens = profile.prompt_tokens + profile.completion_tokens
    return [
        f"requests: {volume(profile.requests)} ({volume(profile.requests_per_day)}/day, "
        f"{profile.average_rps:.3g} req/s on average)",
        f"per UTC day: {volume(per_day[0])} to {volume(per_day[-1])} requests (median "
        f"{volume(per_day[len(per_day) // 2])}); {volume(tokens / profile.days)} tokens/day "
        f"({volume(profile.cached_tokens)} cached prompt tokens in all); per-day rows in JSON",
        f"peak hour: {profile.peak_hour:%Y-%m-%d %H:00} UTC, {volume(profile.peak_hour_requests)} "
        f"requests ({profile.peak_rps:.3g} req/s), peak-hour factor {profile.peak_factor:.2f}",
        f"prompt tokens {basis}: mean {profile.prompt.mean:,.0f}, p50 {profile.prompt.p50:,.0f}, "
        f"p90 {profile.prompt.p90:,.0f}, p99 {profile.prompt.p99:,.0f}",
        f"completion tokens: mean {profile.completion.mean:,.0f}, p50 "
        f"{profile.completion.p50:,.0f}, p90 {profile.completion.p90:,.0f}, p99 "
        f"{profile.completion.p99:,.0f}",
        f"growth: {growth}",
    ]


def _models_table(profile: TrafficProfile) -> Table:
    table = Table(title="per model", title_justify="left")
    for header in ("model", "requests", "share", "prompt tok", "completion tok", "cached tok"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for usage in profile.models:
        table.add_row(
            usage.model, volume(usage.requests), f"{usage.requests / profile.requests:.1%}",
            volume(usage.prompt_tokens), volume(usage.completion_tokens),
            volume(usage.cached_tokens),
        )  # fmt: skip
    return table


def _shape_table(profile: TrafficProfile) -> Table:
    table = Table(title="mean requests per hour of day (UTC) and per weekday", title_justify="left")
    for header in ("hour", "requests", "", "weekday", "requests/day"):
        table.add_column(header, justify="right")
    for hour, mean in enumerate(profile.hour_of_day):
        day = (_WEEKDAYS[hour], f"{profile.weekday[hour]:,.1f}") if hour < 7 else ("", "")
        table.add_row(f"{hour:02d}", f"{mean:,.1f}", "", *day)
    return table


def write_profile_plot(profile: TrafficProfile, path: Path) -> None:
    """Requests per hour over the period, the peak hour marked."""
    check_path(path)
    figure = new_figure()
    axes = figure.add_subplot()
    hours = [i / 24 for i in range(profile.hours)]
    axes.plot(hours, profile.hourly, linewidth=1)
    peak = (profile.peak_hour - profile.start).total_seconds() / 86_400
    axes.plot([peak], [profile.peak_hour_requests], "o", color="black")
    axes.annotate(f"peak {profile.peak_rps:.3g} req/s", (peak, profile.peak_hour_requests))
    axes.set_xlabel(f"days since {profile.start:%Y-%m-%d %H:%M} UTC")
    axes.set_ylabel("requests per hour")
    axes.set_title(f"{profile.source}: requests per hour", fontsize=11)
    axes.grid(True, alpha=0.3)
    save_figure(figure, path)


PROFILE_FORMATS: Mapping[str, Callable[[TrafficProfile, TextIO], None]] = MappingProxyType(
    {"table": render_profile_table, "json": render_profile_json}
)
