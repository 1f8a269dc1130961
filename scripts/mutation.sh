#!/usr/bin/env bash
# One stage of `make mutation`: mutmut over the modules that decide numbers (not in CI).
#
#   scripts/mutation.sh WORKDIR "TEST FILES" [MUTANT GLOBS...]
#
# Works in a copy of the committed tree (mutmut writes mutants/ beside the sources; the copy is
# refreshed from HEAD and reused, so a second call re-tests only what changed). Runs `python -S`
# with site-packages on PYTHONPATH: the installed package's .pth import hook would otherwise
# import robustbench_logits from the work tree before mutmut's mutated copy. One process, one thread, niced.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mutation_args.sh"  # sets repo, workdir, tests, python, site; shifts 2
mkdir -p "$workdir"
git -C "$repo" archive HEAD | tar -x -C "$workdir"  # refreshed each call; mutmut keeps unchanged functions' results
# This stage's test pool (mutmut then picks, per mutated function, the tests that call it).
"$python" - "$workdir/pyproject.toml" "$tests" <<'PY'
import re
import sys

path, tests = sys.argv[1], sys.argv[2].split()
text = open(path).read()
line = "pytest_add_cli_args_test_selection = [" + ", ".join(f'"{t}"' for t in tests) + "]"
text = re.sub(r"^pytest_add_cli_args_test_selection = \[.*?\]", line, text, flags=re.M | re.S)
open(path, "w").write(text)
PY
cd "$workdir"
export PYTHONPATH="$PWD:$site" OMP_NUM_THREADS=1
globs=("$@")
if [ -n "${MUTATION_SAMPLE:-}" ]; then
    # A seeded sample, stratified by module: MUTATION_SAMPLE of each module's matching mutants
    # (a fraction, at least MUTATION_SAMPLE_FLOOR of them). First generate them and collect the
    # test statistics: a run filtered on a name that matches nothing stops right after that.
    nice -n 10 "$python" -S -m mutmut run --max-children 1 "no-such-mutant" > /dev/null 2>&1 || true
    "$python" -S -m mutmut results --all true > all.txt
    mapfile -t globs < <("$python" - all.txt "$MUTATION_SAMPLE" "${MUTATION_SAMPLE_FLOOR:-20}" "$@" <<'PY'
import collections
import fnmatch
import math
import random
import sys

path, fraction, floor, patterns = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
names = sorted(line.split(":")[0].strip() for line in open(path) if ":" in line)
by_module = collections.defaultdict(list)
for name in names:
    if any(fnmatch.fnmatch(name, p) for p in patterns):
        by_module[name.split(".x")[0]].append(name)
rng = random.Random(0)
for module in sorted(by_module):
    pool = by_module[module]
    size = min(len(pool), max(floor, math.ceil(fraction * len(pool))))
    for name in sorted(rng.sample(pool, size)):
        print(name)
PY
)
fi
printf '%s\n' "${globs[@]}" > globs.txt  # what the report counts
nice -n 10 "$python" -S -m mutmut run --max-children 1 "${globs[@]}" || true  # non-zero: survivors exist
"$python" -S -m mutmut results --all true > results.txt
echo "results: $workdir/results.txt"
