"""The package as a user meets it: quiet import, version, license, citation, type marker."""

import subprocess
import sys
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from typer.testing import CliRunner

import robustbench_logits
from robustbench_logits.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_import_and_public_api_print_no_upstream_warning():
    code = textwrap.dedent("""
        import robustbench_logits
        for name in robustbench_logits.__all__:
            getattr(robustbench_logits, name)
    """)
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # torch.jit.interface / pkg_resources deprecations stay silent


def test_version_matches_metadata_and_cli():
    assert robustbench_logits.__version__ == metadata.version("robustbench-logits")
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == robustbench_logits.__version__
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"robustbench-logits {robustbench_logits.__version__}"


def test_license_citation_and_typed_marker():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    assert citation["version"] == robustbench_logits.__version__
    assert (Path(robustbench_logits.__file__).parent / "py.typed").is_file()
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["robustbench_logits"]
