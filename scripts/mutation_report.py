"""Tables for benchmarks/mutation.md from `scripts/mutation.sh` work dirs (``make mutation``).

    python scripts/mutation_report.py WORKDIR [WORKDIR...] > tables.md

Per module: mutants tested, killed (a test failed), timed out (counted as killed: the mutant
made a test hang, e.g. an endless read loop), survived, and with no covering test; then every
survivor with its one-line diff, and the explanation from benchmarks/mutation_notes.toml
(``"mutant name" = "equivalent: why"``, ``"killed by hand: ..."`` for import-time code, or
``"killed by a new test ..."`` when the test came after the last mutmut pass) when there is one.
Only the mutants selected by the stage's globs (globs.txt) are counted.
"""

from __future__ import annotations

import collections
import fnmatch
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTES = REPO / "benchmarks" / "mutation_notes.toml"
COUNTED = ("killed", "timeout", "survived", "no tests")


def _results(workdir: Path) -> dict[str, str]:
    """Status per mutant, for the mutants the stage's globs (globs.txt) select."""
    globs = (workdir / "globs.txt").read_text().split() if (workdir / "globs.txt").exists() else ["*"]
    out = {}
    for line in (workdir / "results.txt").read_text().splitlines():
        name, _, status = line.strip().partition(": ")
        if name and status and any(fnmatch.fnmatch(name, glob) for glob in globs):
            out[name] = status
    return out


def _module(name: str) -> str:
    return name.split(".x")[0] if ".x" in name else name.rsplit(".", 1)[0]


def _diff(workdir: Path, name: str) -> str:
    env = {**os.environ, "PYTHONPATH": f"{workdir}:{sysconfig.get_paths()['purelib']}"}
    shown = subprocess.run([sys.executable, "-S", "-m", "mutmut", "show", name], cwd=workdir, env=env,
                           capture_output=True, text=True, check=False).stdout
    plus = [line[1:].strip() for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " / ".join(plus)[:160] or "?"


def main(workdirs: list[str]) -> None:
    notes = tomllib.loads(NOTES.read_text()) if NOTES.exists() else {}
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    survivors: list[tuple[Path, str]] = []
    for raw in workdirs:
        workdir = Path(raw)
        if not (workdir / "results.txt").exists():
            continue
        for name, status in _results(workdir).items():
            if status not in COUNTED:
                continue
            rows[_module(name)][status] += 1
            if status in ("survived", "no tests"):
                survivors.append((workdir, name))
    print("| module | tested | killed | timeout | survived | no test | explained as equivalent | killed by hand / later test | score |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    totals = collections.Counter()
    for module in sorted(rows):
        count = rows[module]
        open_names = [n for w, n in survivors if _module(n) == module]
        equivalent = sum(1 for n in open_names if str(notes.get(n, "")).startswith("equivalent"))
        by_hand = sum(1 for n in open_names if str(notes.get(n, "")).startswith("killed by"))
        tested = sum(count[s] for s in COUNTED)
        caught = count["killed"] + count["timeout"] + by_hand
        non_equivalent = tested - equivalent
        score = caught / non_equivalent if non_equivalent else 1.0
        totals.update({"tested": tested, "killed": count["killed"], "timeout": count["timeout"], "survived": count["survived"],
                       "no tests": count["no tests"], "equivalent": equivalent, "by_hand": by_hand, "caught": caught})
        print(f"| `{module}` | {tested} | {count['killed']} | {count['timeout']} | {count['survived']} | {count['no tests']} "
              f"| {equivalent} | {by_hand} | {100 * score:.1f} % |")
    non_equivalent = totals["tested"] - totals["equivalent"]
    print(f"| **all** | {totals['tested']} | {totals['killed']} | {totals['timeout']} | {totals['survived']} | {totals['no tests']} "
          f"| {totals['equivalent']} | {totals['by_hand']} | **{100 * totals['caught'] / max(non_equivalent, 1):.1f} %** |")
    print()
    print("Score = (killed + timeout + killed by hand or by a later test) / (tested - explained as equivalent).")
    print()
    print("| surviving mutant | change | explanation |")
    print("|---|---|---|")
    for workdir, name in sorted(survivors, key=lambda item: item[1]):
        change = _diff(workdir, name).replace("|", "\\|")
        print(f"| `{name.removeprefix('robustbench_logits.')}` | `{change}` | {notes.get(name, 'NOT EXPLAINED')} |")


if __name__ == "__main__":
    main(sys.argv[1:])
