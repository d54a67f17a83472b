"""The test every mutant of ``reference_impl/server/`` has to fail: ``check-server``.

mutmut runs this as its runner (``python -m bench.mutation_check``) inside a
copy of the tree that holds one mutant. It runs ``regenkey check-server``
twice, strictly and with a fixed seed (the same mutant always meets the same
requests): with no ``--base-url``, so the command serves the (mutated)
reference server in-process with two throwaway accounts on a ``MemoryStore``;
and with ``--base-url`` against the same app on a ``SqliteStore`` (the store
``regenkey serve`` uses), with two accounts of its own. Exit 0 (the mutant
survived) only when both verdicts are PASS; any FAIL, NON-STRICT, INCOMPLETE
or ERROR (a mutant that hangs, crashes or answers 5xx) kills it.

    python -m bench.mutation_check [--seed N] [--max-examples N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile

SEED = 20261202
EXAMPLES = 25  # check-server's default


def verdict_code(
    seed: int = SEED, examples: int = EXAMPLES, target: list[str] | None = None
) -> int:
    """check-server's exit code: against the embedded reference server, or with
    ``target`` (``--base-url`` and the accounts) against another."""
    from regenkey.cli import main as regenkey

    with tempfile.TemporaryDirectory(prefix="regenkey-mutation-") as reports:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            args = ["check-server", "--strict", "--seed", str(seed), *(target or [])]
            args += ["--max-examples", str(examples), "--report-dir", reports]
            code = regenkey(args)
    return code


def sqlite_verdict_code(seed: int = SEED, examples: int = EXAMPLES) -> int:
    """check-server's exit code against the reference app on a SqliteStore."""
    import secrets

    from conformance.transport.loopback import serving
    from reference_impl.server import build_app
    from reference_impl.server.passwords import FAST
    from reference_impl.server.store import SqliteStore

    plain, tricky = f"Mutant-{secrets.token_hex(6)}", f"Tr1cky {secrets.token_hex(3)}+&=%41ü"
    # tmpfs: no fsync wait per rotation; the folder itself is made private by tempfile
    memory = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
    with tempfile.TemporaryDirectory(prefix="regenkey-mutation-db-", dir=memory) as folder:
        with SqliteStore(os.path.join(folder, "keys.db"), password_cost=FAST) as store:
            store.add_account("mutation-plain", plain)
            store.add_account("mutation-tricky", tricky)
            with serving(build_app(store)) as base_url:
                os.environ["REGENKEY_PASSWORD"] = plain
                os.environ["REGENKEY_TRICKY_PASSWORD"] = tricky
                target = ["--base-url", base_url, "--user-id", "mutation-plain"]
                target += ["--tricky-user-id", "mutation-tricky"]
                return verdict_code(seed, examples, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-examples", type=int, default=EXAMPLES)
    args = parser.parse_args(argv)
    try:
        code = verdict_code(args.seed, args.max_examples)
        if code == 0:
            code = sqlite_verdict_code(args.seed, args.max_examples)
    except Exception as exc:  # a mutant that breaks the import or the start: killed
        print(f"check-server did not run: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
