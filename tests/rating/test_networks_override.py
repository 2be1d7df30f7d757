"""What-if ``--set`` overrides of an indicator's ``networks`` and of ``rated_when.networks`` (issue 28):
parsed and allow-listed like the file's declaration, a bad value refused naming the indicator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.rating.test_networks_indicators import METHODOLOGY, VK_ONLY
from transforms.methodology import MethodologyError, compile_indicators
from transforms.methodology_override import load_with_overrides


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "networks-test.yaml"
    file.write_text(METHODOLOGY, encoding="utf-8")
    return file


def _columns(methodology) -> dict[str, set[str]]:
    return {c.name.strip('"'): set(c.columns) for c in compile_indicators(methodology)}


def test_networks_can_be_set_per_indicator(path: Path) -> None:
    both_all = load_with_overrides(path, ["activity_vk.networks=all"])
    assert [i.networks for i in both_all.indicators] == ["all", "all"]
    assert _columns(both_all) == {
        "activity_vk": {"posts_per_week_all_networks"},
        "activity_all": {"posts_per_week_all_networks"},
    }
    assert "--set activity_vk.networks=all" in both_all.source
    back = load_with_overrides(path, ["indicators.activity_all.networks=vk"])
    assert [i.networks for i in back.indicators] == ["vk", "vk"]
    assert _columns(back)["activity_all"] == {"posts_per_week"}
    assert back.rated_when_networks == "vk"  # no indicator reads every network now


def test_rated_when_networks_can_be_set(path: Path) -> None:
    assert load_with_overrides(path, []).rated_when_networks == "all"  # activity_all reads every network
    said = load_with_overrides(path, ["rated_when.pages=1", "rated_when.networks=vk"])
    assert (said.rated_when.pages, said.rated_when_networks) == (1, "vk")
    vk_only = path.with_name("vk-only.yaml")
    vk_only.write_text(VK_ONLY.replace("id: networks-test", "id: vk-only"), encoding="utf-8")
    assert load_with_overrides(vk_only, ["rated_when.networks=all"]).rated_when_networks == "all"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "activity_all.networks=facebook",
            "--set activity_all.networks=facebook: networks of indicator 'activity_all' must be vk "
            "(VK pages, the default) or all (every official page: VK, OK, MAX, Telegram), not 'facebook'",
        ),
        (
            "indicators.activity_vk.networks=ALL",
            "--set indicators.activity_vk.networks=ALL: networks of indicator 'activity_vk' must be vk",
        ),
        (
            "rated_when.networks=ok",
            "--set rated_when.networks=ok: rated_when.networks must be vk (VK pages) or all",
        ),
    ],
)
def test_a_bad_networks_value_is_refused_naming_the_indicator(
    path: Path, override: str, message: str
) -> None:
    with pytest.raises(MethodologyError, match=re.escape(message)):
        load_with_overrides(path, [override])


def test_a_networks_override_the_loader_refuses_names_the_override_and_the_indicator(path: Path) -> None:
    # all over a VK-only figure
    with pytest.raises(
        MethodologyError,
        match=r"^--set activity_vk\.networks=all: .*networks-test\.yaml: indicators\[1\]\.networks: all, "
        r"but replied_share has VK pages only",
    ):
        load_with_overrides(path, ["activity_vk.expression=replied_share", "activity_vk.networks=all"])
    # all over no page figure at all
    with pytest.raises(
        MethodologyError,
        match=r"^--set activity_vk\.networks=all: .*indicators\[1\]\.networks: all changes nothing",
    ):
        load_with_overrides(path, ["activity_vk.expression=incidents", "activity_vk.networks=all"])
