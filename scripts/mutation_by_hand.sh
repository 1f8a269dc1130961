#!/usr/bin/env bash
# Mutants in code that runs at import (module constants such as heads.BLF_ARGMAX) cannot be
# switched on by mutmut's trampoline, which picks the mutant at call time, after the import.
# This applies each one to the source of a `scripts/mutation.sh` work dir, runs the tests,
# restores the file, and prints "NAME: killed" or "NAME: survived".
#
#   scripts/mutation_by_hand.sh WORKDIR "TEST FILES" NAME...
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mutation_args.sh"  # sets repo, workdir, tests, python, site; shifts 2
cd "$workdir" || exit 1
export PYTHONPATH="$PWD:$site" OMP_NUM_THREADS=1
for name in "$@"; do
    path=$(echo "${name%%.x*}" | tr . /).py
    cp "$path" "$path.orig"
    "$python" -S -m mutmut apply "$name" > /dev/null
    # shellcheck disable=SC2086  # the test files are separate words
    if nice -n 10 "$python" -S -m pytest -q -x -p no:cacheprovider $tests > /dev/null 2>&1; then
        echo "$name: survived"
    else
        echo "$name: killed"
    fi
    mv "$path.orig" "$path"
done
