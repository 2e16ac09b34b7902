"""This app's migrations of saved state (see ``persistence.migrations``).

An earlier version of this page kept its text box under ``note`` and the counter as text.
Processes saved by it open with the text under ``comment`` and the counter as a number:
each function gets a process's saved state and returns the new one, once per process.
"""

from persistence import Migration, State, get_settings

PREFIX = get_settings().key_prefix
NOTE, COMMENT, COUNTER = PREFIX + "note", PREFIX + "comment", PREFIX + "counter"


def note_is_comment(state: State) -> State:
    """Rename a key: the value moves, the old key goes."""
    if NOTE in state:
        state[COMMENT] = state.pop(NOTE)
    return state


def counter_is_a_number(state: State) -> State:
    """Change a value's type: "3" becomes 3 (text that is no number starts again at 0)."""
    value = state.get(COUNTER)
    if isinstance(value, str):
        state[COUNTER] = int(value) if value.strip().isdigit() else 0
    return state


MIGRATIONS = [
    Migration("0001-note-is-comment", note_is_comment),
    Migration("0002-counter-is-a-number", counter_is_a_number),
]
