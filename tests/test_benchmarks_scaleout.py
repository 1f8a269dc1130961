"""benchmarks/scaleout.py: the DDP row that times the zoo's torchrun work runs the zoo's batch."""

from __future__ import annotations

import sys
from pathlib import Path

from script_modules import load_script

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import scaleout  # noqa: E402  (benchmarks/ is not a package)


def test_the_cnn4c3f_row_trains_at_the_flagships_global_batch() -> None:
    build_zoo = load_script("build_zoo")
    flagships = [plan for plan in build_zoo.PLANS if plan.setup_changes.get("optimizer") == "adam" and plan.arch == "cnn4c3f"]
    assert flagships, "the zoo has no 4C3F flagship: the scale-out row has no workload to stand for"
    assert {plan.setup_changes["batch_size"] for plan in flagships} == {build_zoo._FLAGSHIP_CHANGES["batch_size"]}
    assert build_zoo._FLAGSHIP_CHANGES["batch_size"] == scaleout.ZOO_DDP_BATCH
    assert scaleout.BATCHES["cnn4c3f"] == scaleout.ZOO_DDP_BATCH
