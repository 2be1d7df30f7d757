"""gospublic's Airflow-side building blocks: warehouse, lake and VK adapters, DAG defaults.

Airflow puts ``plugins/`` on ``sys.path``, so these import as ``gospublic.<module>``.
"""
