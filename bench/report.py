"""``reports/bench.md``: the figures of ``reports/bench.json`` as one table."""

from __future__ import annotations

from typing import Any


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _suite(data: dict[str, Any]) -> list[str]:
    s = data["suite"]
    kit, peer = s["check_server"], s["schemathesis"]
    best = s["schemathesis_best"]
    return [
        _row(
            "Server suite, cases/s (wall, incl. start-up), vs schemathesis at its best setting",
            f"{kit['cases_per_s']['median']:.0f} ({kit['cases']['median']:.0f} cases)",
            f"schemathesis run --workers {best['workers']}: {best['cases_per_s']['median']:.0f}"
            f" ({best['cases']['median']:.0f} cases)",
            f"{s['ratio']:.1f}x", "≥ 3x", _met(s["ratio"] >= s["target"]),
        ),
        _row(
            "Server suite, cases/s (wall), vs schemathesis' default (1 worker)",
            f"{kit['cases_per_s']['median']:.0f}",
            f"schemathesis run: {peer['cases_per_s']['median']:.0f}",
            f"{s['ratio_default']:.1f}x", "—", "—",
        ),
        _row(
            "Server suite, cases/s (own clock, no start-up)",
            f"{kit['cases_per_s_internal']['median']:.0f}",
            f"schemathesis --workers {best['workers']}: "
            f"{best['cases_per_s_internal']['median']:.0f}",
            f"{s['ratio_internal']:.1f}x", "—", "—",
        ),
    ]  # fmt: skip


def _extension(data: dict[str, Any]) -> list[str]:
    e = data.get("extension")
    if not e:
        return []
    with_, without = e["with_extension"], e["without_extension"]
    return [
        _row(
            "Schemathesis with the kit's extension, cases/s (its overhead: without / with)",
            f"{with_['cases_per_s']['median']:.0f}",
            f"without it: {without['cases_per_s']['median']:.0f}",
            f"{e['overhead']:.2f}x", "< 1.3x", _met(e["overhead"] < e["target"]),
        )
    ]  # fmt: skip


def _limit(data: dict[str, Any]) -> list[str]:
    lim = data.get("limit")
    if not lim:
        return []
    loops = lim["loops"]
    rows = [
        _row(
            "The limit: bare loop of apiKey rotations, one keep-alive connection, requests/s",
            f"kit HttpClient: {loops['kit']['median']:.0f}",
            f"httpx: {loops['httpx']['median']:.0f}", "—", "—", "—",
        )
    ]  # fmt: skip
    for row in lim["check_server"]:
        rows.append(_row(
            f"`check-server --max-examples {row['max_examples']}`, requests/s (own clock)"
            " vs the limit",
            f"{row['rps']['median']:.0f} ({row['requests']['median']:.0f} requests)",
            f"bare loop ({lim['limit_client']}): {lim['limit_rps']:.0f}",
            f"{row['ratio_vs_limit']:.2f}x", "≥ 0.5x", _met(row["ratio_vs_limit"] >= lim["target"]),
        ))  # fmt: skip
        rows.append(_row(
            f"… the same, without the server's {row['server_hashing_s']['median']:.1f} s"
            " of password hashing for refused logins",
            f"{row['rps_without_server_hashing']['median']:.0f}", "",
            f"{row['ratio_vs_limit_without_server_hashing']:.2f}x", "—", "—",
        ))  # fmt: skip
        rows.append(_replay_row(row, lim["target"]))
    return rows


def _replay_row(row: dict[str, Any], target: float) -> str:
    """check-server against its own requests replayed as a bare loop."""
    again, ratio = row["replay"], row["ratio_vs_replay"]
    return _row(
        f"… vs its own requests replayed as a bare loop (same seed; the server hashed"
        f" {again['server_hashing_s']['median']:.1f} s of refused logins in the replay)",
        f"{row['rps']['median']:.0f}",
        f"replay: {again['rps']['median']:.0f} ({again['requests']['median']:.0f} requests)",
        f"{ratio:.2f}x",
        f"≥ {target}x",
        _met(ratio >= target),
    )


def _rps(data: dict[str, Any]) -> list[str]:
    r = data["rps"]
    chain = r["reference"]["key_chain"]["median"]
    creds = r["reference"]["credentials"]["median"]
    bare = r["bare_starlette"]["median"]
    rows = [
        _row("Reference server, regenerations/s (apiKey chain)", f"{chain:.0f}",
             f"bare Starlette: {bare:.0f}", f"{r['ratio_vs_bare']:.2f}x", "≥ 0.7x",
             _met(r["ratio_vs_bare"] >= r["target_vs_bare"])),
    ]  # fmt: skip
    prism = r["prism"]
    if "median" in prism:
        rows.append(_row("Reference server vs Prism mock, requests/s", f"{chain:.0f}",
                         f"Prism: {prism['median']:.0f}", f"{r['ratio_vs_prism']:.2f}x",
                         "≥ 2x", _met(r["ratio_vs_prism"] >= r["target_vs_prism"])))  # fmt: skip
    else:
        rows.append(_row("Reference server vs Prism mock", f"{chain:.0f}",
                         prism.get("skipped", "—"), "—", "≥ 2x", "skipped"))  # fmt: skip
    prism_text = f", Prism {r['ratio_vs_prism_credentials']:.2f}x" if "median" in prism else ""
    rows.append(_row("Reference server, regenerations/s (userId/password, cached)", f"{creds:.0f}",
                     f"bare Starlette: {bare:.0f}",
                     f"{r['ratio_vs_bare_credentials']:.2f}x{prism_text}", "—", "—"))  # fmt: skip
    return rows


def _catches(data: dict[str, Any]) -> list[str]:
    c = data["catches"]
    if c is None:
        return []
    n = c["broken_servers"]
    only = c["flagged_by_schemathesis_only"]
    correct = "; both pass the correct server" if all(c["correct_server_passes"].values()) else (
        "; a tool flagged the correct server")  # fmt: skip
    return [_row(
        f"Broken servers flagged (of {n}, one per server MUST){correct}",
        f"{c['check_server_flagged']}", f"schemathesis run: {c['schemathesis_flagged']}",
        "—", "no loss", _met(not only and all(c["correct_server_passes"].values())),
    )]  # fmt: skip


def _validation(data: dict[str, Any]) -> list[str]:
    rows = []
    for fmt, v in data["validation"]["formats"].items():
        kit = v["validate_body_us"]["median"]
        rows.append(_row(
            f"Validate a valid {fmt} body, µs/document",
            f"{kit:.1f}",
            f"{v['library']}: {v['library_us']['median']:.1f}",
            f"{v['speedup_vs_library']:.1f}x faster",
            "< 10 µs", _met(kit < data["validation"]["target_us"]),
        ))  # fmt: skip
    return rows


def _startup(data: dict[str, Any]) -> list[str]:
    s = data["startup"]
    srv = s["reference_server"]
    run = s["regenkey_run"]
    run_cell = (
        f"{run['wall_s']['median']:.1f} / {run['peak_rss_mib']['median']:.0f}"
        if "wall_s" in run
        else run.get("skipped", "—")
    )
    return [
        _row("`regenkey --help`, s", f"{s['regenkey_help_s']['median']:.2f}", "", "", "", "—"),
        _row("Reference server, start to first answer, s",
             f"{srv['first_answer_s']['median']:.2f}", "", "", "", "—"),
        _row("Reference server, idle RSS, MiB", f"{srv['idle_rss_mib']['median']:.0f}",
             "", "", "", "—"),
        _row("`regenkey run` (`make run`), wall s / peak RSS MiB", run_cell, "", "", "", "—"),
    ]  # fmt: skip


def _scaling(data: dict[str, Any]) -> list[str]:
    lines = ["", "| `check-server` cases | cases/s | peak RSS, MiB |", "| ---: | ---: | ---: |"]
    for row in data["scaling"]:
        lines.append(_row(f"{row['cases']['median']:.0f}", f"{row['cases_per_s']['median']:.0f}",
                          f"{row['peak_rss_mib']['median']:.0f}"))  # fmt: skip
    return lines


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    head = [
        f"Measured {data['date']} on {m['cpu_model']}, {m['cores']} cores, Python {m['python']}"
        f" (medians of {data['repeats']} runs{', quick mode' if data['quick'] else ''};"
        " all on 127.0.0.1; a shared machine, so only ratios taken in this run compare).",
        "",
        "| Measure | regenkey | Peer | Ratio | Target | Met |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    body = (
        _suite(data)
        + _extension(data)
        + _limit(data)
        + _catches(data)
        + _rps(data)
        + _validation(data)
        + _startup(data)
    )
    return "\n".join(head + body + _scaling(data)) + "\n"
