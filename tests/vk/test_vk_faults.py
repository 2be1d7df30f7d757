"""vk_pages under the sandbox's faults: each fault injected, the run's behaviour and the tables
compared with a clean run of the same day. The warehouse engine does not matter here: DuckDB."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from gospublic.infra.lake import Lake
from gospublic.vk.extract import manifest_key
from tests.vk.conftest import CONNECTION_TOKENS, VkWorld, business_checksums

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.parametrize("engine", ["duckdb"])]

DAY = date(2025, 11, 20)


@pytest.fixture
def clean(vk_world: VkWorld, dagbag) -> dict[str, str]:
    """Checksums of a clean run of DAY (the reference every faulty run must reproduce)."""
    assert vk_world.run(dagbag.get_dag("vk_pages"), DAY).state == "success"
    vk_world.server.reset_stats()
    return business_checksums(vk_world.warehouse)


def faulty_run(world: VkWorld, dagbag, *faults: dict) -> object:
    for fault in faults:
        world.server.inject(**fault)
    return world.run(dagbag.get_dag("vk_pages"), DAY)


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}


@pytest.mark.parametrize(
    "faults",
    [
        pytest.param([{"kind": "error_6", "count": 12}], id="error-6-burst"),
        pytest.param([{"kind": "error_29", "count": 6}], id="error-29-burst"),
        pytest.param(
            [{"kind": "http_5xx", "count": 3}, {"kind": "http_5xx", "count": 2, "status": 503}], id="5xx"
        ),
        pytest.param([{"kind": "drop", "count": 4}], id="dropped-connections"),
        pytest.param([{"kind": "slow", "seconds": 1.0, "count": 3}], id="slow-answers"),
    ],
)
def test_transient_faults_are_retried_without_losing_calls(
    vk_world: VkWorld, dagbag, clean: dict[str, str], faults: list[dict]
) -> None:
    run = faulty_run(vk_world, dagbag, *faults)
    assert run.state == "success"
    fired = vk_world.server.stats()["faults"]
    assert sum(fired.values()) == sum(f["count"] for f in faults), fired
    assert business_checksums(vk_world.warehouse) == clean


def test_persistent_5xx_gives_up_every_call_and_fails_the_run(
    vk_world: VkWorld, dagbag, clean: dict[str, str]
) -> None:
    """VK answers 5xx to everything: each call is given up after its attempts, every page has
    given-up calls (not pages VK refused), the run fails and latest.json stays on the clean run."""
    run = faulty_run(vk_world, dagbag, {"kind": "http_5xx", "probability": 1.0})
    assert run.state == "failed"
    assert task_states(run)["finish"] == "failed"
    lake = Lake.from_connection()
    manifest = json.loads(lake.get_bytes(manifest_key(DAY, run.run_id)))
    pages = vk_world.warehouse.scalar(
        "SELECT COUNT(*) FROM core.dim_page WHERE network = 'vk' AND valid_from <= :d "
        "AND (valid_to IS NULL OR :d < valid_to)",
        {"d": DAY},
    )
    assert len(manifest["given_up_pages"]) == manifest["pages"] == pages
    assert manifest["failed_pages"] == [] and manifest["status"] == "failed"
    assert json.loads(lake.get_bytes(manifest_key(DAY)))["run_id"] != run.run_id
    assert business_checksums(vk_world.warehouse) == clean  # nothing half-loaded


def test_captcha_retires_one_token_and_the_others_finish(
    vk_world: VkWorld, dagbag, clean: dict[str, str]
) -> None:
    run = faulty_run(vk_world, dagbag, {"kind": "captcha", "count": 1, "token": "usr_beta"})
    assert run.state == "success"
    stats = vk_world.server.stats()
    assert stats["faults"] == {"captcha": 1}
    # the token's two workers may each have had one request in flight when the captcha came back;
    # nothing is sent with it after that
    requests_with_token = sum(stats["requests"].get("usr_beta", {}).values())
    assert 1 <= requests_with_token <= 2, "the token was used after its captcha"
    assert business_checksums(vk_world.warehouse) == clean
    lake = Lake.from_connection()
    manifest = json.loads(lake.get_bytes(f"raw/vk/_manifests/dt={DAY.isoformat()}/latest.json"))
    assert manifest["pages"] > 0
    finish = next(ti for ti in run.get_task_instances() if ti.task_id == "finish")
    assert finish.xcom_pull(task_ids="finish")["retired_tokens"] == {
        "gospublic_vk#2:user": "captcha (error 14)"
    }


def test_captcha_on_every_token_fails_the_run_and_a_rerun_repairs_it(
    vk_world: VkWorld, dagbag, clean: dict[str, str]
) -> None:
    tokens = [t["token"] for t in CONNECTION_TOKENS]
    run = faulty_run(vk_world, dagbag, *({"kind": "captcha", "count": 50, "token": t} for t in tokens))
    assert run.state == "failed"
    states = task_states(run)
    assert states["extract"] == "failed" and states["load"] != "success"
    vk_world.server.clear_faults()
    assert vk_world.run(dagbag.get_dag("vk_pages"), DAY).state == "success"
    assert business_checksums(vk_world.warehouse) == clean


def test_too_many_failed_pages_fail_the_run_before_loading(
    vk_world: VkWorld, dagbag, clean: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOSPUBLIC_VK_MAX_FAILED_SHARE", "0.01")  # 2 of 36 pages are closed/private
    vk_world.warehouse.execute("DELETE FROM audit.load_runs")
    run = vk_world.run(dagbag.get_dag("vk_pages"), DAY)
    assert run.state == "failed"
    states = task_states(run)
    assert states["finish"] == "failed" and states["load"] != "success"
    assert vk_world.warehouse.scalar("SELECT COUNT(*) FROM audit.load_runs") == 0
    assert business_checksums(vk_world.warehouse) == clean  # the earlier load is untouched


def test_tokens_never_reach_logs(vk_world: VkWorld, dagbag, capfd, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    run = faulty_run(
        vk_world,
        dagbag,
        {"kind": "captcha", "count": 1, "token": "usr_alpha"},
        {"kind": "http_5xx", "count": 2},
        {"kind": "error_6", "count": 3},
    )
    assert run.state == "success"
    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert "retired" in text  # the captcha was reported ...
    for token in CONNECTION_TOKENS:
        assert token["token"] not in text  # ... without the token
    lake_text = _lake_text(Lake.from_connection())
    for token in CONNECTION_TOKENS:
        assert token["token"] not in lake_text


def _lake_text(lake: Lake) -> str:
    import gzip

    parts = []
    for item in lake.list("raw/vk/"):
        data = lake.get_bytes(item.key)
        if item.key.endswith(".parquet"):  # a sidecar of typed answers: its values and metadata as text
            parts.append(_parquet_text(data))
        else:
            parts.append(gzip.decompress(data).decode() if item.key.endswith(".gz") else data.decode())
    return "\n".join(parts)


def _parquet_text(data: bytes) -> str:
    import io
    import json

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    metadata = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    return json.dumps([table.to_pylist(), metadata], default=str, ensure_ascii=False)
