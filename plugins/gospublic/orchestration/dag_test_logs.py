"""Task logs of ``dag.test()`` runs, written where Airflow's log reader looks for them.

``dag.test()`` (``airflow dags test``, ``make demo``) runs each task inside the calling process
through the Task SDK's in-process supervisor. Its log lines then go to the console only: no file
is written under ``[logging] base_log_folder``. The api-server's ``FileTaskHandler`` looks for
``<base_log_folder>/<log_filename_template>`` (``dag_id=…/run_id=…/task_id=…/attempt=<try>.log``)
and, finding nothing, asks the log server of the worker named by the task instance's hostname,
which has no such file either: the UI says "Log file not found on worker".

Inside :func:`task_log_files`, each task try a ``dag.test()`` run executes also writes its lines,
as the JSON lines a supervised worker writes (timestamp, level, event, logger, ``error_detail``
for a traceback), to exactly that file. The console output stays as it was.

How: ``dag.test()`` runs each try through ``airflow.sdk.definitions.dag._run_task``; while that
call runs, the file of its task instance is open, and Airflow's final console renderer (one object,
shared by structlog's loggers and the stdlib handlers' ``ProcessorFormatter``) is wrapped so that
each event it renders is also written there, after Airflow's processors and the secrets masker.
``tests/test_task_logs.py`` reads the logs back through a real api-server's REST API, so an Airflow
upgrade that moves these seams fails there.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, MutableSequence
from contextlib import ExitStack, contextmanager
from typing import IO, Any, cast

Renderer = Callable[[Any, str, Any], Any]

# The in-process Execution API's own lines ("Task started", "state updated") are the api-server's
# log under a real worker, not the task's.
SERVER_LOGGERS = ("airflow.api_fastapi",)

_lock = threading.RLock()
_files: list[IO[bytes]] = []  # the running try's log file (dag.test runs one task at a time)


def json_line(event_dict: Mapping[str, Any]) -> bytes:
    """One event as the JSON line a supervised task writes, secrets masked."""
    import structlog
    from airflow.sdk._shared.secrets_masker import redact

    event: MutableMapping[str, Any] = {
        k: v for k, v in event_dict.items() if k not in ("_record", "_from_structlog")
    }
    if event.get("exc_info"):
        transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        event = structlog.processors.ExceptionRenderer(transformer)(None, "error", event)
        if "exception" in event:  # the UI draws a traceback from `error_detail`
            event["error_detail"] = event.pop("exception")
    masked = cast("dict[str, Any]", redact(dict(event)))
    ordered = {
        "timestamp": masked.pop("timestamp", None),
        "level": masked.pop("level", None),
        "event": str(masked.pop("event", "")),
        **masked,
    }
    return json.dumps(ordered, default=str, ensure_ascii=False).encode("utf-8") + b"\n"


class _TeeRenderer:
    """Airflow's console renderer, also writing each event to the running try's log file."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def __call__(self, logger: Any, method_name: str, event_dict: Any) -> Any:
        with _lock:
            target = _files[-1] if _files else None
        if target is not None and not str(event_dict.get("logger", "")).startswith(SERVER_LOGGERS):
            try:
                line = json_line(event_dict)
                with _lock:
                    target.write(line)
                    target.flush()
            except Exception:  # a log line must never fail the task
                pass
        return self.renderer(logger, method_name, event_dict)


def _renderer_chains() -> list[MutableSequence[Any]]:
    """The processor lists ending in Airflow's console renderer: structlog's and the stdlib handlers'."""
    import logging

    import structlog

    chains: list[MutableSequence[Any]] = [structlog.get_config()["processors"]]
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in logging.root.manager.loggerDict)]
    for handler in {h for lg in loggers for h in lg.handlers}:
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter):
            chains.append(cast("MutableSequence[Any]", handler.formatter.processors))
    return chains


@contextmanager
def _tee_renderers() -> Iterator[None]:
    swapped: list[tuple[MutableSequence[Any], Any]] = []
    try:
        for chain in _renderer_chains():
            if chain and not isinstance(chain[-1], _TeeRenderer):
                swapped.append((chain, chain[-1]))
                chain[-1] = _TeeRenderer(chain[-1])
        yield
    finally:
        for chain, renderer in swapped:
            chain[-1] = renderer


def log_path(ti: Any) -> Any:
    """The try's log file, created as a worker creates it: ``base_log_folder`` / the filename template."""
    from airflow.sdk.log import init_log_file
    from airflow.utils.helpers import log_filename_template_renderer

    return init_log_file(log_filename_template_renderer()(ti=ti))


@contextmanager
def _open_for(ti: Any) -> Iterator[None]:
    with open(log_path(ti), "ab") as handle:
        with _lock:
            _files.append(handle)
        try:
            yield
        finally:
            with _lock:
                _files.remove(handle)


@contextmanager
def task_log_files() -> Iterator[None]:
    """While open, every task try of a ``dag.test()`` run in this process writes its log file."""
    from airflow.sdk.definitions import dag as dag_module

    run_task = dag_module._run_task

    def run_task_with_log_file(*, ti: Any, task: Any, **kwargs: Any) -> Any:
        with _open_for(ti):
            return run_task(ti=ti, task=task, **kwargs)

    with ExitStack() as stack:
        stack.enter_context(_tee_renderers())
        dag_module._run_task = run_task_with_log_file
        stack.callback(setattr, dag_module, "_run_task", run_task)
        yield


def main(argv: list[str] | None = None) -> None:
    """``python -m gospublic.orchestration.dag_test_logs DAG_ID DATE [--conf JSON]``: Airflow's own
    ``airflow dags test`` (its parser and command, exit status and output), its tasks' logs written."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(["dags", "test", *(sys.argv[1:] if argv is None else argv)])
    with task_log_files():
        args.func(args)


if __name__ == "__main__":
    main()
