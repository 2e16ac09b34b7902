"""Your migrations of saved state: one entry each time you rename a key of this app or
change the shape or type of its value, so that every process saved before opens in the new
shape (when opened, or all at once with ``persist migrate``).

Entries run in order, each once per process, after the template's own
(``template_migrations.py``). Never remove or rename an entry once it is deployed. See the
README's "Changing your app without losing saved work". For example::

    def rename_owner(state: State) -> State:
        if OWNER in state:
            state[persisted("responsible")] = state.pop(OWNER)
        return state

    MIGRATIONS = [Migration("0001-owner-is-responsible", rename_owner)]
"""

from persistence import Migration

MIGRATIONS: list[Migration] = []
