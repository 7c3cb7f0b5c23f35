"""Live against offline: the accuracy route's answer for each `by` beside `Offline.scores`, number by number,
and the tables the report prints.

Counts must be equal; scores equal to float tolerance (relative 1e-9: the two sides sum the same float64
numbers in different orders). A group on one side only is a mismatch too.
"""

from __future__ import annotations

import math
import time

from bench.common import table
from bench.replay.offline import Offline
from bench.replay.operator import request

RELATIVE, ABSOLUTE = 1e-9, 1e-12
KEY_FIELD = {"version": "version", "series": "unique_id", "step": "step", "day": "day"}
NOT_SCORES = {"version", "unique_id", "step", "day", "versions"}  # a group's key, and by=day's served counts


def flat(tree, prefix: str = "") -> dict[str, object]:
    """{"naive.wape": 0.1, ...}: the leaves of a scores entry by their path."""
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            if not prefix and key in NOT_SCORES:
                continue
            out.update(flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): tree}


def differences(where: str, live: dict, offline: dict) -> tuple[list[str], float]:
    """The mismatches between two scores entries, and the largest relative difference among the floats."""
    live, offline = flat(live), flat(offline)
    found, largest = [], 0.0
    for path in sorted(set(live) | set(offline)):
        a, b = live.get(path, "absent"), offline.get(path, "absent")
        if isinstance(a, float) and isinstance(b, float):
            largest = max(largest, abs(a - b) / max(abs(b), ABSOLUTE))
            if not math.isclose(a, b, rel_tol=RELATIVE, abs_tol=ABSOLUTE):
                found.append(f"{where} {path}: live {a!r}, offline {b!r}")
        elif a != b or type(a) is not type(b):
            found.append(f"{where} {path}: live {a!r}, offline {b!r}")
    return found, largest


def live_scores(base: str, model: str, days: int, by: str) -> tuple[dict | None, float]:
    """The accuracy route's answer for `by` (None when this build does not group by it: a 422) and its seconds."""
    limit = "&limit=100000" if by == "series" else ""
    url = f"{base}/v1/models/{model}/accuracy?days={days}&by={by}{limit}"
    started = time.perf_counter()
    try:
        answer = request(url)
    except SystemExit as exc:
        if by == "day" and "HTTP 422" in str(exc):
            return None, 0.0
        raise
    return answer, time.perf_counter() - started


def agreement(live: dict, offline: Offline, by: str) -> dict:
    """How the route's answer for `by` compares with the offline scores: groups, mismatches, largest difference."""
    mismatches, largest = differences(f"by={by} overall", live["overall"], offline.scores(None)[None])
    mine = offline.scores(by)
    theirs = {group[KEY_FIELD[by]]: group for group in live["groups"]}
    for key in sorted(set(mine) | set(theirs), key=str):
        found, worst = differences(f"by={by} {KEY_FIELD[by]}={key}", theirs.get(key, {}), mine.get(key, {}))
        mismatches += found
        largest = max(largest, worst)
    return {
        "groups": len(theirs),
        "offline_groups": len(mine),
        "largest_relative_difference": largest,
        "mismatches": mismatches,
    }


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def scores_table(groups: dict, key: str, levels: list[int]) -> str:
    """One row per group: points, WAPE beside naive's, MASE beside naive's, coverage per level."""
    headers = [key, "points", "WAPE %", "naive WAPE %", "MASE", "naive MASE", *(f"cov {lv} %" for lv in levels)]
    rows = [
        [
            name,
            s["points"],
            percent(s["wape"]),
            percent(s["naive"]["wape"]),
            number(s["mase"]),
            number(s["naive"]["mase"]),
            *(percent(s["coverage"].get(str(level))) for level in levels),
        ]
        for name, s in groups.items()
    ]
    return table(headers, rows)


def check() -> None:
    """Self-check (bench.imports): a difference beyond the tolerance is found, one within it is not."""
    entry = {"points": 3, "wape": 0.1, "naive": {"wape": 0.2}, "coverage": {"80": 0.5}, "version": "v"}
    assert differences("x", entry, {**entry, "version": "w"}) == ([], 0.0)
    close = {**entry, "wape": 0.1 * (1 + 1e-12)}
    assert differences("x", entry, close)[0] == []
    assert differences("x", entry, {**entry, "wape": 0.1001})[0] == ["x wape: live 0.1, offline 0.1001"]
    assert differences("x", entry, {**entry, "points": 4})[0] == ["x points: live 3, offline 4"]
    assert differences("x", {**entry, "mase": None}, entry)[0] == ["x mase: live None, offline 'absent'"]
