"""Values that no longer fit: a saved value that today's widget cannot take (a slider whose
range was narrowed, a date saved as text ...) is withheld from it. The browser view checks it
as the widget registers and gives the widget its default, or what Streamlit makes of the value
(``BrowserView.guard``). The key is in ``status.misfit``, and what the widget got is not an
edit: the saved value stays as it is until the user changes the widget, then the edit is saved.

This module imports neither Streamlit nor the engine (``persistence.sync``), which uses it.
"""

from __future__ import annotations

import copy
from typing import Any

from persistence.deliveries import same


class Misfits:
    """The keys of the open process withheld from their widgets, and what each widget got."""

    def __init__(self, names: list[str]) -> None:
        self._given: dict[str, Any] = {}  # key -> what its widget got instead of the saved value
        self._names = names  # the status's ``misfit``: the keys the sidebar names

    def __contains__(self, key: str) -> bool:
        return key in self._given

    def __bool__(self) -> bool:
        return bool(self._given)

    def reset(self, names: list[str]) -> None:
        """Another process was opened: nothing is withheld; ``names`` is its status's list."""
        self._given = {}
        self._names = names

    def withhold(self, key: str, given: Any) -> None:
        """``key``'s saved value does not fit its widget, which got ``given`` instead."""
        self._given[key] = copy.deepcopy(given)
        if key not in self._names:
            self._names.append(key)

    def is_edited(self, key: str, value: Any) -> bool:
        """Whether ``key``, withheld from its widget, now holds something other than what the
        widget was given (the user's edit): then it is no misfit any more."""
        if same(value, self._given[key]):
            return False
        self.drop(key)
        return True

    def drop(self, key: str) -> None:
        """``key`` is no misfit any more."""
        self._given.pop(key, None)
        if key in self._names:
            self._names.remove(key)
