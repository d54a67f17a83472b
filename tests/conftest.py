"""Shared test settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# No deadline: CI machines are shared and noisy; speed is measured in `make bench`.
settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
