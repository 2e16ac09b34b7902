"""Fail when `copier update` left a merge behind: unmerged files or conflict markers.

`copier update` exits 0 even when it leaves `<<<<<<< before updating` markers, so run
`make check-update` (or the pre-commit hook) after every update. Exit status: 0 no
conflicts, 1 conflicts (listed), 2 nothing to check (not a git repository, no git).
"""

from __future__ import annotations

import re
import subprocess
import sys

MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)


NOT_A_REPOSITORY = (
    "This project is not a git repository yet, so there is no update to check. "
    "`copier update` needs one too: run `git init && git add -A && git commit -m "
    '"Generated project"` once, then `copier update`, then `make check-update`.'
)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout  # noqa: S603, S607


def in_a_repository() -> bool:
    try:
        return git("rev-parse", "--is-inside-work-tree").strip() == "true"
    except subprocess.CalledProcessError:
        return False


def main() -> int:
    try:
        if not in_a_repository():
            print(NOT_A_REPOSITORY, file=sys.stderr)
            return 2
        return report()
    except FileNotFoundError:
        print("make check-update needs git on PATH: install git, then try again.", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"git {' '.join(error.cmd[1:])} failed: {error.stderr.strip()}", file=sys.stderr)
        return 2


def report() -> int:
    unmerged = sorted({line.split("\t", 1)[1] for line in git("ls-files", "-u").splitlines()})
    files = git("ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    marked = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                if MARKER.search(handle.read()):
                    marked.append(path)
        except (OSError, UnicodeDecodeError):
            continue
    for path in unmerged:
        print(f"unmerged: {path}")
    for path in marked:
        print(f"conflict markers: {path}")
    if unmerged or marked:
        print("Resolve these conflicts (keep what you need), then commit.", file=sys.stderr)
        return 1
    print("No update conflicts.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
