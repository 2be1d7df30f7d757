"""The locks are complete and hashed, and every install verifies them.

`requirements.txt` (runtime) and `requirements-dev.txt` (tests, tooling) come from `make lock`
(`uv pip compile --generate-hashes`): each requirement is pinned with `==` and carries the sha256
of every file the index offers for that release, so a replaced or tampered archive fails the
install instead of reaching production. The image installs with `pip --require-hashes`; `make venv`
installs with `uv pip sync`, which verifies the hashes whenever the requirements carry them.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
LOCKS = ("requirements.txt", "requirements-dev.txt")
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}\b")


def requirements(lock: str) -> list[str]:
    """The lock's requirements, each joined with its continuation lines (comments dropped)."""
    joined: list[str] = []
    current = ""
    for raw in (PROJECT / lock).read_text().splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            joined.append(current.strip())
            current = ""
    assert not current, f"{lock} ends in a continuation line"
    return joined


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_pinned_and_hashed(lock: str) -> None:
    found = requirements(lock)
    assert len(found) > 10, f"{lock}: {len(found)} requirements; is it the lock?"
    for requirement in found:
        assert not requirement.startswith(("-e ", "--editable", "git+", "http:", "https:")), requirement
        if requirement.startswith("-"):  # options (--index-url and the like) are not requirements
            continue
        assert PIN.match(requirement), f"{lock}: not pinned with ==: {requirement}"
        assert HASH.search(requirement), f"{lock}: no --hash=sha256: {requirement.split()[0]}"


def test_the_dev_lock_agrees_with_the_runtime_lock() -> None:
    runtime = {m["name"].lower(): m["version"] for m in map(PIN.match, requirements(LOCKS[0])) if m}
    for requirement in requirements(LOCKS[1]):
        match = PIN.match(requirement)
        if match and match["name"].lower() in runtime:
            assert match["version"] == runtime[match["name"].lower()], requirement


def make_recipe(target: str) -> str:
    """The commands ``make target`` would run, variables expanded (nothing is run)."""
    return subprocess.run(
        ["make", "--dry-run", "--always-make", target],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_venv_installs_with_require_hashes() -> None:
    syncs = [line.split() for line in make_recipe("venv").splitlines() if "pip sync" in line]
    assert syncs, "make venv syncs nothing"
    for sync in syncs:
        assert set(LOCKS) <= set(sync) and "--require-hashes" in sync, sync


def test_make_lock_generates_hashes() -> None:
    recipe = make_recipe("lock")
    compiles = [line for line in recipe.splitlines() if "pip compile" in line]
    assert {lock for line in compiles for lock in LOCKS if f"-o {lock}" in line} == set(LOCKS), recipe
    for line in compiles:
        assert "--generate-hashes" in line.split(), line


def test_the_image_installs_with_require_hashes() -> None:
    dockerfile = (PROJECT / "Dockerfile").read_text().replace("\\\n", " ")
    installs = [
        shlex.split(line.split("RUN", 1)[1])
        for line in dockerfile.splitlines()
        if line.startswith("RUN") and "install" in line
    ]
    assert installs, "the Dockerfile installs nothing"
    for command in installs:
        if "requirements.txt" in " ".join(command):
            assert "--require-hashes" in command, command
    assert any("requirements.txt" in " ".join(command) for command in installs)
