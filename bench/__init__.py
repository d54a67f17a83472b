"""Benchmarks of the kit against its peers (``make bench``; see docs/BENCHMARKS.md).

A folder of scripts, not part of the kit: nothing in ``conformance``,
``reference_impl`` or ``regenkey`` imports it. Run ``python -m bench.run``
from the repository root.
"""
