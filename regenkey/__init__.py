"""The ``regenkey`` command: the composition root.

Only this package may import both :mod:`conformance` and
:mod:`reference_impl` (ARCHITECTURE.md), so that ``check-server`` can start
the embedded reference server.
"""

__all__: list[str] = []
