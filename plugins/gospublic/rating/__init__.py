"""The monthly rating: snapshots under a methodology (``snapshot``), their atomic publication
(``publish``) and the DAG's ``steps``."""
