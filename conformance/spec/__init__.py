"""The spec layer: the normative artefacts (read through importlib.resources), the requirement
catalogue and the spec's self-checks.
"""
