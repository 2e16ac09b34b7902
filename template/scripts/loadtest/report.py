"""The load run's Markdown table, and persistence's p95 over plain Streamlit's per level."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from scripts.loadtest.levels import Level


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f}"


def _row(level: Level) -> str:
    cpu = "-" if level.cpu is None else f"{level.cpu * 100:.0f} %"
    lost = "-" if level.lost is None else str(level.lost)
    cells = [
        f"{level.users} + {level.idle}",
        level.server,
        _ms(level.percentile(0.50)),
        _ms(level.percentile(0.95)),
        _ms(level.percentile(0.99)),
        f"{level.reruns_per_second:.1f}",
        str(len(level.errors)),
        str(level.stalled),
        cpu,
        str(level.fragment_runs),
        lost,
    ]
    return "| " + " | ".join(cells) + " |"


def _ratios(results: Sequence[Level]) -> list[str]:
    plain = {level.users: level for level in results if level.server == "plain"}
    lines = []
    for level in results:
        base = plain.get(level.users)
        if level.server == "plain" or base is None:
            continue
        ours, theirs = level.percentile(0.95), base.percentile(0.95)
        if ours is not None and theirs:
            lines.append(f"- {level.users} users: p95 {ours / theirs:.2f}x plain Streamlit's")
    return lines


def render(results: Sequence[Level], args: argparse.Namespace) -> str:
    lines = [
        f"### Load: {args.seconds:.0f} s per level, an edit every {args.interval:g} s per tab"
        + (", one shared process" if args.shared else ", a process per tab")
        + f" ({os.cpu_count()} cores)",
        "",
        "| users + idle tabs | server | p50 ms | p95 ms | p99 ms | reruns/s | errors "
        "| stalled tabs | server CPU | fragment runs | lost writes |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        *(_row(level) for level in results),
        "",
        *_ratios(results),
    ]
    errors = [error for level in results for error in level.errors]
    if errors:
        lines += ["", "Errors (first 5):", *(f"- {error}" for error in errors[:5])]
    return "\n".join(lines)
