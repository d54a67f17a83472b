"""The values dimension of the input space, and malformed requests.

- :func:`near_passwords`: wrong passwords one small step from the right one
  (RK-AUTH-005: each must be refused).
- :func:`near_keys`: bad keys one small step from the right one, and keys that
  were right once or for someone else (RK-AUTH-006: each must be refused).
- :func:`awkward_values`: userIds and passwords that need encoding in every
  carrier (RK-PARAM-002: a registered one must authenticate in each).
- :func:`malformed`: requests no server can read in full, each asking for a
  format, so that the refusal's envelope is judged.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.protocol.records import ENDPOINT_PATH, Format
from conformance.protocol.wire import Encoding, RequestSpec

HEX = "0123456789abcdef"
FORM_TYPE = "application/x-www-form-urlencoded"


def _flip_first(text: str) -> str:
    for i, c in enumerate(text):
        if c.swapcase() != c:
            return text[:i] + c.swapcase() + text[i + 1 :]
    return text


def near_password_list(password: str) -> list[str]:
    """Every near miss of ``password`` (all differ from it): every letter's case
    flipped, one letter's, one character short, one long, a prefix, NUL-padded,
    a trailing and a leading space."""
    out = [
        password.swapcase(),
        _flip_first(password),
        password[:-1],
        password + "x",
        password + password[-1:],
        password[: max(1, len(password) // 2)],
        password + "\x00",
        password + " ",
        " " + password,
    ]
    return [v for v in dict.fromkeys(out) if v and v != password]


def near_passwords(password: str) -> st.SearchStrategy[str]:
    """Wrong passwords near the right one (see :func:`near_password_list`)."""
    return st.sampled_from(near_password_list(password))


def near_key_list(key: str, others: Sequence[str] = ()) -> list[str]:
    """Bad keys near ``key``: case-flipped, the first half with another second
    half, truncated by one and by half, one longer, and ``others`` (revoked
    keys, another account's)."""
    half = len(key) // 2
    second = "".join(HEX[(HEX.find(c) + 1) % 16] if c in HEX else "0" for c in key[half:])
    out = [key.upper(), key.swapcase(), key[:half] + second, key[:-1], key[:half], key + "0"]
    out += list(others)
    return [v for v in dict.fromkeys(out) if v and v != key]


def near_keys(key: str, others: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """Bad keys near the right one, random keys, and ``others``."""
    random_keys = st.text(HEX, min_size=32, max_size=32).filter(lambda k: k != key)
    return st.one_of(st.sampled_from(near_key_list(key, others)), random_keys)


#: Characters that need encoding in some carrier: form/query (space + & = %
#: # ?), XML (< > & " '), multipart (" and CR-free quoting), and non-ASCII.
AWKWARD = " +&=%#?<>\"';/\\"
NON_ASCII = ("é", "e\u0301", "ü", "€", "中", "😀")
#: Fixed awkward values every run can use first.
AWKWARD_EXAMPLES = (
    "p a+s&s=w%rd",
    "<a>&\"b'</a>",
    " leading",
    "trailing ",
    unicodedata.normalize("NFC", "café"),
    unicodedata.normalize("NFD", "café"),
    "%41%zz+%",
    # one kind of escape only in a form or query: a%2541b and 100%25 (no +),
    # a+b (a space, no %)
    "a%41b",
    "100%",
    "a b",
)
LONG_SIZE = 2500


def awkward_values() -> st.SearchStrategy[str]:
    """userIds and passwords that need encoding in every carrier: the characters
    of :data:`AWKWARD`, non-ASCII in NFC and NFD, leading and trailing space,
    and values of a few KB (:data:`LONG_SIZE` characters). No control
    characters: those are malformed (the reference refuses them)."""
    char = st.one_of(
        st.sampled_from(list(AWKWARD)),
        st.sampled_from(NON_ASCII),
        st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    )
    short = st.lists(char, min_size=1, max_size=16).map("".join)
    padded = st.tuples(st.sampled_from(["", " "]), short, st.sampled_from(["", " "])).map("".join)
    long = st.tuples(st.sampled_from(list(AWKWARD[:5])), st.integers(0, 9)).map(
        lambda t: (f"{t[1]}{t[0]}x" * LONG_SIZE)[:LONG_SIZE]
    )
    return st.one_of(st.sampled_from(AWKWARD_EXAMPLES), padded, long)


@dataclass(frozen=True)
class Malformed:
    """A request that cannot be read in full. It never carries a right
    password, so the only conformant answer is a refusal (no key).
    ``answer``: the format the refusal must be in, or None when a server may
    use either plain or the asked format (when the part holding ``format`` is
    itself unreadable, a strict parser refuses all of it and answers plain)."""

    label: str
    spec: RequestSpec
    answer: Format | None


def malformed(user_id: str, fmt: Format) -> list[Malformed]:
    """Bad percent-escapes in the query and the body, invalid UTF-8, and values
    of several KB, each asking for ``fmt``."""
    ask = fmt.value
    uid = user_id.encode()
    path = ENDPOINT_PATH + "?"

    def query(label: str, text: str) -> Malformed:
        spec = RequestSpec("GET", Encoding.RAW, path=path + text)
        return Malformed(label, spec, None)

    def form(label: str, body: bytes) -> Malformed:
        spec = RequestSpec("POST", Encoding.RAW, raw_body=body, content_type=FORM_TYPE)
        return Malformed(label, spec, None)

    big = "u" * 8000
    boundary = "rkmalformed0boundary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\n'.encode()
        + b"\xff\xfe"
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\n'.encode()
        + ask.encode()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return [
        query("bad escape in the query", f"format={ask}&userId=u&password=%zz"),
        query("truncated escape in the query", f"format={ask}&userId=u&password=ab%4"),
        query("invalid UTF-8 in the query", f"format={ask}&userId=u&password=%FF%FE"),
        form("bad escape in the body", b"format=" + ask.encode() + b"&userId=" + uid + b"&x=%G1"),
        form("invalid UTF-8 in the body", b"format=" + ask.encode() + b"&userId=\xff\xfe"),
        Malformed(
            "invalid UTF-8 in a multipart body",
            RequestSpec(
                "POST",
                Encoding.RAW,
                raw_body=multipart,
                content_type=f"multipart/form-data; boundary={boundary}",
            ),
            None,
        ),
        Malformed(
            "invalid UTF-8 in an XML body",
            RequestSpec(
                "POST",
                Encoding.RAW,
                raw_body=b"<Account><userId>\xff\xfe</userId><format>"
                + ask.encode()
                + b"</format></Account>",
                content_type="application/xml",
            ),
            None,
        ),
        Malformed(
            "a userId of several KB",
            RequestSpec("POST", Encoding.FORM, (("userId", big), ("format", ask))),
            fmt,
        ),
        Malformed(
            "a NUL in the password",
            RequestSpec(
                "POST", Encoding.FORM, (("userId", user_id), ("password", "\x00"), ("format", ask))
            ),
            fmt,
        ),
    ]
