# Sourced by scripts/mutation*.sh (not run): their common arguments WORKDIR "TEST FILES" [NAME...]
# and the repo's venv python with its site-packages (the scripts run `python -S` so that the
# installed package's .pth hook cannot import robustbench_logits ahead of mutmut's mutated copy).
repo=$(git rev-parse --show-toplevel)
workdir=$1
tests=$2
shift 2
python=$repo/.venv/bin/python
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
