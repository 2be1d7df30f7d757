"""Deterministic generator of a sandbox region: registry, VK world, incident exports and truth.

Entry point: ``python -m sandbox generate --preset region --month 2025-11 --seed 42 --out DIR``.
The layout of the output is documented in ``docs/sandbox-data.md``.
"""
