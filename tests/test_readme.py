"""The generated README says the same thing in English and Japanese.

`template/README.md.jinja` writes its structure once and picks only the prose by
`ui_language`. These tests render both languages with the same answers and compare what
must not drift: the headings (count and levels), the code blocks (commands and code, with
comments, `<placeholders>` and widget labels left out), the inline code of each section,
and the tables' shapes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_copie.plugin import Copie

from conftest import DEFAULT_PREFIX, render_combination

# Between them, these cover every branch of the README's conditionals.
COMBINATIONS = [
    ("json", True, "per_user"),
    ("sqlite", False, "shared"),
    ("redis", True, "shared"),
    ("postgres", False, "per_user"),
]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^(#{1,6}) (.*)$")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
PLACEHOLDER = re.compile(r"<[^<>\s]+>")  # <name>, <名前>
COMMENT = re.compile(r"(^|\s+)#(?!!).*$")  # a shell or Python comment, not `#!`
WIDGET_LABEL = re.compile(r'(\bst\.\w+\()"[^"]*"')  # the label, first argument of a widget
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(
    scope="module",
    params=COMBINATIONS,
    ids=[f"backend={b}-sample={'yes' if s else 'no'}-scope={c}" for b, s, c in COMBINATIONS],
)
def readmes(request: pytest.FixtureRequest, copie_session: Copie) -> dict[str, str]:
    # pytest-copie's session-wide `copie`: this fixture is module-scoped, `copie` is not.
    backend, sample, scope = request.param
    texts = {}
    for language in ("en", "ja"):
        project = render_combination(
            copie_session, backend, sample, language, scope, DEFAULT_PREFIX
        )
        texts[language] = (project / "README.md").read_text(encoding="utf-8")
    return texts


def code_blocks(markdown: str) -> list[tuple[str, list[str]]]:
    """Each fenced block: its info string and its lines without comments, placeholders or
    widget labels (the parts that are written in the reader's language)."""
    blocks = []
    for info, body in FENCE.findall(markdown):
        lines = []
        for line in body.splitlines():
            line = WIDGET_LABEL.sub(r'\1"…"', PLACEHOLDER.sub("<…>", COMMENT.sub("", line)))
            if line.strip():
                lines.append(line.rstrip())
        blocks.append((info.strip(), lines))
    return blocks


def sections(markdown: str) -> list[tuple[int, list[str], set[str]]]:
    """Each section outside code blocks: heading level, the heading's inline code, and the
    inline code of its body (placeholders masked)."""
    found: list[tuple[int, list[str], set[str]]] = [(0, [], set())]
    for line in FENCE.sub("", markdown).splitlines():
        spans = [PLACEHOLDER.sub("<…>", span) for span in CODE_SPAN.findall(line)]
        heading = HEADING.match(line)
        if heading:
            found.append((len(heading.group(1)), spans, set()))
        else:
            found[-1][2].update(spans)
    return found


def tables(markdown: str) -> list[tuple[int, int]]:
    """Each table as (rows, columns)."""
    shapes: list[tuple[int, int]] = []
    previous_was_row = False
    for line in FENCE.sub("", markdown).splitlines():
        is_row = line.startswith("|")
        if is_row and not previous_was_row:
            shapes.append((0, line.count("|") - 1))
        if is_row:
            shapes[-1] = (shapes[-1][0] + 1, shapes[-1][1])
        previous_was_row = is_row
    return shapes


def test_each_readme_is_in_its_language(readmes: dict[str, str]) -> None:
    assert not JAPANESE.search(readmes["en"]), JAPANESE.search(readmes["en"])
    assert JAPANESE.search(readmes["ja"])


def test_both_languages_have_the_same_headings(readmes: dict[str, str]) -> None:
    english, japanese = (sections(readmes[language]) for language in ("en", "ja"))
    assert [level for level, _, _ in english] == [level for level, _, _ in japanese]
    assert [code for _, code, _ in english] == [code for _, code, _ in japanese]
    assert len(english) > 5


def test_both_languages_have_the_same_commands_and_code(readmes: dict[str, str]) -> None:
    english, japanese = code_blocks(readmes["en"]), code_blocks(readmes["ja"])
    assert english == japanese
    commands = [line for info, lines in english if info == "sh" for line in lines]
    assert "make run-main" in commands and "uv run persist list" in commands


def test_each_section_mentions_the_same_code(readmes: dict[str, str]) -> None:
    english, japanese = sections(readmes["en"]), sections(readmes["ja"])
    for (level, heading, en_code), (_, _, ja_code) in zip(english, japanese, strict=True):
        assert en_code == ja_code, (level, heading, en_code ^ ja_code)


def test_both_languages_have_the_same_tables(readmes: dict[str, str]) -> None:
    assert tables(readmes["en"]) == tables(readmes["ja"])
    assert tables(readmes["en"])


def test_the_helpers_see_what_differs() -> None:
    """The comparisons above are only as good as these parsers: they must notice a change."""
    base = "# T\n\n## A\n\n```sh\nmake test  # run\n```\n\nUse `x`.\n\n| a | b |\n|---|---|\n"
    assert code_blocks(base) == code_blocks(base.replace("# run", "# 実行"))
    assert code_blocks(base) != code_blocks(base.replace("make test", "make check"))
    assert sections(base) != sections(base.replace("## A", "### A"))
    assert sections(base) != sections(base.replace("`x`", "`y`"))
    assert tables(base) != tables(base + "| c | d |\n")


def test_the_template_has_one_structure() -> None:
    """No whole-document language branch: the conditionals on answers appear once."""
    template = (Path(__file__).resolve().parents[1] / "template" / "README.md.jinja").read_text()
    for condition in ("include_sample_app", "process_scope == 'per_user'", "backend == 'json'"):
        assert template.count(condition) == 1, condition
