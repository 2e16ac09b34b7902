"""Fail when `copier update` left a merge behind: unmerged files or conflict markers.

`copier update` exits 0 even when it leaves `<<<<<<< before updating` markers, so run
`make check-update` (or the pre-commit hook) after every update.
"""

from __future__ import annotations

import re
import subprocess
import sys

MARKER = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout  # noqa: S603, S607


def main() -> int:
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
