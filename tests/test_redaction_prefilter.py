"""The Redactor compiles a password's pattern only for a text that may hold it
(``may_hold``), and ``may_hold`` stays exact on texts full of escapes.

A run hands the Redactor hundreds of near-miss passwords (the lifecycle
machine's wrong passwords and bad keys); compiling each one's pattern as it
came cost seconds per run (docs/BENCHMARKS.md, the limit). The cheap test must
never hide a match: it is held to the pattern on texts that spell a password
character by character in every escape the pattern knows, and the Redactor to
what it writes without the cheap test.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.judging import redaction as redaction_module
from conformance.judging import spellings as spellings_module
from conformance.judging.redaction import REDACTED, Redactor
from conformance.judging.spellings import may_hold, may_spell, pattern

_NAMED = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_SHORT = dict(zip('"\\/\b\f\n\r\t', '"\\/bfnrt', strict=True))


def _escapes(c: str) -> list[str]:
    """``c`` as itself and in every escape ``spellings.pattern`` reads."""
    cp, data = ord(c), c.encode("utf-8", "surrogatepass")
    out = [c, "".join(f"%{b:02X}" for b in data), "".join(f"%25{b:02x}" for b in data)]
    out += [f"&#{cp};", f"&#00{cp};", f"&#x{cp:X};", f"&#X{cp:x};"]
    if c == " ":
        out += ["+", "%2B", "%252b"]
    if c in _NAMED:
        out.append(f"&{_NAMED[c]};")
    if c in _SHORT:
        out.append("\\" + _SHORT[c])
    if cp < 0x10000:
        out.append(f"\\u{cp:04x}")
    else:
        high, low = 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF)
        out += [f"\\u{high:04X}\\u{low:04x}", f"\\U{cp:08X}"]
    if 0x80 <= cp < 0x100:
        out.append(f"\\x{cp:02x}")
    return out


secrets = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=14)
noise = st.text(st.sampled_from(list("%&#;\\+xuU0123456789abcdefABCDEF=/ -_")), max_size=12)


@st.composite
def escaped_spellings(draw: st.DrawFn) -> tuple[str, str]:
    secret = draw(secrets)
    form = draw(st.sampled_from([secret, secret.upper(), secret.lower(), secret[::-1]]))
    spelled = "".join(draw(st.sampled_from(_escapes(c))) for c in form)
    cut = draw(st.integers(0, len(spelled)))  # sometimes cut short: no match, and that is fine
    return secret, draw(noise) + spelled[: len(spelled) - cut // 3] + draw(noise)


@settings(max_examples=400, deadline=None)
@given(escaped_spellings())
def test_a_password_spelled_in_escapes_is_never_hidden(case: tuple[str, str]) -> None:
    secret, text = case
    if pattern(secret).search(text):
        assert may_hold(secret, text)


@settings(max_examples=300, deadline=None)
@given(secrets, noise, st.text(max_size=30))
def test_no_match_is_hidden_among_escape_characters(secret: str, junk: str, text: str) -> None:
    for candidate in (junk + text, text + junk, junk):
        if pattern(secret).search(candidate):
            assert may_hold(secret, candidate)


@settings(max_examples=400, deadline=None)
@given(escaped_spellings())
def test_a_whole_spelling_is_never_refused_by_the_cheap_test(case: tuple[str, str]) -> None:
    # may_spell guards fullmatch (a secret the Redactor is given that spells one
    # it knows): every whole spelling, with and without the noise around it
    secret, text = case
    for candidate in (text, text.strip("%&#;\\+xuU0123456789abcdefABCDEF=/ -_")):
        if pattern(secret).fullmatch(candidate):
            assert may_spell(secret, candidate), candidate


@settings(max_examples=200, deadline=None)
@given(secrets)
def test_every_listed_spelling_passes_the_cheap_test(secret: str) -> None:
    from conformance.judging.spellings import spellings

    for form in spellings(secret):
        if pattern(secret).fullmatch(form):
            assert may_spell(secret, form), form


def test_a_new_password_is_not_compared_by_compiling_every_known_one() -> None:
    pattern.cache_clear()
    redactor = Redactor(_near_misses(50))
    # its escapes spell every character of each known one: may_hold lets all 50 through
    fresh = "z%42ench-Pa55word-0123456789"
    assert all(may_hold(known, fresh) for known in _near_misses(50))
    redactor.add(fresh)
    assert pattern.cache_info().misses <= 1
    assert fresh in redactor._passwords
    redactor.add("Bench%2DPa55word%2D0007")  # a spelling of one it knows: not a new password
    assert "Bench%2DPa55word%2D0007" not in redactor._passwords


def test_an_escaped_text_missing_a_character_of_the_password_is_rejected() -> None:
    # ``&`` and ``%`` are there, but no ``Q`` as itself or as an escape
    assert not may_hold("Quite-long-pw1", "reason=a%20b&c=quite-long-pw")
    assert may_hold("Quite-long-pw1", "reason=%51uite-long-pw1")  # %51 is Q
    assert may_hold("Quite-long-pw1", "reason=&#81;uite-long-pw1")


def _near_misses(count: int) -> list[str]:
    return [f"Bench-Pa55word-{n:04d}" for n in range(count)]


def test_adding_passwords_compiles_nothing_until_a_text_may_hold_one() -> None:
    pattern.cache_clear()
    redactor = Redactor(_near_misses(300))
    assert pattern.cache_info().misses <= 1  # not one pattern a password
    assert redactor("  [34/35] lifecycle_follows_the_model ... ok") == (
        "  [34/35] lifecycle_follows_the_model ... ok"
    )
    assert redactor("a title with & and % in it") == "a title with & and % in it"
    assert pattern.cache_info().misses <= 1
    assert redactor("x=Bench-Pa55word-0007&y") == f"x={REDACTED}&y"
    assert redactor("x=Bench%2DPa55word%2D0123") == f"x={REDACTED}"


texts = st.text(st.sampled_from(list("Bench-Pa55word0123%&;#x\\+=2D ")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=6))
def test_the_redactor_writes_what_it_wrote_without_the_cheap_test(written: list[str]) -> None:
    passwords = ["Bench-Pa55word", "bench-pa55word-x", "Bench-Pa5", "Pa55 w&rd"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redaction_module, "may_hold", lambda secret, text: True)
        patch.setattr(redaction_module, "may_spell", lambda secret, text: True)
        eager = Redactor(passwords)
        expected = [eager(t) for t in written]
    lazy = Redactor(passwords)
    assert [lazy(t) for t in written] == expected


def test_the_cheap_test_is_the_one_the_echo_search_uses() -> None:
    assert redaction_module.may_hold is spellings_module.may_hold
