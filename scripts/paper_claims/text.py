"""The page's cells: percentages with their 95 % intervals, markdown tables."""

from __future__ import annotations

from typing import Any


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def with_ci(entry: dict[str, Any] | None, key: str = "acc", ci_key: str = "ci95") -> str:
    if entry is None or entry.get(key) is None:
        return "–"
    lo, hi = entry[ci_key]
    return f"{pct(entry[key])} [{pct(lo)}, {pct(hi)}]"


def strong_cell(s: dict[str, Any]) -> str:
    return with_ci(s, "worst", "worst_ci95")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
