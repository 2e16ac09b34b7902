"""``persist``: list, show, delete, purge, export and import processes from a shell.

Uses the same settings as the app (``PERSIST_STORAGE_URL`` ...), so operators and scripts
see exactly what the app sees. Exit status: 0 success, 1 not found, 2 usage or data error,
3 storage unavailable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from persistence import codec
from persistence.errors import (
    PersistenceError,
    ProcessNotFoundError,
    StorageUnavailableError,
    UnsupportedFormatError,
)
from persistence.storage import StorageInterface, open_storage

EXPORT_FORMAT = "streamlit-persist-export"
EXPORT_VERSION = 1


def export_document(store: StorageInterface) -> dict[str, Any]:
    """Every process as one backend-neutral, versioned document."""
    processes = []
    for info in store.list_processes():
        snapshot = store.read_process(info.name)
        if snapshot is not None:
            processes.append(
                {
                    "name": snapshot.name,
                    "updated_at": snapshot.updated_at.isoformat(),
                    "state": codec.to_jsonable(snapshot.state),
                }
            )
    return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "processes": processes}


def import_document(store: StorageInterface, document: Any) -> int:
    """Write every process of an export; importing the same file twice changes nothing more."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise UnsupportedFormatError(f"This is not a {EXPORT_FORMAT} file.")
    version = document.get("version")
    if not isinstance(version, int) or version > EXPORT_VERSION:
        raise UnsupportedFormatError(
            f"This export has format version {version!r}; this release reads up to "
            f"{EXPORT_VERSION}. Update the project (copier update) and try again."
        )
    processes = document.get("processes", [])
    for process in processes:
        store.save_process(process["name"], codec.from_jsonable(process["state"]))
    return len(processes)


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _command_list(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    for info in store.list_processes():
        out.write(f"{info.updated_at.astimezone().isoformat(timespec='seconds')}\t{info.name}\n")
    return 0


def _command_show(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    snapshot = store.read_process(args.name)
    if snapshot is None:
        raise ProcessNotFoundError(args.name)
    _print_json(codec.to_jsonable(snapshot.state), out)
    return 0


def _command_delete(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    if not store.delete_process(args.name):
        raise ProcessNotFoundError(args.name)
    out.write(f"deleted {args.name}\n")
    return 0


def _command_purge(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    purged = store.purge_expired()
    for name in purged:
        out.write(f"purged {name}\n")
    out.write(f"{len(purged)} expired process(es) purged\n")
    return 0


def _command_export(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    _print_json(export_document(store), out)
    return 0


def _command_import(store: StorageInterface, args: argparse.Namespace, out: TextIO) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnsupportedFormatError(f"{args.file} is not valid JSON: {error}") from None
    count = import_document(store, document)
    out.write(f"imported {count} process(es)\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="persist", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="storage URL (default: PERSIST_STORAGE_URL or the settings)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="processes, most recently updated first").set_defaults(
        run=_command_list
    )
    show = commands.add_parser("show", help="one process's saved state as JSON")
    show.add_argument("name")
    show.set_defaults(run=_command_show)
    delete = commands.add_parser("delete", help="delete one process")
    delete.add_argument("name")
    delete.set_defaults(run=_command_delete)
    commands.add_parser(
        "purge", help="delete processes older than the retention window"
    ).set_defaults(run=_command_purge)
    commands.add_parser("export", help="every process as one JSON document on stdout").set_defaults(
        run=_command_export
    )
    load = commands.add_parser("import", help="write the processes of an export (file or -)")
    load.add_argument("file")
    load.set_defaults(run=_command_import)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        store = open_storage(args.url)
        try:
            status: int = args.run(store, args, out)
        finally:
            store.close()
    except ProcessNotFoundError as error:
        print(f"persist: {error}", file=sys.stderr)
        return 1
    except StorageUnavailableError as error:
        print(f"persist: {error}", file=sys.stderr)
        return 3
    except (PersistenceError, OSError) as error:
        print(f"persist: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
