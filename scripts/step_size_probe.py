"""Does a zoo model resist only large PGD steps? Accuracy under L-inf PGD at several step sizes and APGD.

    .venv/bin/python scripts/step_size_probe.py cnn4c3f.lma_at_mnist cnn4c3f.pgd_at_mnist [-n 200] [--split validation]

Evidence for docs/training.md (issue 11): a model trained against a coarse inner PGD can learn a loss surface
on which large sign steps land where the loss is low (catastrophic overfitting, multi-step form). Then PGD with
the training attack's step (2.5 eps / 5 = eps / 2) and the zoo's former validation PGD-10 (step eps / 4) leave it
robust while small fixed steps and APGD's adaptive step break it. All attacks are torchattacks', seeded, on the
first n test examples of the model's dataset at its zoo eps, or with ``--split validation`` on the first n of the
trainer's validation split (how the validation attack was chosen, docs/training.md: choosing on the test set would
be selecting on it).
"""

from __future__ import annotations

import argparse

import timm
import torch
import torchattacks

import robustbench_logits  # noqa: F401  (registers the zoo's tags with timm)
from robustbench_logits import zoo
from robustbench_logits.data import load_dataset
from robustbench_logits.train import VAL_SIZE, _split


def _attacks(model: torch.nn.Module, eps: float) -> dict[str, torchattacks.Attack]:
    return {
        "PGD-10, step eps/2 (the training attack's step)": torchattacks.PGD(model, eps=eps, alpha=eps / 2, steps=10),
        "PGD-10, step eps/4 (the zoo's validation attack until session 12)": torchattacks.PGD(model, eps=eps, alpha=eps / 4, steps=10),
        "PGD-40, step eps/30": torchattacks.PGD(model, eps=eps, alpha=eps / 30, steps=40),
        "APGD-CE, 10 steps": torchattacks.APGD(model, eps=eps, steps=10, loss="ce"),
        "APGD-CE, 20 steps (the trainer's validation attack)": torchattacks.APGD(model, eps=eps, steps=20, loss="ce"),
        "APGD-CE, 50 steps": torchattacks.APGD(model, eps=eps, steps=50, loss="ce"),
        "APGD-CE, 100 steps": torchattacks.APGD(model, eps=eps, steps=100, loss="ce"),
        "APGD-DLR, 100 steps": torchattacks.APGD(model, eps=eps, steps=100, loss="dlr"),
    }


def _examples(dataset: str, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n test examples, or the first n of the trainer's validation split (carved from the training set)."""
    if split == "test":
        return load_dataset(dataset, split="test", n_examples=n)
    _, (x, y), _ = _split(*load_dataset(dataset, split="train"), VAL_SIZE)
    return x[:n], y[:n]


def probe(tag: str, n: int, split: str = "test") -> dict[str, float]:
    record = zoo.get_entry(tag)
    model = timm.create_model(tag, pretrained=True).eval()
    x, y = _examples(record.dataset, split, n)

    def accuracy(inputs: torch.Tensor) -> float:
        with torch.no_grad():
            return round(100 * (model(inputs).argmax(1) == y).float().mean().item(), 1)

    figures = {"clean": accuracy(x)}
    for name, attack in _attacks(model, record.eps).items():
        torch.manual_seed(0)
        figures[name] = accuracy(attack(x, y))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags", nargs="+", help="zoo timm tags, e.g. cnn4c3f.lma_at_mnist")
    parser.add_argument("-n", type=int, default=200, help="first n examples of the split")
    parser.add_argument("--split", choices=["test", "validation"], default="test")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {tag: probe(tag, args.n, args.split) for tag in args.tags}
    names = list(next(iter(results.values())))
    print("| attack | " + " | ".join(f"`{tag}`" for tag in results) + " |")
    print("|---|" + "---:|" * len(results))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{results[tag][name]:.1f}" for tag in results) + " |")


if __name__ == "__main__":
    main()
