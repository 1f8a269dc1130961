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


def test_the_halved_steps_bound_is_one_process_over_two_start_ups_and_half_the_steps() -> None:
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    # one process: 6 s outside + 24 s of steps = 30 s; two: 10 s outside + 12 s of halved steps = 22 s
    figure = {"one_process_median_s": 30.0, "inside": {"outside_epochs_two_processes_median_s": 10.0,
                                                        "steps_one_process_median_s": 24.0}}
    assert report._halved_steps_bound(figure) == round(30 / 22, 3)


def test_the_sharded_evaluation_says_how_its_ranks_shared_the_queue() -> None:
    spec = importlib.util.spec_from_file_location("bench_report", BENCH / "report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    figure = {"chunks": 4, "ranks": [[{"chunks": [0, 3], "done_s": 10.04}, {"chunks": [1, 2], "done_s": 12.5}]]}
    (line, _) = report._eval_ranks(figure)
    assert "rank 0 took chunks 0, 3 and was done at 10.0 s, rank 1 took chunks 1, 2 and was done at 12.5 s" in line
    assert report._eval_ranks({"chunks": 4}) == [] and report._eval_ranks({"chunks": 4, "ranks": [None]}) == []
