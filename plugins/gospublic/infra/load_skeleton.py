"""The one sequence of a partition load: read → validate → quarantine → stage → models → audit.

The registry, a VK day and a batch of incident exports each load this way; a load says only
what is its own (what it reads, what it stages, the parameters of its models, its quarantine and
its load runs) by subclassing :class:`PartitionLoad`, and :meth:`PartitionLoad.run` keeps the
order and the guarantees:

1. ``begin``: a ``started`` row per target in ``audit.load_runs`` (its own short transaction),
   so that a killed attempt is seen; a failure from here on marks the attempt ``failed``;
2. ``read``: read and validate (rows that fail go to the load's problems, a file that fails
   raises);
3. in **one** transaction: ``stage`` (bulk loads into staging), statistics of what was staged,
   the models of the load's step of ``sql/models.yml`` with its bound parameters,
   ``after_models`` (quarantine, checks, status rows), then the audit: the attempt's ``started``
   rows replaced by the load runs, whose counts must reconcile (read = written + rejected +
   duplicate; ``audit.write_load_runs``);
4. ``after_commit`` (e.g. vacuum), and the result.

A load whose reading happens elsewhere (incident files, read in worker processes and applied in
batches) calls :meth:`PartitionLoad.apply` inside its own transaction: step 3 alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from gospublic.infra.audit import LoadAttempt, LoadRun, begin_attempt, marking_failures
from gospublic.infra.warehouse import Transaction, Warehouse

R = TypeVar("R")


class PartitionLoad(ABC, Generic[R]):
    """One load of one source partition (an object per run: it holds what it read)."""

    step: ClassVar[str]  # the step of sql/models.yml that rebuilds the load's tables

    def run(self, warehouse: Warehouse) -> R:
        """Begin the attempt, read, then stage, run the models and audit in one transaction."""
        attempts = [begin_attempt(warehouse, self.attempt_runs())]
        with marking_failures(lambda: attempts):
            self.read(warehouse)
            with warehouse.transaction() as tx:
                self.apply(tx, attempts)
        self.after_commit(warehouse)
        return self.result()

    def apply(self, tx: Transaction, attempts: Sequence[LoadAttempt]) -> list[LoadRun]:
        """Stage, analyze, run the models, quarantine, and replace ``attempts`` by the load runs,
        inside ``tx``; returns the runs recorded."""
        staged = self.stage(tx)
        always = [table for table, rows in staged.items() if rows is None]
        if always:
            tx.analyze(always)
        for table, rows in staged.items():
            if rows is not None:  # the first loads: later ones add little to what was counted
                tx.analyze([table], rows_written=rows)
        tx.run_models(self.step, self.model_params(tx))
        self.after_models(tx)
        runs = self.runs()
        tx.finish(*attempts)
        tx.record_load_runs(runs, prefix=self.prefix())
        return runs

    # -- what a load says about itself ------------------------------------------------------

    def attempt_runs(self) -> list[LoadRun]:
        """The load runs it will finish with, as the attempt's ``started`` rows (counts ignored)."""
        raise NotImplementedError(f"{type(self).__name__} runs only through apply()")

    def read(self, warehouse: Warehouse) -> None:
        """Read and validate the input, keeping the rows to stage and the problems found."""

    @abstractmethod
    def stage(self, tx: Transaction) -> Mapping[str, int | None]:
        """Bulk-load the staging tables; returns each table to analyze with the rows written
        (None: analyze it whatever the count)."""

    def model_params(self, tx: Transaction) -> Mapping[str, Any]:
        """The bind parameters of the step's models (as ``sql/models.yml`` declares them)."""
        return {}

    def after_models(self, tx: Transaction) -> None:
        """What follows the models in the transaction: quarantine, checks, status rows."""

    @abstractmethod
    def runs(self) -> list[LoadRun]:
        """The final load runs, one per source partition and target table."""

    def prefix(self) -> str | None:
        """The ``load_id`` prefix of the finished runs these replace; None: those of the same ids."""
        return None

    def after_commit(self, warehouse: Warehouse) -> None:
        """What follows the commit (vacuum)."""

    def result(self) -> R:
        """What the load returns."""
        raise NotImplementedError(f"{type(self).__name__} runs only through apply()")
