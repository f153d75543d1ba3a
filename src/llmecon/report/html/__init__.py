"""HTML pages: the decision report and the calculator, from one JSON-ready report contract."""

from __future__ import annotations

from llmecon.report.html.bench_section import bench_summary
from llmecon.report.html.build import CONTRACT_VERSION, build_report
from llmecon.report.html.calculator import Response, calculator_response
from llmecon.report.html.page import render_page, render_results

__all__ = [
    "CONTRACT_VERSION",
    "Response",
    "bench_summary",
    "build_report",
    "calculator_response",
    "render_page",
    "render_results",
]
