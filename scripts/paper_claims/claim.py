"""A claim of a paper and its headline, registered once: ``@claim(key, method, paper's claim)``.

The summary row's first cells come from here, whether or not the claim has results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .steps import Context

#: the paper of each claim, by the claim key's first word
SOURCES = {"kanai": "Kanai et al. (BLF), shared/papers/002_e6f86b0a01d55346.txt",
           "summers": "Summers & Dinneen, shared/papers/001_11b0df936848083a.txt",
           "li": "Li et al. (PC-LC), shared/papers/004_47b8a8a080d3078d.txt",
           "lcat": "LCAT, shared/papers/000_6a9162405a705f9b.txt",
           "lma": "LMA-AT, shared/papers/003_49795fa6f1480e2d.txt"}


@dataclass
class Claim:
    """One headline claim: its summary row and its section of the document."""

    key: str
    method: str
    paper_claim: str
    measurement: str = ""
    verdict: str = "not run in this version"
    evidence: str = ""
    section: str = ""
    wall_time_s: float = 0.0


HEADLINES: dict[str, tuple[str, str]] = {}  # claim key -> (method, the paper's claim): the summary row's first cells


def claim(key: str, method: str, paper_claim: str) -> Callable[[Callable[[Context, Claim], Claim]], Callable[[Context], Claim]]:
    """Register a claim's headline once: its section fills the ``Claim`` and the page shows the headline even
    while the claim has no results."""
    HEADLINES[key] = (method, paper_claim)

    def register(fn: Callable[[Context, Claim], Claim]) -> Callable[[Context], Claim]:
        return lambda ctx: fn(ctx, Claim(key, method, paper_claim))
    return register

