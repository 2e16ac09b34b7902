"""Runs that overlap, and the check after they did: is what the browser shows saved?

The engine numbers a session's full runs: a run that began before the previous one ended
supersedes it, and the superseded run's ``end_run`` (its ``finally``, run later in another
thread) saves nothing, as the newer run saves whatever it would have.

With Streamlit's fast reruns every rerun gets a thread of its own, and a superseded run that is
late to start can still apply its older widget values after the newer run began, which then
saves those: the screen shows the last step of a slider, storage the step before. Only a
fragment's timer makes the browser send every widget's value unasked, so after runs overlapped
(a run began before the previous one ended, a superseded run ended late, or a widget's value
changed during a run) the screen is *unverified* (``StateSync.screen_unverified``) and the
sidebar draws a check that runs every few seconds. Each of its runs asks
``StateSync.shows_unsaved_values``; a value it finds unsaved starts a full run, which saves it.

Only a value found unsaved by two checks in a row counts: under load an edit's own run may not
have begun when the check runs, and a rerun for that would replace the very run that saves it
(at 30 busy tabs such reruns kept every run from finishing).

This module imports neither Streamlit nor the engine (``persistence.sync``), which uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from persistence.deliveries import MISSING, UNREAD, Deliveries, same
from persistence.limits import SizeLimits
from persistence.misfits import Misfits
from persistence.models import State
from persistence.stored import StoredCopy


class ScreenCheck:
    """One session's runs, numbered to tell when they overlap, and whether the screen was
    found saved since they last did."""

    def __init__(
        self, stored: StoredCopy, deliveries: Deliveries, limits: SizeLimits, misfits: Misfits
    ) -> None:
        self._stored = stored
        self._deliveries = deliveries
        self._limits = limits
        self._misfits = misfits
        self.runs = 0  # full runs begun
        self.in_run = False  # between a full run's begin_run and its end_run
        self.unverified = False  # runs overlapped since the screen was last found saved
        # The values of the widgets on screen as this run began (to see a late thread's), and
        # what the last check found unsaved on screen.
        self._on_screen_at_begin: dict[str, Any] = {}
        self._unsaved_seen: State = {}

    def reset(self) -> None:
        """Another process was opened: what the last check found is not its."""
        self._unsaved_seen = {}

    def begin(self) -> int:
        """A full run begins: its number. When the previous run has not ended, it was
        superseded: runs overlap."""
        self.runs += 1
        if self.in_run:
            self.unverified = True
        self.in_run = True
        return self.runs

    def end(self, run: int) -> bool:
        """Whether run ``run``, ending, is the latest: a superseded run ends late (its
        ``finally`` runs while the newer run is going), and runs overlapped."""
        if run != self.runs:
            self.unverified = True
            return False
        self.in_run = False
        return True

    def note_on_screen(self, current: Mapping[Any, Any], reported: Mapping[str, Any]) -> None:
        """Note the values of the widgets the browser reported, as ``current`` holds them."""
        self._on_screen_at_begin = {k: current[k] for k in reported if k in current}

    def note_changed_on_screen(self, current: Mapping[Any, Any]) -> None:
        """Note a widget that was on screen as the run began and holds another value now: a
        superseded run's thread, late to start, put its older widget values in during the run
        (so what this run saves may not be what the browser shows)."""
        if any(
            not same(current.get(key, MISSING), value)
            for key, value in self._on_screen_at_begin.items()
        ):
            self.unverified = True

    def shows_unsaved(self, reported: Mapping[str, Any]) -> bool:
        """Whether ``reported``, what the browser shows, holds a value for a persisted key
        that storage does not hold and that is no delivery on its way, no refused value and
        no misfit, as the previous check found it too. A check that finds everything saved
        ends the screen's unverified time."""
        deliveries, limits, misfits = self._deliveries, self._limits, self._misfits
        saved = self._stored.values
        unsaved = {
            key: shown
            for key, shown in reported.items()
            if shown is not UNREAD
            and key not in deliveries
            and not limits.is_held(key)
            and key not in misfits
            and not same(shown, saved.get(key, MISSING))
        }
        seen, self._unsaved_seen = self._unsaved_seen, unsaved
        if not unsaved:
            self.unverified = False  # every value on screen is saved
        return any(key in seen and same(seen[key], shown) for key, shown in unsaved.items())
