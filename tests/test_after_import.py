"""_after_import.run_after_import: the one-shot hook behind the robustbench.data patch and timm registration."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from robustbench_logits._after_import import _AfterImport, run_after_import


@pytest.fixture()
def fresh_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "rbl_hook_probe.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "rbl_hook_probe", raising=False)
    yield "rbl_hook_probe"
    sys.modules.pop("rbl_hook_probe", None)
    sys.meta_path[:] = [f for f in sys.meta_path if not (isinstance(f, _AfterImport) and f.name == "rbl_hook_probe")]


def test_the_callback_runs_once_right_after_the_module_executes(fresh_module: str) -> None:
    seen = []
    run_after_import(fresh_module, lambda module: seen.append(module.VALUE))
    run_after_import(fresh_module, lambda module: seen.append("twice"))  # idempotent per name
    assert seen == []
    __import__(fresh_module)
    assert seen == [1]
    assert not any(isinstance(f, _AfterImport) and f.name == fresh_module for f in sys.meta_path)  # one shot


def test_an_already_loaded_module_gets_the_callback_at_once(fresh_module: str) -> None:
    module = __import__(fresh_module)
    seen = []
    run_after_import(fresh_module, seen.append)
    assert seen == [module]


def test_a_module_that_does_not_exist_still_fails_as_usual(fresh_module: str) -> None:
    run_after_import("rbl_no_such_module", lambda module: None)
    with pytest.raises(ModuleNotFoundError):
        __import__("rbl_no_such_module")
