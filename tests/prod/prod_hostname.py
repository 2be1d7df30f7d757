"""``[core] hostname_callable`` of test-prod's Celery workers: each worker's own name.

In compose every worker container has its own hostname, which Airflow records as the task
instance's ``hostname``; on one host both workers would record the same, so test-prod gives each
its name in ``GOSPUBLIC_PROD_WORKER_HOSTNAME`` (see tests/prod/topology.py, ``ADDED``).
"""

from __future__ import annotations

import os


def worker_hostname() -> str:
    return os.environ["GOSPUBLIC_PROD_WORKER_HOSTNAME"]
