"""README's and DEVELOPERS.md's maps of ``plugins/gospublic/`` say what is there: each subpackage's
row names exactly its modules, and the ``cli.py`` row exactly the commands of
``python -m gospublic.cli``. A module or command added, renamed or removed without its row fails here.

A row's third cell names its modules (or commands) in backquotes; a note in parentheses after a
name may quote other things (tables, files, classes) and is not read as a list of names."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "plugins" / "gospublic"
DOCS = ("README.md", "DEVELOPERS.md")
HEADER = "| `plugins/gospublic/` | what runs | its modules |"
IMPLIED = {"steps", "results"}  # every pipeline has both, as the text under each table says


def package_map(doc: str) -> dict[str, str]:
    """``{first cell: third cell}`` of ``doc``'s table of ``plugins/gospublic/``."""
    lines = (PROJECT / doc).read_text(encoding="utf-8").splitlines()
    assert lines.count(HEADER) == 1, f"{doc}: one table headed {HEADER}"
    rows: dict[str, str] = {}
    for line in lines[lines.index(HEADER) + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 3, f"{doc}: a row of three cells: {line[:80]}"
        rows[cells[0].strip("`")] = cells[2]
    return rows


def named(cell: str) -> set[str]:
    """The backquoted names of a cell outside parentheses."""
    depth, outside = 0, []
    for char in cell:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            assert depth >= 0, f"unbalanced parentheses: {cell[:80]}"
        elif depth == 0:
            outside.append(char)
    assert depth == 0, f"unbalanced parentheses: {cell[:80]}"
    return set(re.findall(r"`([^`]+)`", "".join(outside)))


def subpackages() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())


def modules_of(subpackage: str) -> set[str]:
    """The modules and subpackages directly in ``gospublic.<subpackage>``, but its ``__init__``."""
    folder = PACKAGE / subpackage
    found = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    return found | {p.name for p in folder.iterdir() if (p / "__init__.py").exists()}


def cli_commands() -> set[str]:
    """The subcommands of the parser ``gospublic.cli.main`` builds (stopped before it parses)."""
    from gospublic import cli

    class BuiltError(Exception):
        """The parser, handed out instead of parsing."""

    def stop(parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise BuiltError(parser)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", stop)
        with pytest.raises(BuiltError) as built:
            cli.main([])
    parser = built.value.args[0]
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(commands.choices)


@pytest.mark.parametrize("doc", DOCS)
def test_the_package_map_has_a_row_per_subpackage_and_cli(doc: str) -> None:
    assert set(package_map(doc)) == {f"{name}/" for name in subpackages()} | {"cli.py"}


@pytest.mark.parametrize("doc", DOCS)
def test_each_row_names_exactly_the_modules_of_its_subpackage(doc: str) -> None:
    rows = package_map(doc)
    wrong: list[str] = []
    for name in subpackages():
        listed, existing = named(rows.get(f"{name}/", "")), modules_of(name)
        if listed - existing:
            wrong.append(f"{name}/ lists modules that do not exist: {sorted(listed - existing)}")
        if existing - listed - IMPLIED:
            wrong.append(f"{name}/ leaves out {sorted(existing - listed - IMPLIED)}")
    assert not wrong, f"{doc}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("doc", DOCS)
def test_the_cli_row_names_exactly_the_commands(doc: str) -> None:
    commands = cli_commands()
    assert {"migrate", "rate", "health"} <= commands  # the parser was read
    assert named(package_map(doc)["cli.py"]) == commands, doc
