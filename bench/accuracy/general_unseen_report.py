"""The tables of `bench.accuracy.general_unseen`: who beats whom per series, interval coverage, the groups of an
other-source file, and the markdown report."""

from __future__ import annotations

import numpy as np

from bench.common import table

# Our column in every table, and the interval levels every request of the protocol asks for.
OURS = "ours"
LEVELS = [80, 95]


def wins(result: dict, peers: list[str], key: str) -> dict:
    """Does ours beat seasonal naive (None when it did not run) and the best peer on `key`, lower is better?"""
    scores = {m: row[key] for m, row in result["scores"].items()}
    naive = scores.get("SeasonalNaive")
    return {
        "best": min(scores, key=scores.get),
        "beats_sn": None if naive is None else scores[OURS] < naive,
        "beats_best_stat": scores[OURS] < min(scores[p] for p in peers),
    }


def render(results: list[dict], peers: list[str], key: str) -> str:
    """One row per series: each method's `key` (the best in bold), whether ours beats SN / the best peer."""
    methods = [OURS, *peers]
    headers = ["series", "freq", "n", "origins", *methods, "beats SN", "beats best stat"]
    rows, yes = [], {True: "yes", False: "no", None: "-"}
    for r in results:
        w = wins(r, peers, key)
        cells = [f"{r['scores'][m][key]:.3f}" for m in methods]
        cells = [f"**{c}**" if m == w["best"] else c for m, c in zip(methods, cells, strict=True)]
        origins = ", ".join(o[:7] for o in r["origins"])
        rows.append([r["series"], r["freq"], r["n"], origins, *cells, yes[w["beats_sn"]], yes[w["beats_best_stat"]]])
    means = [f"{np.mean([r['scores'][m][key] for r in results]):.3f}" for m in methods]
    tally = [sum(bool(wins(r, peers, key)[k]) for r in results) for k in ("beats_sn", "beats_best_stat")]
    rows.append(["mean over series / tally", "", "", "", *means, *(f"{t}/{len(results)}" for t in tally)])
    return table(headers, rows)


def coverage_table(results: list[dict], methods: list[str]) -> str:
    headers = ["series", *(f"{m} {lv}%" for lv in LEVELS for m in methods)]
    rows = [
        [r["series"], *(f"{r['scores'][m][f'coverage{lv}']:.1f}" for lv in LEVELS for m in methods)] for r in results
    ]
    pooled = []
    for lv in LEVELS:
        for m in methods:
            points = [(r["scores"][m][f"coverage{lv}"], r["scores"][m]["points"]) for r in results]
            pooled.append(f"{sum(c * p for c, p in points) / sum(p for _, p in points):.1f}")
    rows.append(["all points", *pooled])
    return table(headers, rows)


def groups(results: list[dict], peers: list[str]) -> list[dict]:
    """Per group of series (the id before its first "/", e.g. the 545 Seoul lines of bench.accuracy.general_corpus):
    each method's mean MASE, how many of ours beat seasonal naive, and ours' mean forecast / actual - 1.
    How designs are compared on other-source files, where one group must not outweigh the others."""
    by_group: dict[str, list[dict]] = {}
    for r in results:
        by_group.setdefault(r["series"].split("/")[0], []).append(r)
    out = []
    for name, members in by_group.items():
        ours = [np.asarray(r["scores"][OURS]["mean"]) / np.asarray(r["actuals"]) - 1 for r in members]
        out.append(
            {
                "group": name,
                "series": len(members),
                "mase": {m: float(np.mean([r["scores"][m]["mase"] for r in members])) for m in [OURS, *peers]},
                "beats_sn": sum(bool(r["wins"]["mase"]["beats_sn"]) for r in members),
                "bias_pct": float(np.mean([np.nanmean(b) for b in ours]) * 100),
            }
        )
    return out


def check() -> None:
    """`groups` averages each group alike and measures our bias (`python -m bench.imports` runs it)."""

    def result(series: str, ours: float, naive: float, ratio: float) -> dict:
        scores = {OURS: {"mase": ours, "mean": [[ratio * 100.0] * 2]}, "SeasonalNaive": {"mase": naive}}
        return {
            "series": series,
            "actuals": [[100.0, 100.0]],
            "scores": scores,
            "wins": {"mase": {"beats_sn": ours < naive}},
        }

    results = [result("seoul/a", 1.0, 2.0, 1.1), result("seoul/b", 3.0, 2.0, 1.3), result("air", 0.5, 1.0, 0.9)]
    seoul, air = groups(results, ["SeasonalNaive"])
    assert (seoul["group"], seoul["series"], seoul["beats_sn"]) == ("seoul", 2, 1), seoul
    assert seoul["mase"] == {OURS: 2.0, "SeasonalNaive": 2.0} and abs(seoul["bias_pct"] - 20.0) < 1e-9, seoul
    assert (air["group"], air["series"]) == ("air", 1) and abs(air["bias_pct"] + 10.0) < 1e-9, air


def groups_table(report: dict) -> str:
    methods = [OURS, *report["peers"]]
    headers = ["group", "series", *(f"{m} MASE" for m in methods), "ours beats SN", "ours forecast / actual - 1"]
    rows = [
        [g["group"], g["series"], *(f"{g['mase'][m]:.3f}" for m in methods), g["beats_sn"], f"{g['bias_pct']:+.1f} %"]
        for g in report["groups"]
    ]
    means = [f"{np.mean([g['mase'][m] for g in report['groups']]):.3f}" for m in methods]
    rows.append(["mean of the group means", "", *means, "", ""])
    return table(headers, rows)


def markdown(report: dict) -> str:
    results, peers = report["results"], report["peers"]
    covered = [OURS, *(["AutoETS"] if "AutoETS" in peers else [])]
    lines = ["# General models on series they never saw (zero-shot)", "", "Protocol:", "", report["protocol"], ""]
    for freq, m in report["models"].items():
        lines.append(
            f"- {freq}: `{m['model']}` {m['version']} (window {m['window']}, horizon {m['horizon']}, min_history "
            f"{m['min_history']}, steps {m['steps']}), trained on {m['trained_on']}"
            + ("" if m["zero_shot_training_file"] else " **(not tourism's training file nor the pool: check first)**")
        )
    if report.get("routed"):
        lines.append(f"- **routed**: every forecast of ours went through `{report['routed']}`, not the graph alone")
    lines += ["", "MASE (lower is better; best in bold)", "", render(results, peers, "mase"), ""]
    lines += ["MAPE % (lower is better; best in bold)", "", render(results, peers, "mape"), ""]
    if any(g["series"] > 1 for g in report["groups"]):  # a file of series groups (bench.accuracy.general_corpus)
        lines += ["By group (mean MASE over the group's series)", "", groups_table(report), ""]
    lines += [f"Interval coverage %, {' vs '.join(covered)} (target 80 / 95)", "", coverage_table(results, covered), ""]
    lines += [
        f"Machine (at the end): {report['machine']}; load average at the start "
        f"{' '.join(f'{x:.2f}' for x in report['load_average_before'])}; {report['seconds']} s; {report['packages']}.",
        "",
    ]
    return "\n".join(lines)
