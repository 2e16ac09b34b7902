"""Every relative link in the template's own Markdown points to a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", REPO / "CONTRIBUTING.md", *(REPO / "docs").glob("*.md")])

# [text](target) and ![alt](target), with an optional "title"; reference definitions [x]: target.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # http:, mailto:, //host


def relative_targets(markdown: str) -> list[str]:
    """Link targets that name a file in this repository (anchors stripped)."""
    text = CODE_SPAN.sub("", FENCE.sub("", markdown))
    targets = INLINE_LINK.findall(text) + REFERENCE.findall(text)
    return [
        target.split("#", 1)[0]
        for target in targets
        if not EXTERNAL.match(target) and not target.startswith("#")
    ]


def test_the_documents_exist() -> None:
    names = {path.relative_to(REPO).as_posix() for path in DOCS}
    assert {"README.md", "CONTRIBUTING.md", "docs/index.md"} <= names


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.relative_to(REPO).as_posix())
def test_relative_links_point_to_existing_files(document: Path) -> None:
    broken = [
        target
        for target in relative_targets(document.read_text(encoding="utf-8"))
        if not (document.parent / target).exists()
    ]
    assert not broken, f"{document.relative_to(REPO)} links to missing files: {broken}"


def test_the_link_finder_sees_what_it_must() -> None:
    sample = (
        '[a](docs/a.md) [b](b.md#part) ![c](img/c.png "t") [d](https://x.y) [e](#top)\n'
        "[ref]: ../r.md\n`[f](not-a-link.md)`\n```\n[g](fenced.md)\n```\n"
    )
    assert relative_targets(sample) == ["docs/a.md", "b.md", "img/c.png", "../r.md"]
