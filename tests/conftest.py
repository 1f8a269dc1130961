"""Shared fixtures: tiny real data, written once per session."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

# One intra-op thread: with two (torch's default here) the suite ran 10-40x slower whenever the
# machine's two cores had other work, and single-threaded it is as fast on a quiet machine's tiny models.
torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fast tests first, ``slow``-marked ones (full benchmarks on trained models) last: with ``-x``
    a failure shows in seconds, and mutation testing (which runs ``-x``) kills most mutants before
    the slow tests start."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)  # stable: order otherwise kept


@pytest.fixture(scope="session")
def mnist_small() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """2000 MNIST training and 500 test examples (provisioned offline on first use)."""
    from robustbench_logits.data import load_dataset

    x_train, y_train = load_dataset("mnist", split="train", n_examples=2000)
    x_test, y_test = load_dataset("mnist", split="test", n_examples=500)
    return x_train, y_train, x_test, y_test


def write_cifar10_fixture(root: Path, n_test: int = 20, n_train_per_batch: int = 10, seed: int = 0) -> Path:
    """A tiny ``cifar-10-batches-py`` dir in torchvision's layout (random pixels, cyclic labels)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def batch(n: int) -> dict:
        return {b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), b"labels": [i % 10 for i in range(n)]}

    for name, n in [("test_batch", n_test)] + [(f"data_batch_{i}", n_train_per_batch) for i in range(1, 6)]:
        with (folder / name).open("wb") as handle:
            pickle.dump(batch(n), handle)
    return root


@pytest.fixture()
def cifar10_dir(tmp_path: Path) -> Path:
    return write_cifar10_fixture(tmp_path)
