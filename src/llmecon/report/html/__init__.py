"""HTML pages: the decision report and the calculator, from one JSON-ready report contract."""

from __future__ import annotations

from llmecon.report.html.build import build_report
from llmecon.report.html.page import render_page, render_results

__all__ = ["build_report", "render_page", "render_results"]
