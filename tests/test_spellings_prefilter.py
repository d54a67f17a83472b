"""The echo search's cheap test (``may_hold``) never hides a match of ``pattern``.

``echo_in`` compiles a password's pattern only for a text that ``may_hold``
it; a False where the pattern matches would hide an echoed password. So the
two are held to each other on every spelling the kit knows, embedded in
surrounding text, and on random texts.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.judging import spellings as spellings_module
from conformance.judging.spellings import echo_in, may_hold, pattern, spellings

secrets = st.text(min_size=1, max_size=16)
around = st.text(st.characters(blacklist_characters="%&\\+"), max_size=8)


@settings(max_examples=300, deadline=None)
@given(secrets, around, around, st.data())
def test_every_spelling_is_let_through(
    secret: str, before: str, after: str, data: st.DataObject
) -> None:
    spelled = data.draw(st.sampled_from(sorted(spellings(secret))))
    text = before + spelled + after
    if pattern(secret).search(text):
        assert may_hold(secret, text)


@settings(max_examples=500, deadline=None)
@given(secrets, st.text(max_size=60))
def test_no_match_is_hidden_in_any_text(secret: str, text: str) -> None:
    if pattern(secret).search(text):
        assert may_hold(secret, text)


def test_an_escape_free_text_without_the_secret_is_rejected_cheaply() -> None:
    assert not may_hold("Sup3r-secret-pw", '{"status": "error", "reason": "invalid"}')
    assert may_hold("Sup3r-secret-pw", "x=Sup3r%2Dsecret-pw")  # an escape: the pattern decides
    assert may_hold("Sup3r-secret-pw", "wp-terces-r3puS")  # reversed, literally


def test_echo_in_answers_as_without_the_cheap_test(monkeypatch: pytest.MonkeyPatch) -> None:
    password = "Sup3r secret&pw"
    bodies = [
        ('{"status": "error", "reason": "' + s + '"}').encode() for s in sorted(spellings(password))
    ] + [b"status=error|reason=none"]
    with_test = [echo_in(password, [("X-Echo", b.decode())], b) for b in bodies]
    monkeypatch.setattr(spellings_module, "may_hold", lambda secret, text: True)
    without = [echo_in(password, [("X-Echo", b.decode())], b) for b in bodies]
    assert with_test == without
    assert sum(w is not None for w in with_test) > 10  # most spellings are found
