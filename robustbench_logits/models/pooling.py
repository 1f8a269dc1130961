"""2x2 max pooling with stride 2, bit-identical to ``nn.MaxPool2d(2)`` in values and gradients, and
several times faster on CPU.

Written by hand because torch's CPU kernel for it is slow on the papers' small nets: with one thread,
``max_pool2d`` (which computes the argmax indices even without autograd) took 12 ms on a 128 x 32 x
24 x 24 batch where a ReLU takes 0.3 ms, a third of a 2C2F training step (issue 13; measured side by
side in ``benchmarks/``). Here the forward is two ``torch.maximum`` over strided views (the maximum of
each row pair, then of each column pair), and the backward rebuilds the indices torch would have
stored, the first maximum of each window in row-major order, and hands them to torch's own
``max_pool2d_with_indices_backward``. So values, and gradients with ties, are exactly torch's; the one
difference is which element of a window holding a NaN receives the gradient (the NaN itself
propagates as in torch). Odd sizes are floored as ``MaxPool2d(2)`` does. ``torch.fx`` sees one call
(``max_pool_2x2``), not the autograd function inside it.
"""

from __future__ import annotations

import torch
import torch.fx
from torch import Tensor, nn

__all__ = ["MaxPool2x2", "max_pool_2x2"]

_WINDOW_STARTS: dict[tuple[int, int, int, torch.device], Tensor] = {}


def _window_starts(rows: int, cols: int, width: int, device: torch.device) -> Tensor:
    """Flat index (row * width + col) of each window's top-left element, cached per shape."""
    key = (rows, cols, width, device)
    if key not in _WINDOW_STARTS:
        _WINDOW_STARTS[key] = (torch.arange(rows, device=device)[:, None] * (2 * width)
                               + torch.arange(cols, device=device)[None, :] * 2)
    return _WINDOW_STARTS[key]


def _pooled(x: Tensor) -> Tensor:
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    row_max = torch.maximum(x[..., 0:h:2, :w], x[..., 1:h:2, :w])
    return torch.maximum(row_max[..., 0::2], row_max[..., 1::2])


class _MaxPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)  # the output is recomputed: an in-place op on it cannot break the backward
        return _pooled(x)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        out = _pooled(x)
        h, w = out.shape[-2] * 2, out.shape[-1] * 2
        in_top_left = x[..., 0:h:2, 0:w:2] == out
        in_top_right = x[..., 0:h:2, 1:w:2] == out
        in_bottom_left = x[..., 1:h:2, 0:w:2] == out
        bottom = ~(in_top_left | in_top_right)
        right = (~in_top_left & ~bottom) | (bottom & ~in_bottom_left)
        width = x.shape[-1]
        indices = torch.add(_window_starts(out.shape[-2], out.shape[-1], width, x.device), bottom, alpha=width).add_(right)
        return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, [2, 2], [2, 2], [0, 0], [1, 1], False, indices)


def max_pool_2x2(x: Tensor) -> Tensor:
    """``F.max_pool2d(x, 2)`` for (N, C, H, W) or (C, H, W) inputs, exactly, faster on CPU."""
    return _MaxPool2x2.apply(x)


torch.fx.wrap("max_pool_2x2")


class MaxPool2x2(nn.MaxPool2d):
    """``nn.MaxPool2d(2)`` computed by :func:`max_pool_2x2` (an ``nn.MaxPool2d``, so code that looks for
    pooling layers still finds it; no parameters, so state dicts are unchanged)."""

    def __init__(self) -> None:
        super().__init__(kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return max_pool_2x2(x)
