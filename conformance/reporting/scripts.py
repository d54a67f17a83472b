"""Replay scripts: ``reproduce-<n>.sh`` beside the report, one per lifecycle failure.

A failure that needed several requests (the key lifecycle, RK-ROT-*) carries
the whole sequence its check sent (:attr:`conformance.judging.results.Failure.sequence`).
The script replays it with curl, in order: each step's expected answer is a
comment above it, the key a step is answered with is read from the body
(``grep`` for the 32 hex digits, headers skipped) into ``KEY_<n>`` and fed to
the steps that sent it, and written to ``$REGENKEY_KEY_FILE`` (mode 0600)
before the next request, so the account's current key is never lost; a key
that came back (the previous one, or any earlier one) breaks the step. The
first answer that differs from a conformant server's stops the script with
exit 1 and the violated expectation; exit 0 means every step was answered as
a conformant server answers. Secrets are environment variables
(``$REGENKEY_PASSWORD``, ``$REGENKEY_API_KEY``, ``$REGENKEY_TRICKY_PASSWORD``
for a second account; a wrong password or a bad key near the right one is a
shell expression over its variable), never literals, and the
whole text passes through the run's redactor once more. Answers are printed
with every key masked.
"""

from __future__ import annotations

import shlex

from conformance.judging.results import Failure, RunResult, Step
from conformance.reporting.text import Clean

#: The secrets a script reads from the environment (the second account's
#: password when a lifecycle sequence interleaved it).
SECRETS = ("REGENKEY_PASSWORD", "REGENKEY_API_KEY", "REGENKEY_TRICKY_PASSWORD")

_PRELUDE = r"""set -u
umask 077
REGENKEY_BASE_URL="${REGENKEY_BASE_URL:-%(target)s}"
key_file="${REGENKEY_KEY_FILE:-./regenkey-replay.key}"
current="${REGENKEY_API_KEY:-}"
body() { sed '1,/^\r*$/d'; }
key_in() { grep -oE '[0-9a-f]{32}' | tail -n 1; }
masked() { sed -E 's/([0-9a-fA-F]{4})[0-9a-fA-F]{24}([0-9a-fA-F]{4})/\1...\2/g'; }
broke() { printf 'regenkey: step %%s broke the spec: %%s\n' "$1" "$2" >&2; exit 1; }
seen=" "
issued() {  # step, variable: the new key, kept before the next request
  [ -n "$2" ] || broke "$1" "expected a success with a new apiKey; the answer carries none"
  printf '%%s\n' "$2" > "$key_file"
  [ "$2" != "$current" ] || broke "$1" "expected a new key; the previous key came back"
  case "$seen" in *" $2 "*) broke "$1" "expected a key never issued before; an old one came";; esac
  current="$2"
  seen="$seen$2 "
}
"""


def _comment(text: str) -> str:
    return "\n".join("#   " + line for line in text.splitlines() or [""])


def _step(n: int, total: int, step: Step) -> str:
    expected, expect, variable = step.expected, step.expect_key, step.issues
    shown = " (shown, not judged by this script)" if expect is None else ""
    lines = [f"# step {n} of {total}, a conformant server answers{shown}:", _comment(expected)]
    lines.append(f"echo '--- step {n}'")
    lines.append(f"answer=$({step.command}) || broke {n} 'curl could not complete the request'")
    lines.append("printf '%s\\n' \"$answer\" | masked")
    lines.append("got=$(printf '%s' \"$answer\" | body | key_in)")
    what = shlex.quote(f"expected {' '.join(expected.split())}")
    if expect is True:
        lines.append(f'[ -n "$got" ] || broke {n} {what}')
    elif expect is False:
        lines.append(f'[ -z "$got" ] || broke {n} {what}" (the answer carries a key)"')
    if variable:
        lines.append(f'{variable}="$got"; issued {n} "${variable}"')
    return "\n".join(lines)


def replay_script(result: RunResult, failure: Failure, clean: Clean) -> str:
    """The script that replays ``failure``'s sequence (already redacted)."""
    total = len(failure.sequence)
    text = "\n".join(s.command for s in failure.sequence)
    needs = [v for v in SECRETS if f"${v}" in text or f"${{{v}" in text]
    checks = "".join(f': "${{{v}:?set {v} for the account}}"\n' for v in needs)
    head = [
        "#!/usr/bin/env bash",
        f"# regenkey: replays what check {failure.check} sent before {failure.requirement_id}"
        f" broke (seed {failure.seed}).",
        _comment(failure.message),
        "# Each step changes the account's key: run it against a sandbox account. The key the",
        "# account has at the end is in $REGENKEY_KEY_FILE (default ./regenkey-replay.key).",
        "# Environment: REGENKEY_BASE_URL (default: the judged target), " + ", ".join(needs),
        "# Exit 0: every step answered as a conformant server does; 1: a step broke the spec.",
    ]
    target = "".join(c for c in result.target if c not in '\\"$`\n\r')
    body = [_step(n, total, s) for n, s in enumerate(failure.sequence, 1)]
    done = f"echo 'regenkey: all {total} steps were answered as a conformant server answers'"
    if failure.sequence and failure.sequence[-1].expect_key is None:
        done = (
            f"echo 'regenkey: {total} requests replayed; this script does not judge"
            f" {failure.requirement_id}: compare the last answer with the comment above it'"
        )
    script = "\n".join(head) + "\n" + checks + _PRELUDE % {"target": target}
    return clean(script + "\n" + "\n\n".join(body) + "\n" + done + "\n")


def replay_scripts(result: RunResult, clean: Clean) -> dict[str, str]:
    """``reproduce-<n>.sh`` for each failure with a sequence, numbered in report order."""
    scripts: dict[str, str] = {}
    for req in result.ordered():
        for failure in req.failures:
            if failure.sequence:
                scripts[f"reproduce-{len(scripts) + 1}.sh"] = replay_script(result, failure, clean)
    return scripts


def script_names(result: RunResult) -> dict[int, str]:
    """The script of each failure, by ``id(failure)``: how reports link to it."""
    names: dict[int, str] = {}
    for req in result.ordered():
        for failure in req.failures:
            if failure.sequence:
                names[id(failure)] = f"reproduce-{len(names) + 1}.sh"
    return names
