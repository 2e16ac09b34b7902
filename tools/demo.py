"""`make demo`: render the template with default answers into build/demo, cleanly."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from render import BACKENDS, render


def server_answers(url: str) -> bool:
    """Whether a server listens where ``url`` points (a TCP connect suffices)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 0), 1):
            return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=list(BACKENDS), default="json")
    parser.add_argument("--dest", type=Path, default=Path("build/demo"))
    args = parser.parse_args()
    backend = BACKENDS[args.backend]
    # A backend that is a server: the demo expects it where the app looks by default.
    if backend["server"] and not server_answers(url := backend["default_url"]):
        print(
            f"make demo BACKEND={args.backend} needs a {backend['label']} server at {url}; "
            f"none answers.\nStart one (e.g. `{backend['server']['start']}`) and run it again.",
            file=sys.stderr,
        )
        return 1
    render(args.dest, backend=args.backend)
    print(f"Rendered the template ({args.backend} backend) into {args.dest}")
    print("Starting the app on http://localhost:8501 (Ctrl+C stops it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
