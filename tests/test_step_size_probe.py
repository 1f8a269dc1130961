"""scripts/step_size_probe.py: every attack's accuracy on a zoo model, none above the clean accuracy."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import step_size_probe  # noqa: E402
import timm  # noqa: E402


def test_the_probe_reports_clean_and_every_attack_on_a_zoo_model() -> None:
    figures = step_size_probe.probe("cnn2c2f.pgd_at_mnist", 8)
    assert list(figures) == ["clean", *step_size_probe._attacks(timm.create_model("cnn2c2f"), 0.3)]
    assert all(0.0 <= value <= figures["clean"] for name, value in figures.items() if name != "clean")
    assert figures["APGD-CE, 100 steps"] < figures["clean"]  # the adaptive attack breaks something on a 2C2F model
