"""The validation layer: bodies judged against the artefacts, the fast path, and reading a client's
inbound request.
"""
