"""gospublic: the Airflow-side half of the platform, one subpackage per pipeline.

- ``infra``: settings, connections, warehouse and lake adapters, SQL model runner and graph,
  migrations, audit, validation, worker pools — what every pipeline stands on.
- ``orchestration``: what DAG files share (default args, alerts, Assets).
- ``registry``, ``vk``, ``incidents``, ``marts``, ``rating``: the pipelines. Each has ``steps``,
  the functions the DAG tasks call; a pipeline uses another only through that package's face
  (its ``__init__``), never through its modules.

Installed as a distribution (``make venv``; the Dockerfile), so it imports as ``gospublic.<...>``
without path tricks.
"""
