"""Migrations of saved state: when an app renames a key or changes a value's shape, the
processes saved before the change are carried forward, once each.

Each app declares its migrations in one place, beside it: ``apps/<app>/migrations.py`` (the
team's own) and ``apps/<app>/template_migrations.py`` (the template's, for its own pages:
a template release that reshapes a key ships the migration with the change). Each file has
``MIGRATIONS``, a list of ``Migration(name, function)``; a function takes a process's state
(every saved key, full session-state names) and returns the new state. Plain Python::

    def progress_as_percent(state: State) -> State:
        if "persist_progress" in state:
            state["persist_progress"] = round(state["persist_progress"] * 100)
        return state

    MIGRATIONS = [Migration("0001-progress-as-percent", progress_as_percent)]

A process records the migrations it has had, per app, in one reserved entry of its state
(``RECORD_KEY``; the sync engine never sees it), so the record is stored with the process
in every backend and travels with it through ``persist export`` / ``persist import``. A
process is migrated when it is read through ``MigratingStorage`` (what a session opens) or
by ``persist migrate``: the migrated keys and the new record are one conditional write
(``update_process(..., expected_revision=...)``), so two servers opening the same old
process at once apply each migration once. A migration that raises writes nothing
(``MigrationFailedError``); a record naming migrations this code does not know
(``NewerMigrationsError``: a newer release migrated it) is left alone.

Never remove or rename an entry once released: processes record it by name. A migration
whose work is done can become a function that returns the state as it is.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from persistence import codec
from persistence.errors import (
    CorruptProcessError,
    MigrationFailedError,
    NewerMigrationsError,
    PersistenceError,
    RevisionConflictError,
)
from persistence.history import is_history_key, without_history
from persistence.models import ProcessInfo, ProcessSnapshot, State
from persistence.storage.contract import StorageInterface
from persistence.storage.delegating import DelegatingStorage

log = logging.getLogger(__name__)
RECORD_KEY = "_persistence_migrations"
"""The reserved state entry holding ``{app: [migration names applied]}``."""

# The two files an app's migrations live in, in the order they apply: the template's
# (updated by ``copier update``, never edited by the team) and the team's own.
MIGRATION_FILES = ("template_migrations.py", "migrations.py")
# Conditional writes tried before giving up on a process that keeps changing meanwhile.
ATTEMPTS = 5
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Migration:
    """One named step: ``function`` takes a process's state and returns the new one."""

    name: str
    function: Callable[[State], State]


@dataclass(frozen=True)
class AppMigrations:
    """The ordered migrations of one app (``app``: its folder's name under ``apps/``)."""

    app: str
    migrations: tuple[Migration, ...] = ()
    names: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [migration.name for migration in self.migrations]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates or not all(isinstance(name, str) and name for name in names):
            raise ValueError(f"migration names must be distinct, non-empty text: {duplicates}")
        object.__setattr__(self, "names", names)


@dataclass(frozen=True)
class Plan:
    """What migrating one process does: the pending migrations, and the keys they change."""

    process: str
    app: str
    pending: list[str]
    state: State  # the migrated state, without the record
    changed: State
    removed: list[str]
    record: dict[str, list[str]]


_loaded: dict[tuple[Path, int], list[Migration]] = {}


def _load_file(path: Path) -> list[Migration]:
    """``MIGRATIONS`` of ``path``, loaded once per version of the file (one ``stat`` on
    every later call: an app calls this on every rerun)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _loaded:
        module_name = "_persistence_migrations_" + "_".join(path.with_suffix("").parts[-2:])
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None  # a .py file always has them
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found = getattr(module, "MIGRATIONS", None)
        if not isinstance(found, list | tuple) or not all(
            isinstance(item, Migration) for item in found
        ):
            raise TypeError(f"{path} must define MIGRATIONS, a list of Migration(name, function)")
        _loaded[key] = list(found)
    return _loaded[key]


def load_migrations(folder: str | Path) -> AppMigrations:
    """The migrations of the app in ``folder`` (``apps/<app>``): its template's, then its own."""
    folder = Path(folder)
    migrations: list[Migration] = []
    for file_name in MIGRATION_FILES:
        path = folder / file_name
        if path.is_file():
            migrations += _load_file(path)
    return AppMigrations(folder.name, tuple(migrations))


def project_migrations(apps_folder: Path) -> list[AppMigrations]:
    """The migrations of every app in ``apps_folder`` (a project's ``apps/``) that has some."""
    apps = sorted(path for path in apps_folder.glob("*") if path.is_dir())
    found = [load_migrations(app) for app in apps]
    return [app for app in found if app.migrations]


def _record(name: str, state: Mapping[str, Any]) -> dict[str, list[str]]:
    record = state.get(RECORD_KEY, {})
    if not isinstance(record, dict) or not all(
        isinstance(entry, list) and all(isinstance(item, str) for item in entry)
        for entry in record.values()
    ):
        raise CorruptProcessError(name, f"its migration record ({RECORD_KEY}) is damaged")
    return record


def plan_migration(name: str, state: Mapping[str, Any], app: AppMigrations) -> Plan | None:
    """What migrating process ``name`` (holding ``state``) to ``app``'s migrations does;
    ``None`` when it has had them all. Applies nothing to storage.

    Raises ``NewerMigrationsError`` for a record naming migrations ``app`` does not know,
    ``MigrationFailedError`` for a migration that raises or makes a value that cannot be
    stored."""
    record = _record(name, state)
    applied = record.get(app.app, [])
    if applied == app.names:  # the common case, and all an up-to-date process costs
        return None
    done = set(applied)
    unknown = [migration for migration in applied if migration not in app.names]
    if unknown:
        raise NewerMigrationsError(name, unknown)
    pending = [migration for migration in app.migrations if migration.name not in done]
    if not pending:
        return None  # all applied, recorded in another order
    original = {key: value for key, value in state.items() if key != RECORD_KEY}
    work, touched = copy.deepcopy(original), {}
    for migration in pending:
        before = copy.deepcopy(work)
        try:
            result = migration.function(work)
            if not isinstance(result, dict) or not all(isinstance(key, str) for key in result):
                raise TypeError(f"it returned {type(result).__name__}, not a dict of str keys")
            if RECORD_KEY in result:
                raise ValueError(f"{RECORD_KEY!r} is reserved")
        except Exception as error:  # any error of app code fails the migration
            raise MigrationFailedError(name, migration.name, _describe(error)) from error
        for key, value in result.items():
            if not codec.same_value(before.get(key, _MISSING), value):
                touched[key] = migration.name
        work = result
    changed = {
        key: value
        for key, value in work.items()
        if not codec.same_value(original.get(key, _MISSING), value)
    }
    for key, value in changed.items():
        try:
            codec.encode(key, value)
        except PersistenceError as error:
            raise MigrationFailedError(
                name, touched.get(key, pending[-1].name), str(error)
            ) from None
    return Plan(
        process=name,
        app=app.app,
        pending=[migration.name for migration in pending],
        state=work,
        changed=changed,
        removed=[key for key in original if key not in work],
        record={**record, app.app: [*applied, *(migration.name for migration in pending)]},
    )


def _describe(error: Exception) -> str:
    text = str(error)
    return type(error).__name__ + (f": {text}" if text else "")


def _without_record(snapshot: ProcessSnapshot) -> ProcessSnapshot:
    if RECORD_KEY not in snapshot.state:
        return snapshot
    state = {key: value for key, value in snapshot.state.items() if key != RECORD_KEY}
    return replace(snapshot, state=state)


def migrate_process(
    store: StorageInterface, name: str, app: AppMigrations, *, dry_run: bool = False
) -> tuple[ProcessSnapshot | None, Plan | None]:
    """Read process ``name`` and migrate it, once: ``(snapshot, plan)``, the snapshot as it
    is now (migrated, without the record, with the change entries; ``None`` when there is
    no such process) and what was applied (``None``: nothing to do). With ``dry_run``,
    nothing is written and the snapshot is the stored one.

    The migrated keys and the record are one write conditional on the revision that was
    read: when another server wrote meanwhile (migrating it too, say), the process is read
    and planned again, so no migration is applied twice."""
    expected = None
    for _ in range(ATTEMPTS):
        snapshot = store.read_process(name, with_history=True)
        if snapshot is None:
            return None, None
        expected = snapshot.revision
        # Migrations see the app's keys: the change entries are kept as they are.
        entries = {key: value for key, value in snapshot.state.items() if is_history_key(key)}
        app_state = without_history(snapshot).state
        plan = plan_migration(name, app_state, app)
        if plan is None or dry_run:
            return _without_record(snapshot), plan
        try:
            revision = store.update_process(
                name,
                {**plan.changed, RECORD_KEY: plan.record},
                plan.removed,
                expected_revision=snapshot.revision,
            )
        except RevisionConflictError:
            continue
        log.info("Migrated process %r of %s: %s", name, app.app, describe_plan(plan))
        return replace(snapshot, state={**plan.state, **entries}, revision=revision), plan
    raise RevisionConflictError(name, expected or 0)


class MigratingStorage(DelegatingStorage):
    """A store whose reads migrate what they read (the sessions' store): a process is
    migrated when it is opened. The per-rerun revision check passes straight through; an
    up-to-date process costs one comparison when it is read."""

    def __init__(self, inner: StorageInterface, app: AppMigrations) -> None:
        super().__init__(inner)
        self.app = app

    def _read_stored(self, name: str) -> ProcessSnapshot | None:
        try:
            snapshot, _ = migrate_process(self.inner, name, self.app)
        except (MigrationFailedError, NewerMigrationsError) as error:
            log.warning("Process %r of %s was left as it was: %s", name, self.app.app, error)
            raise
        return snapshot

    # ``copy_process`` is the inner store's: a copy is what is stored, with every app's
    # record of the migrations it had (a read here would keep only this app's).

    def create_process(self, name: str) -> ProcessInfo:
        """A new process is made by today's code: it records every migration as had."""
        info = self.inner.create_process(name)
        if self.app.names:
            self.inner.update_process(name, {RECORD_KEY: {self.app.app: self.app.names}})
        return info


def describe_plan(plan: Plan) -> str:
    """``plan`` in one line for ``persist migrate``: the migrations and the keys they touch."""
    keys = [f"~{key}" for key in plan.changed] + [f"-{key}" for key in plan.removed]
    return f"{', '.join(plan.pending)} ({' '.join(keys) or 'no key changes'})"


def migrate_all(
    store: StorageInterface, apps: Sequence[AppMigrations], *, dry_run: bool = False
) -> list[tuple[str, str, Plan | PersistenceError | None]]:
    """Every process migrated to every app's migrations: ``(process, app, outcome)``; an
    error (a failing migration, a newer record) leaves that process as it was and the
    others go on."""
    outcomes: list[tuple[str, str, Plan | PersistenceError | None]] = []
    for info in store.list_processes():
        for app in apps:
            try:
                _, plan = migrate_process(store, info.name, app, dry_run=dry_run)
            except (
                MigrationFailedError,
                NewerMigrationsError,
                CorruptProcessError,
                RevisionConflictError,
            ) as error:
                outcomes.append((info.name, app.app, error))
            else:
                outcomes.append((info.name, app.app, plan))
    return outcomes
