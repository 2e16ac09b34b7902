"""``persist``: list, show, history, copy, delete, purge, export and import processes from
a shell, and ``ping`` the store (a readiness check).

Uses the same settings as the app (``PERSIST_STORAGE_URL`` ...), so operators and scripts
see exactly what the app sees. Every failure is one line on stderr and an exit status
(``EXIT_CODES``), never a traceback; the persistence layer's own log lines
(``persistence.logs``) show from warnings up, and the database client's pool says nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, NoReturn, TextIO

from persistence import codec, settings
from persistence.errors import (
    CorruptProcessError,
    InvalidProcessNameError,
    PersistenceError,
    ProcessNotFoundError,
    StorageUnavailableError,
    UnsupportedFormatError,
)
from persistence.health import DEFAULT_TIMEOUT, touch, within
from persistence.history import Change, HistoryStore
from persistence.logs import configure_logging
from persistence.migrations import describe_plan, migrate_all, project_migrations
from persistence.models import ProcessRecord
from persistence.names import validate_process_name
from persistence.settings import get_settings
from persistence.storage import StorageInterface, open_storage

EXPORT_FORMAT = "streamlit-persist-export"
EXPORT_VERSION = 1

# The exit statuses, as the generated README's table documents them.
EXIT_OK, EXIT_NOT_FOUND, EXIT_DATA, EXIT_UNAVAILABLE = 0, 1, 2, 3
EXIT_MIGRATION, EXIT_INCOMPLETE = 4, 5
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_NOT_FOUND: "process not found (show, history, copy, delete)",
    EXIT_DATA: "usage or data error: a bad argument, setting or storage URL, an export file "
    "that cannot be imported (nothing is imported), a corrupt process",
    EXIT_UNAVAILABLE: "storage unavailable: the server cannot be reached or refuses the "
    "credentials, the database is locked, the data folder cannot be written; for ping: no "
    "answer within --timeout",
    EXIT_MIGRATION: "migrate: a process was left as it was (a migration failed, or newer code "
    "migrated it); the others were migrated",
    EXIT_INCOMPLETE: "export incomplete: every readable process was exported, each "
    "unreadable one is named on stderr (export --strict exits 2 instead)",
}

DESCRIPTION = """\
List, show, history, copy, delete, purge, export and import the processes of this project's storage.

The command uses the app's settings: PERSIST_STORAGE_URL and the other PERSIST_* variables,
then the [persistence] table of .streamlit/secrets.toml, then defaults.toml. A relative
path in a storage URL (json:///data/processes, sqlite:///data/state.db) is relative to the
project root, wherever the command is started from."""


def _epilog() -> str:
    lines = [f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items()]
    return "exit status:\n" + "\n".join(lines)


def export_document(store: StorageInterface, *, history: bool = True) -> dict[str, Any]:
    """Every process as one backend-neutral, versioned document; ``CorruptProcessError``
    for the first process that cannot be read."""
    document, _ = export_readable(store, strict=True, history=history)
    return document


def export_readable(
    store: StorageInterface, *, strict: bool = False, history: bool = True
) -> tuple[dict[str, Any], list[CorruptProcessError]]:
    """Every readable process as one backend-neutral, versioned document, and why each
    other one cannot be read (``strict``: raise the first of those instead). One bad record
    must not stop the backup of all the others. ``history``: with each process's change
    entries (keys of its state, as stored), which an import then writes back."""
    processes = []
    unreadable: list[CorruptProcessError] = []
    for info in store.list_processes():
        try:
            snapshot = store.read_process(info.name, with_history=history)
        except CorruptProcessError as error:
            if strict:
                raise
            unreadable.append(error)
            continue
        if snapshot is not None:
            processes.append(
                {
                    "name": snapshot.name,
                    "updated_at": snapshot.updated_at.isoformat(),
                    "state": codec.to_jsonable(snapshot.state),
                }
            )
    document = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "processes": processes}
    return document, unreadable


def _kind(value: object) -> str:
    """How a JSON value is called in a message."""
    kinds = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    return kinds.get(type(value), "a number" if isinstance(value, int | float) else "?")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_export(
    document: Any, *, max_value_bytes: int | None = None, max_process_bytes: int | None = None
) -> list[ProcessRecord]:
    """Check a whole export before anything is written: ``UnsupportedFormatError`` names
    the first problem (``processes[2] ('Q1'): ...``). A value or process over the app's
    limits (default: the settings' ``max_value_bytes``, ``max_process_bytes``) is one: the
    app could not save such a process again."""
    if max_value_bytes is None or max_process_bytes is None:
        configured = get_settings()
        max_value_bytes = max_value_bytes or configured.max_value_bytes
        max_process_bytes = max_process_bytes or configured.max_process_bytes
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise UnsupportedFormatError(f'This is not a {EXPORT_FORMAT} file (see its "format").')
    version = document.get("version")
    if type(version) is not int or version < 1:
        raise UnsupportedFormatError(
            f"This export has format version {version!r}; versions are whole numbers from 1."
        )
    if version > EXPORT_VERSION:
        raise UnsupportedFormatError(
            f"This export has format version {version}; this release reads up to "
            f"{EXPORT_VERSION}. Update the project (copier update) and try again."
        )
    processes = document.get("processes")
    if not isinstance(processes, list):
        raise UnsupportedFormatError(f'"processes" must be a list, not {_kind(processes)}.')
    records: list[ProcessRecord] = []
    seen: set[str] = set()
    for index, entry in enumerate(processes):
        where = f"processes[{index}]"
        if not isinstance(entry, dict):
            raise UnsupportedFormatError(f"{where} must be an object, not {_kind(entry)}.")
        if "name" not in entry:
            raise UnsupportedFormatError(f'{where} has no "name".')
        try:
            name = validate_process_name(entry["name"])
        except InvalidProcessNameError as error:
            raise UnsupportedFormatError(f"{where}: {error}") from None
        where = f"{where} ({name!r})"
        if name in seen:
            raise UnsupportedFormatError(f"{where}: the name appears twice in the file.")
        seen.add(name)
        state = _parse_state(where, entry.get("state"), max_value_bytes, max_process_bytes)
        records.append(ProcessRecord(name, state, _parse_time(where, entry)))
    return records


def _parse_state(
    where: str, state: object, max_value_bytes: int, max_process_bytes: int
) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise UnsupportedFormatError(f'{where}: "state" must be an object, not {_kind(state)}.')
    values: dict[str, Any] = {}
    total = 0
    for key, stored in state.items():
        try:
            values[key] = value = codec.from_jsonable(stored)
            # A value the store would refuse fails the whole file; measured as the app does.
            size = codec.encode_once(key, value).size
        except (ValueError, TypeError, RecursionError) as error:
            detail = error if isinstance(error, PersistenceError) else f"{key!r}: {error}"
            raise UnsupportedFormatError(f"{where}: a value cannot be read: {detail}") from None
        if size > max_value_bytes:
            raise UnsupportedFormatError(
                f"{where}: {key!r} takes {size:,} bytes, over the limit of "
                f"{max_value_bytes:,} bytes for one value (max_value_bytes)."
            )
        total += size
    if total > max_process_bytes:
        raise UnsupportedFormatError(
            f"{where}: the process takes {total:,} bytes, over the limit of "
            f"{max_process_bytes:,} bytes (max_process_bytes)."
        )
    return values


def _parse_time(where: str, entry: dict[str, Any]) -> datetime | None:
    """The exported last update (kept on import), or ``None`` (now) when there is none."""
    raw = entry.get("updated_at")
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        if moment is not None and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise UnsupportedFormatError(
        f'{where}: "updated_at" must be an ISO 8601 date and time with a UTC offset, '
        f"like 2025-01-06T09:30:00+00:00, not {_short(raw)}."
    )


def import_document(store: StorageInterface, document: Any) -> list[str]:
    """Write every process of an export, all or none; return the names written.

    The whole document is checked first, then written in one step of the store
    (``import_processes``): a bad file or a failed write leaves the store as it was. Each
    process keeps its exported last update; one already past the retention window is not
    imported. Importing the same file twice changes nothing more.
    """
    return store.import_processes(parse_export(document))


def read_document(file: str) -> Any:
    """The JSON document in ``file`` (``-``: stdin); ``UnsupportedFormatError`` says why not."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        return json.loads(data)
    except OSError as error:
        raise UnsupportedFormatError(f"Cannot read {file}: {error.strerror or error}.") from None
    except UnicodeDecodeError:
        raise UnsupportedFormatError(f"{file} is not UTF-8 text.") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError, too deep, too long
        raise UnsupportedFormatError(f"{file} is not valid JSON: {error}") from None


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _readable(value: object) -> Any:
    """``json.dumps`` fallback for ``show``: dates and times as ISO text (tuples are lists);
    tables and bytes as the export holds them (columns with their dtypes, base64)."""
    if isinstance(value, date | time):
        return value.isoformat()
    return codec.to_jsonable(value)


def _command_list(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    for info in store.list_processes():
        out.write(f"{info.updated_at.astimezone().isoformat(timespec='seconds')}\t{info.name}\n")
    return EXIT_OK


def _command_show(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    snapshot = store.read_process(args.name)
    if snapshot is None:
        raise ProcessNotFoundError(args.name)
    if args.exact:
        _print_json(codec.to_jsonable(snapshot.state), out)
    else:
        text = json.dumps(snapshot.state, ensure_ascii=False, indent=2, default=_readable)
        out.write(text + "\n")
    return EXIT_OK


def _command_copy(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    store.copy_process(args.source, args.target)
    out.write(f"copied {args.source} to {args.target}\n")
    return EXIT_OK


def _command_history(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    if not store.process_exists(args.name):
        raise ProcessNotFoundError(args.name)
    changes = HistoryStore(store, get_settings().history).changes(args.name)
    if args.json:
        _print_json([describe_change(change) for change in changes], out)
        return EXIT_OK
    for change in changes:
        when = change.at.astimezone().isoformat(timespec="seconds")
        out.write(f"{when}\t{change.by}\t{change.kind}\t{', '.join(change.keys)}\t{change.id}\n")
    return EXIT_OK


def describe_change(change: Change) -> dict[str, Any]:
    """One change entry for ``persist history --json``: what the sidebar lists."""
    return {
        "id": change.id,
        "at": change.at.isoformat(),
        "by": change.by,
        "kind": change.kind,
        "keys": change.keys,
    }


def _command_delete(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    if not store.delete_process(args.name):
        raise ProcessNotFoundError(args.name)
    out.write(f"deleted {args.name}\n")
    return EXIT_OK


def _command_purge(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    purged = store.purge_expired()
    for name in purged:
        out.write(f"purged {name}\n")
    out.write(f"{len(purged)} expired process(es) purged\n")
    return EXIT_OK


def _command_export(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    document, unreadable = export_readable(store, strict=args.strict, history=not args.no_history)
    _print_json(document, out)
    for error in unreadable:  # one line each, as every message of the command
        print(f"persist: not exported: {' '.join(str(error).splitlines())}", file=sys.stderr)
    return EXIT_INCOMPLETE if unreadable else EXIT_OK


def _command_import(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    records = args.records
    written = set(store.import_processes(records))
    for record in records:
        if record.name not in written:
            out.write(f"skipped {record.name}: last updated past the retention window\n")
    out.write(f"imported {len(written)} process(es)\n")
    return EXIT_OK


def _command_migrate(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    """Every process of every app's migrations (``apps/*/migrations.py`` and
    ``template_migrations.py``), one line per process changed or left as it was."""
    apps = project_migrations(Path(args.apps) if args.apps else settings.project_root() / "apps")
    verb = "would migrate" if args.dry_run else "migrated"
    status, changed = EXIT_OK, 0
    for process, app, outcome in migrate_all(store, apps, dry_run=args.dry_run):
        if isinstance(outcome, PersistenceError):
            status = EXIT_MIGRATION
            out.write(f"left {process} ({app}) as it was: {outcome}\n")
        elif outcome is not None:
            changed += 1
            out.write(f"{verb} {process} ({app}): {describe_plan(outcome)}\n")
    failed = " (see the lines above: some were left as they were)" if status else ""
    out.write(f"{changed} process(es) {verb}{failed}\n")
    return status


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A usage error is one line too (argparse prints the usage first): exit 2."""
        self.exit(EXIT_DATA, f"persist: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="persist",
        description=DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url", help="storage URL (default: PERSIST_STORAGE_URL, else the project's settings)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("list", help="processes, most recently updated first").set_defaults(
        run=_command_list
    )
    show = commands.add_parser(
        "show",
        help="one process's saved state as JSON",
        description="One process's saved state as JSON. Dates and times are shown as ISO "
        "text and tuples as lists; --exact shows the values as an export holds them.",
    )
    show.add_argument("name")
    show.add_argument(
        "--exact",
        action="store_true",
        help='the lossless encoding of an export: dates, times and tuples as {"$type": '
        '"date", "v": "2025-01-31"}, so that they come back as the same Python types',
    )
    show.set_defaults(run=_command_show)
    copy = commands.add_parser(
        "copy",
        help="copy one process under a new name",
        description="Create TARGET holding everything saved in SOURCE (tables and files "
        "included), with its own retention clock. A TARGET that exists is left as it is "
        f"(exit {EXIT_DATA}).",
    )
    copy.add_argument("source")
    copy.add_argument("target")
    copy.set_defaults(run=_command_copy)
    history = commands.add_parser(
        "history",
        help="one process's latest changes, newest first",
        description="One process's change history, newest first: when, who, what kind of "
        "change (save, undo, restore), which keys, and the change's id (tab-separated).",
    )
    history.add_argument("name")
    history.add_argument("--json", action="store_true", help="as a JSON list")
    history.set_defaults(run=_command_history)
    delete = commands.add_parser("delete", help="delete one process")
    delete.add_argument("name")
    delete.set_defaults(run=_command_delete)
    commands.add_parser(
        "purge", help="delete processes older than the retention window"
    ).set_defaults(run=_command_purge)
    export = commands.add_parser(
        "export",
        help="every process as one JSON document on stdout",
        description="Every readable process as one JSON document on stdout. A process "
        "that cannot be read is named on stderr and the exit status is "
        f"{EXIT_INCOMPLETE}; --strict exits {EXIT_DATA} with nothing exported instead.",
    )
    export.add_argument(
        "--no-history",
        action="store_true",
        help="leave out each process's change history (kept by default; import writes it back)",
    )
    export.add_argument(
        "--strict",
        action="store_true",
        help=f"export nothing and exit {EXIT_DATA} when one process cannot be read",
    )
    export.set_defaults(run=_command_export)
    load = commands.add_parser(
        "import",
        help="write the processes of an export (file or -), all or none",
        description="Write the processes of an export, replacing processes of the same name. "
        "The whole file is checked first and written in one step: on any error nothing is "
        "imported, also when a value or a process is over the app's limits (max_value_bytes, "
        "max_process_bytes). Each process keeps its exported last update; one past the "
        "retention window is skipped.",
    )
    load.add_argument("file", help="the export file, or - for stdin")
    load.set_defaults(run=_command_import)
    ping = commands.add_parser(
        "ping",
        help="whether the store answers (a readiness check): exit 0 or 3",
        description="Read one key of the store within --timeout seconds: exit 0 when it "
        "answers, 3 when it is unreachable or too slow, 2 for a bad setting or URL. For "
        "health checks (Docker, compose); prints nothing when the store answers.",
    )
    ping.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds")
    migrate = commands.add_parser(
        "migrate",
        help="apply the apps' migrations of saved state to every process",
        description="Apply every app's migrations (apps/<app>/migrations.py and "
        "template_migrations.py) to every process that has not had them. A process whose "
        "migration fails, or that newer code migrated, is left as it was (exit status 4); "
        "the others go on.",
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="list what would change, write nothing"
    )
    migrate.add_argument("--apps", help="the folder of the apps (default: the project's apps/)")
    migrate.set_defaults(run=_command_migrate)
    return parser


def _ping(url: str | None, timeout: float) -> int:
    """Open, touch and close the store, all within ``timeout`` (opening a server's pool can
    block too)."""

    def probe() -> None:
        store = open_storage(url)
        try:
            touch(store)
        finally:
            store.close()

    error = within(probe, timeout).error
    if error is None:
        return EXIT_OK
    detail = " ".join(str(error).splitlines())
    if isinstance(error, PersistenceError) and not isinstance(error, StorageUnavailableError):
        return _fail(EXIT_DATA, detail)
    return _fail(EXIT_UNAVAILABLE, detail)


def _fail(status: int, message: str) -> int:
    print("persist: " + " ".join(message.splitlines()), file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)  # a usage error exits 2 with argparse's message
    out = out or sys.stdout
    try:
        configure_logging(logging.WARNING)  # a command's output is its own; warnings only
    except PersistenceError as error:  # a setting that cannot be read
        return _fail(EXIT_DATA, str(error))
    if args.command == "ping":
        return _ping(args.url, args.timeout)
    try:
        if args.command == "import":  # the whole file is checked before storage is opened
            args.records = parse_export(read_document(args.file))
        store = open_storage(args.url)
        try:
            status: int = args.run(store, args, out)
        finally:
            store.close()
    except ProcessNotFoundError as error:
        return _fail(EXIT_NOT_FOUND, str(error))
    except StorageUnavailableError as error:
        return _fail(EXIT_UNAVAILABLE, str(error))
    except PersistenceError as error:
        return _fail(EXIT_DATA, str(error))
    except UnicodeEncodeError as error:  # a stored text no UTF-8 output can hold
        return _fail(EXIT_DATA, f"A stored value cannot be written out as UTF-8: {error}")
    except OSError as error:  # the input was read before: this is the storage's medium
        return _fail(EXIT_UNAVAILABLE, f"Storage unavailable: {error}")
    return status


if __name__ == "__main__":
    sys.exit(main())
