"""Helpers of the reliability tests (tests/test_reliability_*.py): the
reference server as a real process, raw HTTP over loopback sockets, hostile
servers, and the figures each test writes to reports/reliability.json."""
