"""VK pages: the API client and its HTTP session, the daily extraction into the lake (``extract``),
the load into the warehouse (``load``), per-day completeness (``days``) and the DAG's ``steps``."""
