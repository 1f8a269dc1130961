"""Hand-applied mutants of the code written after the unsampled mutmut run (benchmarks/mutation.md,
"Session 4"). It edits files in place and restores them: run it on a copy of the repository,
    python scripts/mutation_session4.py COPY_DIR
"""
import os, pathlib, subprocess, sys
if len(sys.argv) != 2 or not (pathlib.Path(sys.argv[1]) / "robustbench_logits").is_dir():
    sys.exit("usage: python scripts/mutation_session4.py COPY_DIR (a copy of the repository: its files are edited in place)")
R = pathlib.Path(sys.argv[1]).resolve()
RULES = "tests/test_evaluation_indicator_rules.py"
TRAIN = ["tests/test_train.py", "-k", "converged or raised or another_configuration or older_rule or min_epochs or continuation or tolerance"]
M = [
 ("robustbench_logits/evaluation/statistics.py", 'share, alternative="greater")', 'share, alternative="two-sided")', [RULES]),
 ("robustbench_logits/evaluation/statistics.py", "    if n <= 0:\n        return 1.0\n    return float(binomtest(int(k), int(n), share", "    if n < 0:\n        return 1.0\n    return float(binomtest(int(k), int(n), share", [RULES]),
 ("robustbench_logits/evaluation/indicators.py", "if p >= alpha:", "if p > alpha:", [RULES]),
 ("robustbench_logits/evaluation/indicators.py", "return Indicator(name, len(hits) / n, share, hits,", "return Indicator(name, len(hits) / n, alpha, hits,", [RULES]),
 ("robustbench_logits/evaluation/indicators.py", '_share_rule("zero_gradients", zero, n, th.zero_grad_share, th.alpha,', '_share_rule("zero_gradients", zero, n, th.unstable_share, th.alpha,', [RULES]),
 ("robustbench_logits/evaluation/indicators.py", '_share_rule("incomplete_optimisation", incomplete, sum(left), th.incomplete_share', '_share_rule("incomplete_optimisation", incomplete, n, th.incomplete_share', [RULES]),
 ("robustbench_logits/train.py", "return abs(sum(last) / window - sum(before) / window) < tolerance", "return abs(sum(last) / window - sum(before) / window) <= tolerance", TRAIN),
 ("robustbench_logits/train.py", "return abs(sum(last) / window - sum(before) / window) < tolerance", "return sum(last) / window - sum(before) / window < tolerance", TRAIN),
 ("robustbench_logits/train.py", "last, before = robust_curve[-window:], robust_curve[-2 * window : -window]", "last, before = robust_curve[-window:], robust_curve[:-window]", TRAIN),
 ("robustbench_logits/train.py", "window = max(1, math.ceil(fraction * len(robust_curve)))\n    last", "window = max(1, math.floor(fraction * len(robust_curve)))\n    last", TRAIN),
 ("robustbench_logits/train.py", 'if config["setup"].get("lr_schedule") is None else set())', 'if True else set())', TRAIN),
 ("robustbench_logits/train.py", 'return _fingerprint(ran) == state.get("fingerprint") and _trajectory(ran) == _trajectory(config)', 'return _trajectory(ran) == _trajectory(config)', TRAIN),
 ("robustbench_logits/train.py", '        if state["history"]:  # the stop rule is re-read', '        if False:  # the stop rule is re-read', TRAIN),
 ("robustbench_logits/train.py", '        state["fingerprint"] = fingerprint\n', '', TRAIN),
]
py = sys.executable
for path, old, new, tests in M:
    f = R / path; src = f.read_text()
    assert src.count(old) >= 1, (path, old)
    f.write_text(src.replace(old, new, 1))
    r = subprocess.run([py, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], cwd=R, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(R), "OMP_NUM_THREADS": "1"})
    f.write_text(src)
    print(("killed  " if r.returncode else "SURVIVED"), path, "|", old.strip()[:60], "->", new.strip()[:60], flush=True)
