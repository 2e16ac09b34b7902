"""Timing operations fairly on a shared machine, and the Markdown table of the results."""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence


@dataclasses.dataclass
class Timing:
    """Per-operation times in nanoseconds."""

    samples: list[int] = dataclasses.field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return float(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))])


Op = Callable[[], int]
"""One operation: does its untimed setup, times its timed part and returns nanoseconds."""


def interleaved(rounds: int, ops: Sequence[Op], warmup: int = 3) -> list[Timing]:
    """Run the ops round-robin, so a noisy moment on a shared machine hits them all alike."""
    timings = [Timing() for _ in ops]
    for index in range(warmup + rounds):
        for op, timing in zip(ops, timings, strict=True):
            elapsed = op()
            if index >= warmup:
                timing.samples.append(elapsed)
    return timings


def timed(action: Callable[[], object]) -> int:
    start = time.perf_counter_ns()
    action()
    return time.perf_counter_ns() - start


# -- the table ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    scenario: str
    binding: Timing
    naive: Timing | None
    floor: Timing | None
    target: str = "—"
    result: str = "—"
    notes: list[str] = dataclasses.field(default_factory=list)


def fmt_time(ns: float) -> str:
    if ns < 1_000_000:
        return f"{ns / 1000:.1f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def fmt_ratio(binding: Timing, other: Timing | None) -> str:
    if other is None or not other.samples:
        return "—"
    return f"{binding.median / other.median:.2f}x"


def verdict(ok: bool) -> str:
    return "pass" if ok else "**miss**"


def render_table(backend: str, url: str, rows: Sequence[Row], quick: bool) -> str:
    header = (
        "| scenario | median | p95 | naive median | vs naive | raw floor median "
        "| vs raw floor | target | result |"
    )
    lines = [
        f"### {backend} — `{url}`",
        "",
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"{'quick smoke run' if quick else 'full run'}",
        "",
        header,
        "|---|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for row in rows:
        cells = [
            row.scenario,
            fmt_time(row.binding.median),
            fmt_time(row.binding.p95),
            fmt_time(row.naive.median) if row.naive else "—",
            fmt_ratio(row.binding, row.naive),
            fmt_time(row.floor.median) if row.floor else "—",
            fmt_ratio(row.binding, row.floor),
            row.target,
            row.result,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {row.scenario}: {note}" for row in rows for note in row.notes]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)
