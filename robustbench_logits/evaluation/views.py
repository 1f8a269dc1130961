"""Copies of any model that undo gradient masking, for escalation to craft attacks on.

* :func:`straight_through`: BPDA (Athalye et al. 2018, sec. 4.1) with the identity as the
  backward pass of every saturating or non-differentiable operation, found by tracing the model
  with ``torch.fx`` (``tanh``, ``sigmoid``, ``clamp``/``clip``, ``hardtanh``, ``round``, ``floor``,
  ``ceil``, ``sign``, ``detach``), whether it sits in one of our heads or anywhere in a user's model.
  The forward pass is unchanged, so examples crafted on it are scored on the real model. A model
  that cannot be traced as a whole is rewritten module by module.
* :func:`log_probabilities`: for a model that outputs probabilities, the same model with its
  final softmax replaced by log-softmax (traced), or ``log`` of its output when it cannot be traced.

Hand-written: torch.fx provides the graph, no library provides BPDA rewriting of arbitrary models.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["STRAIGHT_THROUGH_OPS", "log_probabilities", "straight_through"]

_FUNCTIONS: dict[Any, str] = {
    torch.tanh: "tanh", torch.sigmoid: "sigmoid", torch.clamp: "clamp", torch.clip: "clip", torch.round: "round",
    torch.floor: "floor", torch.ceil: "ceil", torch.sign: "sign", torch.detach: "detach", F.hardtanh: "hardtanh",
    torch.nn.functional.relu6: "relu6",
}
_METHODS = {"tanh", "sigmoid", "clamp", "clip", "round", "floor", "ceil", "sign", "detach", "clamp_", "round_",
            "sign_", "tanh_", "sigmoid_"}
_MODULES: dict[type, str] = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.Hardtanh: "hardtanh", nn.ReLU6: "relu6",
                             nn.Hardsigmoid: "hardsigmoid"}
#: The operations :func:`straight_through` replaces (function, method or module names).
STRAIGHT_THROUGH_OPS = tuple(sorted(set(_FUNCTIONS.values()) | {m.rstrip("_") for m in _METHODS} | set(_MODULES.values())))


class _StraightThrough(torch.autograd.Function):
    """Forward: the operation's value; backward: the identity (BPDA with g(x) = x)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, value: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return value

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return grad, None


def _through(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def wrapped(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        with torch.no_grad():
            value = fn(x, *args, **kwargs)
        if not isinstance(x, torch.Tensor) or value.shape != x.shape:
            return fn(x, *args, **kwargs)
        return _StraightThrough.apply(x, value)

    wrapped.__name__ = f"straight_through_{getattr(fn, '__name__', 'op')}"
    return wrapped


class _ModuleThrough(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.inner = module
        self._fn = _through(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fn(x)


def _method(name: str) -> Callable[..., torch.Tensor]:
    def call(x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return getattr(x, name.rstrip("_"))(*args, **kwargs)

    call.__name__ = name
    return call


def _replace_in_graph(graph_module: fx.GraphModule) -> list[str]:
    """Give every masking node of a traced graph the straight-through backward; the names replaced."""
    replaced: list[str] = []
    for node in graph_module.graph.nodes:
        if node.op == "call_function" and node.target in _FUNCTIONS:
            replaced.append(_FUNCTIONS[node.target])
            node.target = _through(node.target)
        elif node.op == "call_method" and node.target in _METHODS:
            replaced.append(node.target.rstrip("_"))
            node.op, node.target = "call_function", _through(_method(node.target))
        elif node.op == "call_module":
            sub = graph_module.get_submodule(node.target)
            name = _MODULES.get(type(sub))
            if name is not None:
                replaced.append(name)
                new_name = node.target.replace(".", "_") + "_straight_through"
                graph_module.add_submodule(new_name, _ModuleThrough(sub))
                node.target = new_name
    graph_module.recompile()
    return replaced


def _rewrite(module: nn.Module) -> tuple[nn.Module, list[str]]:
    """``module`` traced and rewritten; when it cannot be traced (data-dependent control flow, e.g.
    timm's input-size check), each child on its own, so a traceable head inside an untraceable
    model is still found. Functional calls in an untraceable module's own forward are missed."""
    if type(module) in _MODULES:
        return _ModuleThrough(module), [_MODULES[type(module)]]
    try:
        graph_module = fx.symbolic_trace(module)
    except Exception:  # noqa: BLE001 - any tracing failure: go one level down
        graph_module = None
    if graph_module is not None:
        replaced = _replace_in_graph(graph_module)
        return (graph_module, replaced) if replaced else (module, [])
    replaced = []
    for name, child in list(module.named_children()):
        new, found = _rewrite(child)
        if found:
            setattr(module, name, new)
            replaced += found
    return module, replaced


def straight_through(model: nn.Module) -> tuple[nn.Module | None, list[str]]:
    """(a copy of ``model`` with straight-through gradients, the operations replaced); ``(None, [])``
    when nothing was found to replace."""
    rewritten, replaced = _rewrite(copy.deepcopy(model))
    return (rewritten.eval(), replaced) if replaced else (None, [])


class _LogOutput(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(self.model(x).clamp_min(torch.finfo(torch.float32).tiny))


def log_probabilities(model: nn.Module) -> nn.Module:
    """The model with its output softmax as log-softmax (logits up to a shift), else log of its output."""
    try:
        graph_module = fx.symbolic_trace(copy.deepcopy(model))
    except Exception:  # noqa: BLE001
        return _LogOutput(model).eval()
    output = next(node for node in graph_module.graph.nodes if node.op == "output")
    last = output.args[0]
    if isinstance(last, fx.Node):
        if last.op == "call_function" and last.target in (torch.softmax, F.softmax):
            last.target = F.log_softmax
        elif last.op == "call_method" and last.target == "softmax":
            last.target = "log_softmax"
        elif last.op == "call_module" and isinstance(graph_module.get_submodule(last.target), nn.Softmax):
            dim = graph_module.get_submodule(last.target).dim
            graph_module.add_submodule("log_softmax_output", nn.LogSoftmax(dim=dim))
            last.target = "log_softmax_output"
        else:
            return _LogOutput(model).eval()
        graph_module.recompile()
        return graph_module.eval()
    return _LogOutput(model).eval()


