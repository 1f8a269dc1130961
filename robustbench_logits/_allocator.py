"""Keep freed CPU memory in the process instead of handing it back to the kernel (glibc only).

Why: torch's CPU tensors come from glibc's malloc. A block above its mmap threshold (128 KiB at
start, raised only as blocks are freed) is mapped for the allocation and unmapped when freed, and
free memory above the heap's trim threshold goes back to the kernel. A training step frees and
re-allocates the same activations every pass, so the next pass faults them in again page by page,
each page zero-filled by the kernel: 4C3F's forward and backward at batch 128 took about 17,000 page
faults a step, and a PGD-AT step took 1.12x (4C3F) to 1.39x (2C2F) the CPU time it takes with the memory kept
(``benchmarks/README.md``, allocator).
``mallopt`` fixes both thresholds for the process: blocks up to 32 MiB (glibc's largest mmap
threshold) come from the heap, and the heap keeps up to 1 GiB of freed memory. Peak memory is
unchanged; memory freed after the peak stays with the process until it exits.

jemalloc or tcmalloc would do the same, but only through ``LD_PRELOAD`` before the process starts,
which a ``pip install`` cannot arrange; no Python package sets these; so this module does, by hand.
Elsewhere (macOS, musl) it does nothing. Standard library only.
"""

from __future__ import annotations

import ctypes

__all__ = ["retain_freed_memory"]

# glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: larger values are refused
_TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds for this process (once); True if they are set.

    Called by ``train`` and ``benchmark`` before their work: the setting is process-wide and cannot be
    undone (glibc's dynamic mmap threshold stays off once set), harmless for what runs after."""
    global _applied
    if _applied is None:
        _applied = _mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) and _mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    return _applied


def _mallopt(option: int, value: int) -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: the C library's
    except (OSError, AttributeError):  # no mallopt: not glibc (musl has one that refuses every option)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(option, value) == 1
