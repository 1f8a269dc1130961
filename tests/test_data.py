import pickle

import numpy as np
import pytest
import torch

from robustbench_logits.data import DATASETS, data_root, fetch_dataset, load_dataset
from robustbench_logits.errors import DatasetError


def test_mnist_full_splits_have_published_class_counts():
    for split in ("train", "test"):
        x, y = load_dataset("mnist", split=split)
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape[1:] == (1, 28, 28)
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0
        assert tuple(torch.bincount(y).tolist()) == DATASETS["mnist"].class_counts[split]


def test_fashion_mnist_balanced_classes():
    x, y = load_dataset("fashion_mnist", split="test")
    assert x.shape == (10_000, 1, 28, 28)
    assert torch.bincount(y).tolist() == [1000] * 10


def test_first_n_examples_in_file_order():
    x_all, y_all = load_dataset("mnist", n_examples=50)
    x, y = load_dataset("mnist", n_examples=7)
    assert torch.equal(x, x_all[:7]) and torch.equal(y, y_all[:7])
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # MNIST's first test labels


def test_fetch_is_idempotent_and_detects_corruption(tmp_path):
    cache = fetch_dataset("mnist")
    copy = tmp_path / "mnist"
    copy.mkdir()
    for name in DATASETS["mnist"].files:
        (copy / name).write_bytes((cache / name).read_bytes())
    assert fetch_dataset("mnist", data_dir=tmp_path) == copy  # verified, kept
    labels = copy / "t10k-labels-idx1-ubyte"
    corrupted = bytearray(labels.read_bytes())
    corrupted[100] ^= 1
    labels.write_bytes(bytes(corrupted))
    # a corrupted cache file is replaced by a verified one from the offline source
    fetch_dataset("mnist", data_dir=tmp_path)
    assert labels.read_bytes() == (cache / "t10k-labels-idx1-ubyte").read_bytes()


def test_data_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RBL_DATA", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root(tmp_path / "x") == tmp_path / "x"


def test_cifar10_reads_torchvision_layout(cifar10_dir):
    x, y = load_dataset("cifar10", data_dir=cifar10_dir)
    assert x.shape == (20, 3, 32, 32) and x.dtype == torch.float32
    assert y.tolist() == [i % 10 for i in range(20)]
    pixels = np.random.default_rng(0).integers(0, 256, size=(20, 3072), dtype=np.uint8)  # the fixture's first draw
    expected = torch.from_numpy(pixels[3].reshape(3, 32, 32).astype(np.float32) / 255)
    assert torch.allclose(x[3], expected)
    x_train, _ = load_dataset("cifar10", split="train", data_dir=cifar10_dir)
    assert x_train.shape[0] == 50


def test_cifar10_missing_dir_names_the_layout(tmp_path):
    with pytest.raises(DatasetError, match="cifar-10-batches-py"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_cifar_batch_that_is_not_data_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": print, b"labels": []}))
    with pytest.raises(DatasetError, match="refusing to unpickle"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_unknown_dataset_and_split():
    with pytest.raises(DatasetError, match="choose one of"):
        load_dataset("svhn")
    with pytest.raises(DatasetError, match="split"):
        load_dataset("mnist", split="valid")
