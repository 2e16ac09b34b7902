"""One level of load: ``users`` tabs on one server for a bounded time, and what it measured."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import websockets

from persistence.errors import PersistenceError
from persistence.storage import StorageInterface
from scripts.loadtest.servers import Server
from scripts.loadtest.tab import RunTimeout, Tab

KEY = "persist_owner"  # the Report page's first widget, a text input


@dataclass
class User:
    process: str
    idle: bool = False  # an open tab nobody touches: only its timers run
    sent: str | None = None  # the last value sent
    acknowledged: str | None = None  # the last value whose run finished
    stalled: bool = False


@dataclass
class Level:
    server: str
    users: int
    seconds: float
    idle: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stalled: int = 0
    fragment_runs: int = 0
    cpu: float | None = None  # server CPU seconds per second (1.0 = one core)
    lost: int | None = None  # users whose last value is not in the store (None: not checked)

    def percentile(self, share: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    @property
    def reruns_per_second(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def median(self) -> float | None:
        return statistics.median(self.latencies) if self.latencies else None


async def _user(user: User, url: str, level: Level, end: float, interval: float) -> None:
    """Open the tab, then edit ``KEY`` about every ``interval`` s until ``end``; a run that
    does not finish in time marks the tab stalled (it keeps going, as a person would wait)."""
    tab = Tab(url, user.process)
    try:
        await tab.open()
        count = 0
        if user.idle:
            await asyncio.sleep(max(0.0, end - time.monotonic()))
        while not user.idle and time.monotonic() < end:
            due = time.monotonic() + interval * random.uniform(0.8, 1.2)  # noqa: S311
            value = f"{user.process}:{count}"
            user.sent, count = value, count + 1
            try:
                level.latencies.append(await tab.edit(KEY, value))
                user.acknowledged = value
            except RunTimeout:
                user.stalled = True
            await asyncio.sleep(max(0.0, due - time.monotonic()))
    except (OSError, KeyError, RunTimeout, websockets.WebSocketException) as error:
        level.errors.append(f"{user.process}: {type(error).__name__}: {error}")
    finally:
        level.fragment_runs += tab.fragment_runs
        await tab.close()


async def _run(users: Sequence[User], url: str, level: Level, interval: float) -> None:
    end = time.monotonic() + level.seconds

    async def staggered(index: int, user: User) -> None:
        await asyncio.sleep(interval * index / len(users))  # tabs opened one after another
        await _user(user, url, level, end, interval)

    await asyncio.gather(*(staggered(i, user) for i, user in enumerate(users)))


def warm_up(servers: Sequence[Server], process: str) -> None:
    """One page load on each server, side by side, not measured: a fresh server's first run
    imports the app's modules."""

    async def load(server: Server) -> None:
        tab = Tab(server.url, process, timeout=60.0)
        try:
            await tab.open()
        finally:
            await tab.close()

    async def load_all() -> None:
        await asyncio.gather(*(load(server) for server in servers))

    asyncio.run(load_all())


def run_level(
    server: Server,
    processes: Sequence[str],
    seconds: float,
    interval: float,
    store: StorageInterface | None,
    idle: Sequence[str] = (),
) -> Level:
    """Load ``server`` with one tab editing each of ``processes``, and one idle tab open on
    each of ``idle``, for ``seconds``; with ``store``, check afterwards that each editing
    tab's last value is in it."""
    users = [User(process) for process in processes]
    level = Level(server.name, len(users), seconds, idle=len(idle))
    cpu_before, started = server.cpu_seconds(), time.monotonic()
    tabs = [*users, *(User(name, idle=True) for name in idle)]
    asyncio.run(_run(tabs, server.url, level, interval))
    cpu_after, elapsed = server.cpu_seconds(), time.monotonic() - started
    if cpu_before is not None and cpu_after is not None:
        level.cpu = (cpu_after - cpu_before) / elapsed
    level.stalled = sum(user.stalled for user in users)
    if store is not None and len(set(processes)) == len(processes):
        level.lost = sum(not _kept(store, user) for user in users)
    return level


def _kept(store: StorageInterface, user: User) -> bool:
    """Whether the store holds the user's last value (or, when that run never finished, the
    last one that did)."""
    if user.sent is None:
        return True
    try:
        stored = (store.load_process(user.process) or {}).get(KEY)
    except PersistenceError:
        return False
    return bool(stored == user.sent or stored == user.acknowledged)
