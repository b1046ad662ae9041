"""`vqa report`: the Allure HTML report from a run's allure-results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.common import EXIT_CLEAN, CliError


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.html import ReportError, generate_html

    try:
        index = generate_html(Path(args.results), Path(args.output))
    except ReportError as e:
        raise CliError(str(e)) from None
    print(f"report: {index}")
    return EXIT_CLEAN


def register(sub: Any) -> None:
    rp = sub.add_parser("report", help="generate the Allure HTML report")
    rp.add_argument("--results", default="reports/allure-results")
    rp.add_argument("--output", default="reports/allure-report")
    rp.set_defaults(func=cmd_report)
