"""The monthly marts: the build (``build``), the Great Expectations checks (``check``) and the
DAG's ``steps``."""
