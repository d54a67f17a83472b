"""The page's own client samples, adapted in host, port and values only.

They read ``REGENKEY_BASE_URL``, ``REGENKEY_USER_ID``, ``REGENKEY_PASSWORD``
and ``REGENKEY_FORMAT`` from the environment.
"""

from __future__ import annotations

from conformance import page_text


def node_samples() -> tuple[str, str]:
    """The page's Node.js POST and GET samples, adapted in host, port and values only."""
    text = page_text()
    start = text.index('var qs = require("querystring");')
    block = text[start : text.index("OkHttpClient client")]
    cut = block.index('var qs = require("querystring");', 1)
    host = {
        '"hostname": "www.smsgateway.center"':
            '"hostname": new URL(process.env.REGENKEY_BASE_URL).hostname',
        '"port": null': '"port": new URL(process.env.REGENKEY_BASE_URL).port',
    }  # fmt: skip
    post_values = {
        "'YourUsername'": "process.env.REGENKEY_USER_ID",
        "'YourPassword'": "process.env.REGENKEY_PASSWORD",
        "format: 'plain'": "format: process.env.REGENKEY_FORMAT",
    }
    get_values = {
        "YourUsername": '" + encodeURIComponent(process.env.REGENKEY_USER_ID) + "',
        "YourPassword": '" + encodeURIComponent(process.env.REGENKEY_PASSWORD) + "',
        'format=plain"': 'format=" + process.env.REGENKEY_FORMAT',
    }
    return adapt(block[:cut], host | post_values), adapt(block[cut:], host | get_values)


def adapt(sample: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert sample.count(old) == 1, old
        sample = sample.replace(old, new)
    return sample
