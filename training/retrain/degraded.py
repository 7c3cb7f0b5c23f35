"""`paxcast retrain --if-degraded`: does the champion's live accuracy in the store call for a retrain?

The champion is degraded when its live WAPE over the last `days` days (service/store/scoring.py, the numbers
the accuracy route and the live gauges show, of the points the CURRENT version served) is
- worse than its own validation error by more than `margin` percent (relative): live > validation x (1 + margin);
- or worse than live seasonal naive's WAPE on the same points.

What "validation error" is: a global model's card carries validation WAPE, the live number's definition. A
per-series card carries validation MAPE only; it is compared with live WAPE as it is. For one series (a
per-series model serves one) WAPE is the MAPE whose points are weighted by |actual|, so on a positive series
whose level moves little within a horizon the two are close; computing a live MAPE instead would be a second
scorer beside the route's. A card with neither is judged against seasonal naive only.

DEFAULT_MARGIN_PCT, 50 %: validation WAPE is optimistic, since it picked the checkpoint. On the Seoul backtest
(docs/accuracy.md) a healthy model, the best of its peers by MASE, scored 5.03 % out of sample against 3.47 %
on validation, 45 % more; a smaller margin would retrain it every night for no fault. The naive arm catches
what the margin lets through: a model worse than repeating last season is degraded at any margin.

Too few points to judge: fewer scored points than one horizon per scored series (points < horizon x series),
i.e. on average less than one whole forecast per series checked against its actuals. The first steps of a
single forecast are its easiest and their errors move together; a WAPE of them would retrain (or keep) on
noise. No point at all (no actual stored yet) is "not judged" too. A run that cannot judge records the
decision and exits EXIT_NOT_JUDGED, so a scheduler sees that nothing was checked.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from paxcast.service.core.calendar import iso
from paxcast.service.core.contract import ModelCard
from paxcast.service.core.exceptions import StoreUnavailable, UsageError
from paxcast.service.core.history import append_history, utc_now
from paxcast.service.core.publish import locked
from paxcast.service.store.engine import open_store, reason, shown_url
from paxcast.service.store.scoring import score

DEFAULT_LIVE_DAYS = 28  # PAXCAST_LIVE_DAYS' default: the window the gauges show
DEFAULT_MARGIN_PCT = 50.0
MAX_LIVE_DAYS = 3660  # as PAXCAST_LIVE_DAYS and the accuracy route's `days`
EXIT_NOT_JUDGED = 4  # beside 0 (judged: skipped or retrained), 2 (usage), 3 (data), 75 (registry busy)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """`decision` "degraded", "healthy" or "not judged"; `reason` one line; `numbers` what history.jsonl keeps."""

    decision: Literal["degraded", "healthy", "not judged"]
    reason: str
    numbers: dict


def check_flags(days: int, margin: float) -> None:
    if not 1 <= days <= MAX_LIVE_DAYS:
        raise UsageError(f"--live-days must be between 1 and {MAX_LIVE_DAYS}, got {days}")
    if margin < 0:
        raise UsageError(f"--degraded-margin must be >= 0, got {margin:g}")


def validation_error(card: ModelCard) -> dict | None:
    """{"metric", "pct"}: the card's validation WAPE, else its validation MAPE (per-series cards), else None."""
    for metric in ("wape", "mape"):
        value = getattr(card.validation, metric)
        if value is not None:
            return {"metric": metric, "pct": value}
    return None


def pct(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def live_verdict(engine: Engine, name: str, version: str, card: ModelCard, days: int, margin: float) -> Verdict:
    """Judge `version` of model `name` on its points of the last `days` days in the store `engine`."""
    found = score(engine, name, card.season, card.freq, days, "version")
    scores = found.groups.get(version)
    points, series = (scores.points, scores.series) if scores is not None else (0, 0)
    reference = validation_error(card)
    numbers = {
        "days": days,
        "window": {"from": iso(found.window.start, card.freq), "to": iso(found.window.end, card.freq)}
        if found.window
        else None,
        "version": version,
        "points": points,
        "series": series,
        "min_points": card.horizon * series,
        "wape_pct": pct(scores.wape) if scores else None,
        "naive_wape_pct": pct(scores.naive_wape) if scores else None,
        "validation": reference,
        "margin_pct": margin,
        "threshold_pct": reference["pct"] * (1 + margin / 100) if reference else None,
    }
    if found.window is None:
        why = f"champion {version} has no scored points: no actual is stored for any series it forecast"
        return Verdict("not judged", why, numbers)
    to = numbers["window"]["to"]
    if points == 0 or points < numbers["min_points"]:
        why = (
            f"champion {version} has {points} scored points in the last {days} days (to {to}); judging needs at "
            f"least one horizon per series scored, {card.horizon} x {series} = {numbers['min_points']}"
        )
        return Verdict("not judged", why, numbers)
    live, naive = numbers["wape_pct"], numbers["naive_wape_pct"]
    if live is None:  # every actual of the window is zero: WAPE is 0/0
        return Verdict("not judged", f"champion {version}'s live WAPE is undefined: its actuals sum to 0", numbers)
    head = f"champion {version}'s live WAPE {live:.2f}% over {points} points ({days} days to {to})"
    threshold = numbers["threshold_pct"]
    against = (
        f"its validation {reference['metric'].upper()} {reference['pct']:.2f}% by more than {margin:g}% "
        f"({threshold:.2f}%)"
        if reference
        else None
    )
    worse = []
    if reference is not None and live > threshold:
        worse.append(against)
    if naive is not None and live > naive:
        worse.append(f"live seasonal naive's {naive:.2f}% on the same points")
    if worse:
        return Verdict("degraded", f"{head} is worse than {' and than '.join(worse)}", numbers)
    within = f"within {against}" if reference else "(the card has no validation WAPE or MAPE)"
    naive_text = f"not worse than live seasonal naive's {naive:.2f}%" if naive is not None else "no naive score"
    return Verdict("healthy", f"{head} is {within} and {naive_text}; not retrained", numbers)


def judge_store(url: str, name: str, version: str, card: ModelCard, days: int, margin: float) -> Verdict:
    """live_verdict on the store at `url`; StoreUnavailable (one line naming --store) when it cannot be read."""
    engine = open_store(url, "--store")
    try:
        return live_verdict(engine, name, version, card, days, margin)
    except DBAPIError as exc:
        raise StoreUnavailable(f"--store {shown_url(url)}: cannot read the store ({reason(exc)})") from None
    finally:
        engine.dispose()


def record_without_retrain(root: str | Path, name: str, version: str, verdict: Verdict) -> dict:
    """Append the history line of a run that trained nothing ("skipped" when healthy, "not judged"); return it."""
    record = {
        "time": utc_now(),
        "event": "retrain",
        "run": uuid.uuid4().hex,
        "decision": "skipped" if verdict.decision == "healthy" else "not judged",
        "reason": verdict.reason,
        "forced": False,
        "current": version,
        "live": {"decision": verdict.decision, **verdict.numbers},
    }
    with locked(root, name):  # in order with a retrain or rollback running now
        append_history(root, name, record)
    return record
