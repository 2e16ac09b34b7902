"""`make demo`: render the template with default answers into build/demo, cleanly."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from render import render

REDIS_URL = "redis://localhost:6379/0"
POSTGRES_URL = "postgresql://postgres@localhost:5432/postgres"


def redis_answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 6379), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def postgres_answers(url: str) -> bool:
    """Whether a PostgreSQL server listens where ``url`` points (a TCP connect suffices)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 5432), 1):
            return True
    except OSError:
        return False


# Backends that need a server: its name, where the demo expects it, how to tell it answers.
SERVERS = {
    "redis": ("Redis", REDIS_URL, redis_answers, "redis-server --daemonize yes"),
    "postgres": ("PostgreSQL", POSTGRES_URL, postgres_answers, "pg_ctlcluster 15 main start"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--backend", choices=["json", "sqlite", "redis", "postgres"], default="json"
    )
    parser.add_argument("--dest", type=Path, default=Path("build/demo"))
    args = parser.parse_args()
    if args.backend in SERVERS:
        name, url, answers, hint = SERVERS[args.backend]
        if not answers(url):
            print(
                f"make demo BACKEND={args.backend} needs a {name} server at {url}; none "
                f"answers.\nStart one (e.g. `{hint}`) and run it again.",
                file=sys.stderr,
            )
            return 1
    render(args.dest, backend=args.backend)
    print(f"Rendered the template ({args.backend} backend) into {args.dest}")
    print("Starting the app on http://localhost:8501 (Ctrl+C stops it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
