"""VK pages: the API client and its HTTP session, the daily extraction into the lake (``extract``),
the Parquet sidecars of typed answers it writes and the load reads (``answers``; ``backfill`` for
older lakes), the load into the warehouse (``load``), per-day completeness (``days``) and the
DAG's ``steps``."""
