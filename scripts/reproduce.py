"""Reproduce the seed papers' headline claims under one protocol and write docs/reproduction.md.

    .venv/bin/python scripts/reproduce.py                  # full mode (hours on 2 shared cores; resumable)
    .venv/bin/python scripts/reproduce.py --quick          # tiny budgets, seconds per claim (the tests)
    .venv/bin/python scripts/reproduce.py --render-only    # rewrite the document from the committed results only
    .venv/bin/python scripts/reproduce.py --only kanai-fig3,summers-ls

Every number comes from a run of this package: zoo models (``models.pretrained.load_model``) where
the setting matches, otherwise models trained here with ``train()`` on a stated CPU budget. Each
step (a training or an evaluation) writes its result as JSON under ``--results`` keyed by claim and
setting, so an interrupted run resumes where it stopped and ``--render-only`` never computes. In full
mode the results live in the repository (``reproduction/results/``, committed: they are the evidence
the document is rendered from, a test re-renders it, and they survive the loss of a machine, which
a 2.5-hour run on two cores cannot afford to repeat); the trained models' weights stay under
``--cache`` (``runs/``), needed again only by a step that has no result yet. Claims are
run in priority order (cheap, high-value first) and the document is re-rendered after each, so a
partial run gives a partial document that says what is missing. Verdicts follow fixed rules
written next to each claim (``VERDICT_RULES``), from paired exact tests on the same examples.

This file is the command line and the claims' priority order; the claims themselves live in
``scripts/paper_claims/`` (one module per paper; see its ``__init__``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import torch  # noqa: E402

from paper_claims.claim import Claim  # noqa: E402
from paper_claims.kanai import (claim_kanai_4c3f_at, claim_kanai_4c3f_st, claim_kanai_fig3,  # noqa: E402
                                claim_kanai_fig5, claim_kanai_table4_at, claim_kanai_table4_st)
from paper_claims.lcat import claim_lcat_lambda15, claim_lcat_table1, claim_lcat_table2  # noqa: E402
from paper_claims.li import claim_li_fmnist, claim_li_mnist, claim_li_transfer  # noqa: E402
from paper_claims.lma import claim_lma  # noqa: E402
from paper_claims.page import PROJECTED, placeholder, render  # noqa: E402
from paper_claims.steps import (DEFAULT_CACHE, FULL, QUICK, RESULTS, ROOT, Context, Missing,  # noqa: E402
                                ReproduceError)
from paper_claims.summers import claim_summers_alp, claim_summers_ls, claim_summers_transfer  # noqa: E402
from robustbench_logits._files import write_text  # noqa: E402


CLAIMS: dict[str, Callable[[Context], Claim]] = {  # priority order: cheap and high-value first
    "kanai-fig3": claim_kanai_fig3,
    "kanai-fig5": claim_kanai_fig5,
    "summers-ls": claim_summers_ls,
    "kanai-table4-st": claim_kanai_table4_st,
    "li-mnist": claim_li_mnist,
    "lcat-table2": claim_lcat_table2,
    "lcat-lambda15": claim_lcat_lambda15,
    "li-fmnist": claim_li_fmnist,
    "summers-alp": claim_summers_alp,
    "li-transfer": claim_li_transfer,
    "summers-transfer": claim_summers_transfer,
    "kanai-table4-at": claim_kanai_table4_at,
    "kanai-4c3f-st": claim_kanai_4c3f_st,
    "kanai-4c3f-at": claim_kanai_4c3f_at,
    "lcat-table1": claim_lcat_table1,
    "lma-table6": claim_lma,
}


def run(args: argparse.Namespace) -> int:
    budget = QUICK if args.quick else FULL
    cache = Path(args.cache) if args.cache else (DEFAULT_CACHE / budget.name)
    doc = Path(args.doc) if args.doc else (ROOT / "docs" / "reproduction.md" if not args.quick else cache / "reproduction.md")
    img_dir = Path(args.img_dir) if args.img_dir else (doc.parent / "img")
    log_lines: list[str] = []

    def log(line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp}] {line}", flush=True)
        log_lines.append(line)

    torch.set_num_threads(args.threads)
    results = Path(args.results) if args.results else (cache / "results" if args.quick else RESULTS)
    ctx = Context(cache, results, budget, compute=not args.render_only, threads=args.threads, log=log, img_dir=img_dir)
    wanted = list(CLAIMS) if not args.only else args.only
    claims: list[Claim] = []
    missing: dict[str, str] = {}

    def write_doc() -> None:
        done = {c.key for c in claims}
        pending = {k: f"Queued after the claims above; projected cost: {PROJECTED[k]}." for k in wanted if k not in done}
        shown = claims + [placeholder(k) for k in pending]
        total = sum(c.wall_time_s for c in claims if c.key not in missing)
        write_text(doc, render(ctx, shown, {**pending, **missing}, total))

    for key in CLAIMS:  # --only computes its claims; the page still shows every other claim the cache holds whole
        ctx.compute = not args.render_only and key in wanted
        if key not in wanted:
            try:
                claims.append(CLAIMS[key](ctx))
                claims[-1].wall_time_s = _cached_seconds(results, only=_claim_prefixes(key)) or claims[-1].wall_time_s
                log(f"claim {key}: {claims[-1].verdict} (from the cache)")
            except Missing:
                pass
            except Exception as error:  # noqa: BLE001 - a claim outside --only must not stop the ones asked for
                log(f"claim {key}: not rendered from the cache ({type(error).__name__}: {str(error)[:200]})")
            continue
        log(f"claim {key}")
        try:
            claim = CLAIMS[key](ctx)
            claim.wall_time_s = _cached_seconds(results, only=_claim_prefixes(key)) or claim.wall_time_s
            missing.pop(key, None)
        except Missing as why:
            claim = placeholder(key)
            missing[key] = f"{why} (run `make reproduce` to compute it; projected cost: {PROJECTED[key]})."
        except Exception as error:  # noqa: BLE001 - one failing claim must not lose the others
            if args.quick and not args.keep_going:
                raise
            claim = placeholder(key)
            missing[key] = f"the run failed: {type(error).__name__}: {str(error)[:200]}"
            log(traceback.format_exc())
        claims.append(claim)
        write_doc()
        log(f"claim {key}: {claim.verdict if key not in missing else 'missing'}")
    write_doc()
    log(f"wrote {doc}")
    return 0


def _claim_prefixes(key: str) -> tuple[str, ...]:
    return {"kanai-table4-st": ("kanai-table4/",), "kanai-table4-at": ("kanai-table4/", "kanai-table4-at/"),
            "li-mnist": ("li/",), "li-fmnist": ("li/",), "lcat-lambda15": ("lcat-lambda15/", "train/lcat_l15_"),
            "summers-transfer": ("summers-transfer/", "train/ls_source_"),
            "kanai-4c3f-st": ("kanai-4c3f-st/", "train/st4_")}.get(key, (key + "/",))


def _cached_seconds(results: Path, only: tuple[str, ...] | None = None) -> float:
    total = 0.0
    if not results.is_dir():
        return 0.0
    for path in results.rglob("*.json"):
        rel = path.relative_to(results).as_posix()
        if only is not None and not any(rel.startswith(p) for p in only):
            continue
        try:
            total += float(json.loads(path.read_text()).get("wall_time_s", 0.0))
        except (ValueError, OSError):
            continue
    return total


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a few examples, tiny trainings): tests")
    parser.add_argument("--only", default=None, help=f"comma-separated claims, in order (default all): {', '.join(CLAIMS)}")
    parser.add_argument("--cache", default=None, help=f"trained models' directory (default {DEFAULT_CACHE}/<mode>)")
    parser.add_argument("--results", default=None,
                        help=f"step results' directory (default: full mode {RESULTS.relative_to(ROOT)}, committed; quick "
                             "mode results/ in the cache)")
    parser.add_argument("--doc", default=None, help="the document to write (default docs/reproduction.md; quick: in the cache)")
    parser.add_argument("--img-dir", default=None, help="where the plots go (default: img/ beside the document)")
    parser.add_argument("--render-only", action="store_true", help="compute nothing; render what the cache holds")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--keep-going", action="store_true", help="in quick mode, record a failing claim and continue")
    args = parser.parse_args(argv)
    if args.only is not None:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in CLAIMS]
        if unknown or not names:
            raise ReproduceError(f"unknown claim {', '.join(unknown) or '(none given)'} in --only: choose from {', '.join(CLAIMS)}")
        args.only = names
    if args.threads < 1:
        raise ReproduceError(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except ReproduceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
