"""Pure-Python transformations of gospublic: no Airflow import (ruff's banned-api enforces it).

DAG tasks call these; they take and return plain Python, pandas or Arrow values.
"""
