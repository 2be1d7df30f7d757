"""Incident exports (IM, ПОС): landed files (``files``), their parsing, validation and load
(``load``), and the DAG's ``steps``."""
