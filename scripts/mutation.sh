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
repo=$(git rev-parse --show-toplevel)
workdir=$1
tests=$2
shift 2
python=$repo/.venv/bin/python
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
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
    # A seeded sample of the matching mutants: generate them (testing one), then draw the names.
    nice -n 10 "$python" -S -m mutmut run --max-children 1 "${globs[0]}" > /dev/null 2>&1 || true
    "$python" -S -m mutmut results --all true > all.txt
    mapfile -t globs < <("$python" - all.txt "$MUTATION_SAMPLE" "$@" <<'PY'
import fnmatch
import random
import sys

path, size, patterns = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
names = sorted(line.split(":")[0].strip() for line in open(path) if ":" in line)
matching = [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)]
for name in sorted(random.Random(0).sample(matching, min(size, len(matching)))):
    print(name)
PY
)
    printf '%s\n' "${globs[@]}" > sample.txt
fi
printf '%s\n' "${globs[@]}" > globs.txt  # what the report counts
nice -n 10 "$python" -S -m mutmut run --max-children 1 "${globs[@]}" || true  # non-zero: survivors exist
"$python" -S -m mutmut results --all true > results.txt
echo "results: $workdir/results.txt"
