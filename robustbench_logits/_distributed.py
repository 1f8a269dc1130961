"""torchrun helpers shared by training and evaluation: join the process group, reduce, gather,
draw a rank's rows of a global batch's random values, and share out work items between ranks.

One place for them, so ``train.py`` and ``evaluation/`` agree on how a run is launched
(``WORLD_SIZE`` / ``LOCAL_RANK`` from torchrun) and nothing is pickled between ranks.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["Process", "all_gather_json", "all_sum", "barrier", "process_group", "rank_and_world", "rank_rows",
           "shared_out"]


@dataclass(frozen=True)
class Process:
    """This process's place in the run: rank, world size, device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


@contextmanager
def process_group(device: str | None) -> Iterator[Process]:
    """Join torchrun's process group when launched by it (WORLD_SIZE > 1), else run alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if world_size == 1:
        yield Process(0, 1, torch.device(device))
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        placed = torch.device("cuda", local_rank)
    else:
        placed = torch.device(device)
    owns_group = not dist.is_initialized()
    if owns_group:
        dist.init_process_group(backend="nccl" if placed.type == "cuda" else "gloo")
    try:
        yield Process(dist.get_rank(), dist.get_world_size(), placed)
    finally:
        if owns_group:
            dist.destroy_process_group()


def rank_rows(draw: Callable[[tuple[int, ...]], torch.Tensor], shape: Sequence[int], process: Process | None) -> torch.Tensor:
    """This rank's rows of one random draw for the global batch.

    ``draw(shape)`` makes the values (e.g. ``lambda s: torch.rand(s, generator=g)``); ``shape[0]``
    is this rank's batch. Alone (``process`` None or world size 1) it is ``draw(shape)``, the
    call itself. Under torchrun it draws for ``world_size * shape[0]`` rows and keeps rows
    ``rank::world_size``: a DistributedSampler gives rank r rows r::world of the batch one process
    would see, so each example gets the value one process would draw for it, and every rank's
    generator (seeded alike) advances alike.
    """
    if process is None or process.world_size == 1:
        return draw(tuple(shape))
    values = draw((process.world_size * shape[0], *shape[1:]))
    return values[process.rank :: process.world_size]


def rank_and_world() -> tuple[int, int]:
    """(rank, world size); joins torchrun's group (gloo) when launched by it and not yet joined.

    Evaluation keeps the group for the life of the process: every rank must take part in the
    final gather, and a caller (a training script) may already own the group.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_sum(values: list[float], process: Process) -> list[float]:
    """Element-wise sum over ranks (float64)."""
    if process.world_size == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=process.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def barrier(process: Process) -> None:
    """Wait for every rank (no-op alone)."""
    if process.world_size > 1:
        dist.barrier()


def all_gather_json(payload: Any, world: int) -> list[Any]:
    """One JSON value per rank, gathered as UTF-8 bytes in uint8 tensors (nothing is unpickled)."""
    if world == 1:
        return [payload]
    data = torch.tensor(list(json.dumps(payload).encode()), dtype=torch.uint8)
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([data.numel()], dtype=torch.int64))
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros(longest, dtype=torch.uint8)
    padded[: data.numel()] = data
    gathered = [torch.zeros(longest, dtype=torch.uint8) for _ in range(world)]
    dist.all_gather(gathered, padded)
    return [json.loads(bytes(g[: int(s.item())].tolist()).decode()) for g, s in zip(gathered, sizes)]


_QUEUES = itertools.count()  # every rank makes the same calls in the same order, so the n-th queue has one key


def shared_out(n: int, rank: int, world: int) -> Iterator[int]:
    """Indices ``0 .. n - 1``, each to exactly one rank: alone, all of them; under torchrun, the next to
    whichever rank asks first (a counter in torchrun's own key-value store), so a rank that drew quick
    items takes more of them instead of waiting for the slow one at the next gather. The assignment
    varies from run to run; callers must make their results independent of it (the evaluation seeds
    each chunk by its index). Without torchrun's store address (a group joined some other way), ranks
    take items ``rank, rank + world, ...``."""
    if world == 1:
        yield from range(n)
        return
    queue = next(_QUEUES)
    address, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    if not address or not port:
        yield from range(rank, n, world)
        return
    store = dist.TCPStore(address, int(port), is_master=False, use_libuv=True)
    key = f"robustbench_logits/shared_out/{queue}"
    while (index := store.add(key, 1) - 1) < n:
        yield index
