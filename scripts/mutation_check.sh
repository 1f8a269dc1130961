#!/usr/bin/env bash
# Re-check chosen mutants against the tests as mutmut itself does: run pytest in a
# `scripts/mutation.sh` work dir's mutants/ with mutmut's trampoline switched to each mutant
# (MUTANT_UNDER_TEST). Prints "NAME: killed" or "NAME: survived". Use this, not `mutmut apply`,
# for a mutant in a method: mutmut 3.8.1's `apply` patches the first function of that name in the
# file, whatever its class. (Code run at import is out of the trampoline's reach: see
# scripts/mutation_by_hand.sh.) Copy updated test files into WORKDIR/mutants/tests first.
#
#   scripts/mutation_check.sh WORKDIR "TEST FILES" NAME...
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mutation_args.sh"  # sets repo, workdir, tests, python, site; shifts 2
cd "$workdir/mutants" || exit 1
export PYTHONPATH="$PWD:$site" OMP_NUM_THREADS=1
for name in "$@"; do
    # shellcheck disable=SC2086  # the test files are separate words
    if MUTANT_UNDER_TEST="$name" nice -n 10 "$python" -S -m pytest -q -x -p no:cacheprovider $tests > /dev/null 2>&1; then
        echo "$name: survived"
    else
        echo "$name: killed"
    fi
done
