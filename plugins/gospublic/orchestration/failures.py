"""Failures that retrying cannot heal, mapped once: a task wrapped in :func:`fail_fast` turns them
into ``AirflowFailException``, so Airflow fails the task for good instead of retrying it.

The errors are named, not imported: orchestration is a foundation and may not import the
pipelines, and DAG files must parse without their heavy modules. A test resolves every name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# "module.Class" of every error that retries cannot heal (subclasses included) -> why.
NON_RETRYABLE: dict[str, str] = {
    "gospublic.marts.check.MartCheckError": "a mart check failed: the data must be fixed first",
    "gospublic.infra.migrations.MigrationEditedError": "an applied migration was edited (checksum mismatch)",
    "gospublic.infra.steps.WarehouseIncompleteError": "schemas missing after migrating",
    "gospublic.rating.snapshot.SnapshotChangedError": "a published month's inputs changed: republish needed",
    "gospublic.rating.publish.PublicationConflictError": "published files differ from their manifest",
    "gospublic.rating.publication.config.PublicationConfigError": "invalid publication configuration",
    "gospublic.vk.load.FewerPagesError": "fewer pages than loaded: needs allow_fewer_pages",
    "gospublic.vk.load.ManifestNotPassedError": "the day's manifest did not pass its checks",
    "gospublic.ok.daily.TooManyFailedPagesError": "the OK run did not pass its checks",
    "gospublic.max.daily.TooManyFailedPagesError": "the MAX run did not pass its checks",
    "gospublic.telegram.daily.TooManyFailedPagesError": "the Telegram run did not pass its checks",
    "gospublic.infra.mart_contract.ContractError": "a mart breaks its contract",
    "gospublic.infra.model_graph.ModelGraphError": "invalid model graph",
    "gospublic.infra.model_graph.ModelParamsError": "invalid model parameters",
    "transforms.methodology.MethodologyError": "invalid methodology",
    "transforms.rating_expression.ExpressionError": "invalid methodology expression",
    "transforms.publication_gate.PublicationGateError": "publication gate refused: inputs missing",
    "transforms.months.MonthError": "invalid month parameter",
    "transforms.registry.RegistryFormatError": "invalid registry files",
}


def non_retryable_reason(exc: BaseException) -> str | None:
    """Why ``exc`` cannot heal by retrying, or ``None`` when a retry may help."""
    for cls in type(exc).__mro__:
        reason = NON_RETRYABLE.get(f"{cls.__module__}.{cls.__qualname__}")
        if reason:
            return reason
    return None


def fail_fast(function: F) -> F:
    """Wrap a task's function: a non-retryable error fails the task without retries."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            reason = non_retryable_reason(exc)
            if reason is None:
                raise
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{exc} [not retried: {reason}]") from exc

    return wrapper  # type: ignore[return-value]
