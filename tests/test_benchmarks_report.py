"""benchmarks/README.md is generated: it must equal a fresh render of the committed results.json."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_the_committed_readme_is_a_fresh_render_of_the_committed_results() -> None:
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    fresh = report.render(json.loads((BENCH / "results.json").read_text()))
    assert (BENCH / "README.md").read_text() == fresh, "stale: run `.venv/bin/python benchmarks/run.py --readme-only`"
