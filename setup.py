"""Installs ``robustbench_logits_hooks.pth`` next to the package (wheel and editable installs).

pyproject.toml holds all metadata; this file exists only because setuptools has no declarative
way to put a ``.pth`` file in site-packages. The ``.pth`` imports
``robustbench_logits._import_hooks`` at interpreter start, so ``import robustbench`` and
``import autoattack`` work without importing our package first, while a real AutoAttack, when
installed, still wins (the hook is a fallback finder). See README.md, "RobustBench and AutoAttack,
drop-in", and docs/architecture.md.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "robustbench_logits_hooks.pth"
PTH_SOURCE = Path(__file__).parent / PTH_NAME


class BuildPyWithPth(build_py):
    """Regular wheels: the .pth lands at the wheel's root, i.e. in site-packages."""

    def run(self) -> None:
        super().run()
        self.copy_file(str(PTH_SOURCE), str(Path(self.build_lib) / PTH_NAME))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib) / PTH_NAME)]


class EditableWheelWithPth(editable_wheel):
    """Editable installs (``pip install -e``) build their own wheel: add the .pth there too."""

    def _select_strategy(self, name, tag, build_lib):  # type: ignore[no-untyped-def]
        return _WithPth(super()._select_strategy(name, tag, build_lib))


class _WithPth:
    """Wraps setuptools' editable strategy (a context manager that writes the wheel)."""

    def __init__(self, strategy) -> None:  # type: ignore[no-untyped-def]
        self.strategy = strategy

    def __call__(self, wheel, files, mapping) -> None:  # type: ignore[no-untyped-def]
        self.strategy(wheel, files, mapping)
        if PTH_NAME not in wheel.namelist():
            wheel.writestr(PTH_NAME, PTH_SOURCE.read_text())

    def __enter__(self) -> "_WithPth":
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.strategy.__exit__(*exc)


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
