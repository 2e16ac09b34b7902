"""Deliveries: the values the sync engine put into the state, until the browser shows them.

Streamlit sends a value put into session state to the browser only with the run that put it
there. When that run is never drawn (the user clicked before it arrived), the browser mounts
the widget at its default and later sends that default back as if the user had typed it; when
the widget was already on screen, it keeps showing, and sends back, what it showed before. So
every value the engine puts into the state is a *delivery* that stays pending until the
browser reports that value (or an edit of its own) for the widget. Until then it is put in
again at the top of every run, and a report of what the browser showed before is never taken
for an edit. A ``BrowserView`` tells what the browser reported in this run; without one (a
plain dict) nothing can be told, and what the state holds is trusted.

This module imports neither Streamlit nor the engine (``persistence.sync``), which uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from persistence import codec

MISSING: Final[Any] = object()
"""What a lookup of a key that the state (or the browser's report) does not hold gives."""

NO_WIDGET: Final[Any] = object()
"""``BrowserView.widget_default`` for a key that has no widget whose value can be set."""


UNREAD: Final[Any] = object()
"""A reported value this server cannot read yet (a tab that reconnected to a new server)."""

IsSaved = Callable[[str, Any], bool]  # whether a value is what storage holds for a key
Withhold = Callable[[str, Any], None]  # a key's saved value did not fit: what its widget got

# Identity, or same type and content; a DataFrame's == is elementwise, so frames and series
# compare as wholes there (plain values keep the one-comparison path).
same = codec.same_value


class BrowserView(Protocol):
    """What the browser sent with the request that started this run."""

    def reported(self, prefix: str) -> Mapping[str, Any] | None:
        """The values the browser sent with this run's request for widgets whose key starts
        with ``prefix`` (``UNREAD`` where it cannot be read yet); ``None`` when unknown."""

    def widget_default(self, key: str) -> Any:
        """The default of the settable widget bound to ``key``, or ``NO_WIDGET``."""

    def guard(self, saved: IsSaved, withhold: Withhold) -> None:
        """From now on, give a widget about to take a value for which ``saved(key, value)``
        holds and that it cannot take something it can, and tell ``withhold(key, given)``."""


class NoBrowser:
    """A state that no browser draws (a plain dict): nothing is known, nothing is re-sent."""

    def reported(self, prefix: str) -> Mapping[str, Any] | None:
        return None

    def widget_default(self, key: str) -> Any:
        return NO_WIDGET

    def guard(self, saved: IsSaved, withhold: Withhold) -> None:
        return None


def as_plain_dict(state: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """The state as one plain dict: every ``SessionStateProxy`` lookup takes a lock and
    resolves widget ids, so one ``to_dict`` beats fifty lookups on the hot path."""
    to_dict = getattr(state, "to_dict", None)
    return to_dict() if callable(to_dict) else state


@dataclass
class Delivery:
    """A value the engine put into the state, and what the browser may show until it arrives."""

    value: Any
    stale: list[Any]

    def is_stale(self, shown: Any) -> bool:
        return any(same(shown, old) for old in self.stale)


class Deliveries:
    """The deliveries into one session's state that the browser has yet to show."""

    def __init__(
        self,
        state: MutableMapping[Any, Any],
        browser: BrowserView,
        *,
        prefix: str,
        refused: tuple[type[Exception], ...],
    ) -> None:
        self.state = state
        self.browser = browser
        self.prefix = prefix
        self._refused = refused  # what assigning a widget's key raises when it cannot be set
        self._pending: dict[str, Delivery] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._pending

    def is_persisted(self, key: Any) -> bool:
        return isinstance(key, str) and key.startswith(self.prefix)

    def is_stale(self, key: str, shown: Any) -> bool:
        """Whether ``shown`` is what the browser showed before ``key``'s delivery: no edit."""
        delivery = self._pending.get(key)
        return delivery is not None and delivery.is_stale(shown)

    def discard(self, key: str) -> None:
        """Stop delivering ``key`` (it was removed, or its widget shows something else)."""
        self._pending.pop(key, None)

    def remove(self, key: str) -> None:
        """Remove ``key`` from the state, and its delivery."""
        self.state.pop(key, None)
        self._pending.pop(key, None)

    def assign(self, key: str, value: Any) -> bool:
        """Put ``value`` into the state; ``False`` when the key's widget refuses it (buttons,
        uploaders, data editors)."""
        try:
            self.state[key] = value
        except self._refused:
            return False
        return True

    def put(self, key: str, value: Any, current: Mapping[Any, Any]) -> None:
        """Put ``value`` into the state as a delivery the browser has yet to show."""
        shown = current.get(key, MISSING)
        previous = self._pending.get(key)
        stale = [] if previous is None else [*previous.stale, previous.value]
        if shown is not MISSING and not same(shown, value):
            stale.append(shown)
        if self.assign(key, copy.deepcopy(value)):
            self._pending[key] = Delivery(copy.deepcopy(value), stale)

    def settle(self, reported: Mapping[str, Any] | None) -> None:
        """Compare what the browser sent with what the engine put into the state: a delivery
        it shows (or the user edited) is done; one it still shows the old value for is put in
        again. Without a browser view, the state itself is taken for what is shown.

        A widget not reported in this run is not on screen, but the state may still hold an
        old value the browser sent for it: a fragment's run (the live-update watcher's) takes
        the browser's values without passing through ``begin_run``. The delivery replaces it,
        so a later run never sends that old value back to the browser."""
        pending = self._pending
        if not pending:
            return
        current = as_plain_dict(self.state)
        shown_values = current if reported is None else reported
        for key in list(pending):
            delivery = pending[key]
            shown = shown_values.get(key, MISSING)
            on_screen = shown is not MISSING and shown is not UNREAD
            if delivery.is_stale(shown if on_screen else current.get(key, MISSING)):
                self.assign(key, copy.deepcopy(delivery.value))
            elif on_screen:
                del pending[key]  # it shows ours, or the user's own edit of it

    def resend_off_screen(self, current: Mapping[Any, Any], reported: Mapping[str, Any]) -> None:
        """A widget the browser did not report is not on its screen. Its value, put into the
        state again now, reaches the browser with the widget whichever run draws it first."""
        pending = self._pending
        for key, value in current.items():
            if key in reported or not self.is_persisted(key):
                continue
            default = self.browser.widget_default(key)
            if default is NO_WIDGET:
                pending.pop(key, None)  # no widget yet: Streamlit sends the value when one appears
            elif not same(value, default):
                self.assign(key, value)

    def restore_dropped(
        self, saved: Mapping[str, Any], current: Mapping[Any, Any], reported: Mapping[str, Any]
    ) -> None:
        """Put back what Streamlit dropped with an unrendered widget: the ``saved`` values
        missing from the state. A key the browser reported is on its screen: its widget
        brings the browser's value back this run (a tab reconnected to a new server reports
        values this server cannot read yet)."""
        for key, value in saved.items():
            if key not in current and key not in reported:
                self.put(key, value, current)

    def clear_keys_missing_from(
        self, incoming: Mapping[str, Any], current: Mapping[Any, Any]
    ) -> None:
        """Remove the previous process's keys that ``incoming`` does not set. A widget on
        screen is reset to its default instead: removing its key would leave the browser
        showing, and sending back, the previous process's value."""
        for key in [k for k in current if self.is_persisted(k) and k not in incoming]:
            default = self.browser.widget_default(key)
            if default is NO_WIDGET:
                self.remove(key)
            else:
                self.put(key, default, current)
