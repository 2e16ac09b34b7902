"""Who else has the open process open: one mark per browser session in the store, renewed
by the server's watcher, running out by itself.

A session marks the process it opens at once (and takes its mark off the one it left) and
reads who else is there. From then on the server's live-update watcher (``persistence.live``)
renews each session's mark every ``RENEW_SECONDS``, reads the marks once per process per
round for all the server's tabs, and starts a run of a session only when who is there
changed: an unchanged rerun writes and reads nothing for presence. A mark lasts
``MARK_SECONDS``, so a tab closed or a server that died drops out of the others' sidebars
within that time, leaving nothing in the store. Presence is a courtesy: a store that cannot
be reached leaves the sidebar without it, and the save status says why.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Mapping

from persistence.errors import PersistenceError
from persistence.storage import StorageInterface

RENEW_SECONDS = 15.0
MARK_SECONDS = 45.0  # three renewals: one late round of the watcher loses nobody


def new_visitor() -> str:
    """What one browser session's mark is filed under: random, told to nobody."""
    return secrets.token_hex(8)


class Presence:
    """One browser session's mark on its open process, and who else the last read found."""

    def __init__(
        self, visitor: str, label: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.visitor = visitor
        self.label = label  # what the others see: the signed-in e-mail, or a guest's tag
        self.process: str | None = None  # the process this session's mark is on
        self.others: tuple[str, ...] = ()  # the other visitors' labels, as last read
        self._clock = clock
        self._marked_at = float("-inf")

    def follow(self, store: StorageInterface, process: str | None) -> None:
        """In a run: when ``process`` is not the marked one, move the mark there and read
        who else is there. Nothing at all when it is."""
        if process == self.process:
            return
        self.leave(store)
        self.process = process
        if process is None:
            return
        try:
            self._mark(store)
            self.see(store.visitors(process))
        except PersistenceError:
            self._marked_at = float("-inf")  # the watcher tries again

    def refresh(
        self, store: StorageInterface, read: Callable[[str], Mapping[str, str]] | None = None
    ) -> bool:
        """The watcher's round (or a tab's own timer where there is no watcher): renew the
        mark when ``RENEW_SECONDS`` have passed since the last one, and read the marks
        (with ``read``: a round's reads, one per process); whether who else is there
        changed."""
        process = self.process
        if process is None:
            return False
        try:
            if self._clock() - self._marked_at >= RENEW_SECONDS:
                self._mark(store)
            return self.see((read or store.visitors)(process))
        except PersistenceError:
            return False  # the next round tries again; the mark runs out meanwhile

    def see(self, visitors: Mapping[str, str]) -> bool:
        """Take what a read of the open process's marks found; whether who else is there
        changed since the last read."""
        others = tuple(sorted(label for tag, label in visitors.items() if tag != self.visitor))
        changed, self.others = others != self.others, others
        return changed

    def leave(self, store: StorageInterface) -> None:
        """Take the mark off (another process opened, the tab closed)."""
        process, self.process, self.others = self.process, None, ()
        if process is None:
            return
        with contextlib.suppress(PersistenceError):  # else it runs out by itself
            store.mark_absent(process, self.visitor)

    def _mark(self, store: StorageInterface) -> None:
        assert self.process is not None
        store.mark_present(self.process, self.visitor, self.label, MARK_SECONDS)
        self._marked_at = self._clock()
