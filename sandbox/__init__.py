"""Development sandbox: a generated region, a VK API server and incident export files.

Tooling only: production code (dags/, plugins/, transforms/) never imports this package.
"""
