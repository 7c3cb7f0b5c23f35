"""Champion/challenger retraining: a new model is promoted only if it is not worse than the served one.

`retrain()` reads top to bottom:
  1. snapshot and validate the data against the champion's contract — nothing is written
     to the registry before this passes, so bad data leaves it untouched;
  2. under the registry lock, fit the challenger (the champion's settings, plus any explicit
     overrides) on the data before the hold-out — the last `horizon` points of every series —
     and score it as the service would answer (registered in a scratch registry, through the
     `Predictor`); score the champion on the same hold-out: its served version when
     history.jsonl proves its training data ended before the hold-out, otherwise its settings
     refitted on the same data;
  3. promote — train on all the data through `train_and_register`, the one training path —
     or keep the champion;
  4. write the history line ("promoting" for a promotion), switch CURRENT, prune and complete
     the line, as one step that signals do not split; a SIGKILL inside it leaves a
     "promoting" line that the next run completes (`reconcile_history`), so no promotion is
     ever missing from history.jsonl.

Over 300 lines on purpose: the four steps and their failure paths read as one sequence under one lock;
what could leave (scoring, the registry's writes and history) already lives in `retrain.scores` and
`service.core`.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy.exc import DBAPIError

from paxcast.service.core.calendar import FREQ_NAMES, parse_timestamp
from paxcast.service.core.contract import ModelCard, read_card, sha256_of
from paxcast.service.core.covariates import Calendar
from paxcast.service.core.exceptions import DataError, ModelError, StoreUnavailable, UsageError
from paxcast.service.core.history import append_history, complete_history, read_history, reconcile_history, utc_now
from paxcast.service.core.hyperparameters import GlobalTrainConfig, TrainConfig, flag_fields, make_config
from paxcast.service.core.publish import clean_staging, locked, prune, publishing, set_current
from paxcast.service.core.registry import current_version
from paxcast.service.inference.predictor import Predictor, check_servable
from paxcast.service.store.engine import open_store, reason, shown_url
from paxcast.service.store.series_file import served_ids, write_series_file
from paxcast.training.backtest.splits import Split, split_series
from paxcast.training.data import Series, read_series, require_length
from paxcast.training.network.pipeline import FittedGlobal, check_global_series, fit_global
from paxcast.training.pipeline import train_and_register
from paxcast.training.retrain.degraded import check_flags, judge_store, record_without_retrain
from paxcast.training.retrain.scores import judge, score
from paxcast.training.series.designs import check_series
from paxcast.training.series.pipeline import Fitted, fit
from paxcast.training.served import served_predictor

# A staging directory lives for the milliseconds of one registration; an hour-old one belongs to a killed run.
STALE_STAGING_S = 3600


@dataclasses.dataclass
class Champion:
    """The version CURRENT names and its card."""

    version: str
    card: ModelCard
    path: Path


@dataclasses.dataclass(frozen=True)
class Degraded:
    """`--if-degraded`: the live window in days and the margin over validation error (percent)."""

    days: int
    margin: float


@dataclasses.dataclass
class Outcome:
    """What a retrain decided; `record` is the line appended to history.jsonl."""

    promoted: bool
    current: str
    record: dict


def read_champion(root: str | Path, name: str) -> Champion:
    """The current version's card (hash not checked here: a refit needs only its settings)."""
    try:
        version = current_version(root, name)
    except ModelError as exc:
        raise ModelError(f"no champion to retrain: {exc}; register a first model with `paxcast train`") from None
    path = Path(root) / name / version
    return Champion(version=version, card=read_card(path, verify_hash=False), path=path)


def champion_config(champion: Champion, **overrides) -> TrainConfig | GlobalTrainConfig:
    """The champion's hyperparameters with `overrides` applied; the served shape (window, horizon, season) stays."""
    kind = type(champion.card.hyperparameters)
    allowed = flag_fields(kind, retrainable=True)
    changes = {key: value for key, value in overrides.items() if value is not None}
    for key in changes:
        if key not in kind.model_fields:
            other = "per-series" if kind is GlobalTrainConfig else "global"
            raise UsageError(f"--{key} applies to {other} models; {champion.card.name} is not one")
        if key not in allowed:
            kept = getattr(champion.card.hyperparameters, key, None)
            raise UsageError(
                f"retrain keeps the champion's {key} ({kept}); to change it, train a new model with `paxcast train`"
            )
    return make_config(kind, **{**champion.card.hyperparameters.model_dump(), **changes})


def champion_calendar(champion: Champion) -> Calendar | None:
    """A global champion's calendar, rebuilt from its card (holiday dates embedded there, never re-read)."""
    spec = champion.card.covariates
    return Calendar.of(champion.card.freq, spec) if spec is not None else None


def check_data(path: str | Path, series: list[Series], config: TrainConfig, champion: Champion) -> None:
    """Refuse data that does not fit the champion's contract or is too short for a hold-out, before training."""
    freq, want = series[0].freq, champion.card.freq
    if freq != want:
        raise DataError(
            f"{path}: the data is {FREQ_NAMES.get(freq, freq)}; "
            f"champion {champion.version} forecasts {FREQ_NAMES.get(want, want)} series"
        )
    w, h = config.window, config.horizon
    if isinstance(config, GlobalTrainConfig):  # one network across the series: the longest must hold the windows
        check_global_series(path, split_series(series, Split.holdout(h))[0], config)
        return
    require_length(path, series, w + 2 * h + 1, f"window {w} + horizon {h} + 1 validation window + a hold-out of {h}")
    check_series(path, series, config)


def fit_challenger(
    series: list[Series], config, champion: Champion, workdir: Path, show_progress: bool | None, trainer=None
) -> Fitted | FittedGlobal:
    """The champion's kind of model with `config`, fitted on `series` (the one fit of either kind).

    `trainer` (global models: `network.ray.RayTrainer`) trains in place of `train_global`."""
    if isinstance(config, GlobalTrainConfig):
        holiday_file = champion.card.covariates.holiday_file
        elsewhere = {} if trainer is None else {"train": trainer}
        return fit_global(
            series, config, champion_calendar(champion), workdir, holiday_file, show_progress, **elsewhere
        )
    return fit(series, config, workdir, show_progress=show_progress)


def served_is_clean(root: str | Path, name: str, champion: Champion, series: list[Series], horizon: int) -> bool:
    """True when history.jsonl shows the champion was trained on data that ended before every series' hold-out."""
    promotions = [
        r for r in read_history(root, name) if r.get("decision") == "promoted" and r.get("current") == champion.version
    ]
    through = promotions[-1].get("data", {}).get("through") if promotions else None
    if not isinstance(through, dict):
        return False
    try:
        return all(
            s.id not in through or parse_timestamp(through[s.id]) < s.timestamp(len(s.y) - horizon) for s in series
        )
    except (TypeError, ValueError):
        return False


def score_champion(
    root: str | Path,
    name: str,
    champion: Champion,
    config: TrainConfig,
    challenger: Predictor,
    series: list[Series],
    before: list[Series],
    actual: np.ndarray,
    workdir: Path,
    show_progress: bool | None,
    trainer=None,
) -> tuple[str, dict]:
    """(basis, scores) of the champion on the challenger's hold-out.

    The served ONNX counts only when it provably never saw the hold-out and its hash
    still matches; otherwise the champion's settings are refitted on the data before it
    (with no overrides that is exactly the challenger's fit, so that fit is reused).
    """
    if served_is_clean(root, name, champion, series, config.horizon):
        try:
            return "served model (trained on data that ends before the hold-out)", score(
                Predictor.load(champion.path), before, actual
            )
        except ModelError:
            pass  # a damaged artefact: judge the champion by its settings instead
    settings = champion_config(champion)
    if settings == config:
        return "champion's settings refitted before the hold-out (the same fit as the challenger's)", score(
            challenger, before, actual
        )
    (workdir / "champion").mkdir()
    refit = fit_challenger(before, settings, champion, workdir / "champion", show_progress, trainer)
    return "champion's settings refitted before the hold-out", score(
        served_predictor(refit, workdir / "champion" / "served", "retrain"), before, actual
    )


def snapshot(data: str | Path, workdir: Path) -> tuple[Path, list[Series]]:
    """Copy the data file so a writer replacing it mid-run cannot change what is trained; read and validate it."""
    copy = workdir / Path(data).name
    try:
        shutil.copyfile(data, copy)
    except OSError as exc:
        raise DataError(f"{data}: cannot read the file ({exc.strerror})") from None
    try:
        return copy, read_series(copy)
    except DataError as exc:
        raise DataError(str(exc).replace(str(copy), str(data))) from None


def trained_ids(root: str | Path, name: str) -> set[str]:
    """The ids of the data the newest recorded run trained on (history.jsonl's `data.through`)."""
    for record in reversed(read_history(root, name)):
        through = record.get("data", {}).get("through") if isinstance(record.get("data"), dict) else None
        if isinstance(through, dict) and through:
            return set(through)
    return set()


def snapshot_store(url: str, root: str | Path, name: str, workdir: Path) -> tuple[str, Path, list[Series]]:
    """(label, file, series): the model's series exported from the store at `url` into `workdir`, then read
    and validated as a data file is (store.series_file says which series and why a file)."""
    label = f"--store {shown_url(url)}"
    engine = open_store(url, "--store")
    copy = workdir / f"{name}.csv.gz"
    try:
        ids = served_ids(engine, name) | trained_ids(root, name)
        if not ids:
            raise DataError(
                f"{label}: no series of model {name}: it has served no forecast with an id and a start, and "
                "history.jsonl names none it was trained on"
            )
        if write_series_file(engine, ids, copy) == 0:
            raise DataError(f"{label}: no actuals stored for any of model {name}'s {len(ids)} series")
    except DBAPIError as exc:
        raise StoreUnavailable(f"{label}: cannot read the store ({reason(exc)})") from None
    finally:
        engine.dispose()
    try:
        return label, copy, read_series(copy)
    except DataError as exc:
        raise DataError(str(exc).replace(str(copy), f"{label} (model {name}'s series)")) from None


def describe_data(data: str | Path, data_copy: Path, series: list[Series]) -> dict:
    """What history.jsonl records of the data: file, sha256, size, and the last timestamp of each series."""
    return {
        "file": str(data),
        "sha256": sha256_of(data_copy),
        "rows": int(sum(len(s.y) for s in series)),
        "series": len(series),
        "through": {s.id: s.timestamp(len(s.y) - 1).isoformat() for s in series},
    }


def retrain(
    data: str | Path | None,
    root: str | Path,
    name: str,
    max_regression: float = 0.0,
    force: bool = False,
    keep: int = 10,
    show_progress: bool | None = False,
    trainer=None,
    store: str | None = None,
    if_degraded: Degraded | None = None,
    **overrides,
) -> Outcome:
    """Train a challenger on `data` (a file) or on the model's series in `store` (a database URL), judge it
    against the champion, promote or keep; one history line.

    Raises DataError (bad data, registry untouched), RegistryBusy (another run holds the lock),
    ModelError (no usable champion), UsageError (impossible settings). `trainer` (global champions:
    `network.ray.RayTrainer`) trains every fit of the run on a Ray cluster; the rest runs here. With
    `if_degraded` (and `store`) it first judges the champion's live accuracy (retrain.degraded) and, unless it
    is degraded, records why and trains nothing.
    """
    started = time.monotonic()
    if max_regression < 0:
        raise UsageError(f"--max-regression must be >= 0, got {max_regression:g}")
    if keep < 1:
        raise UsageError(f"--keep must be at least 1, got {keep}")
    live = None
    if if_degraded is not None:
        if store is None:
            raise UsageError("--if-degraded judges live accuracy in a store: give --store URL")
        check_flags(if_degraded.days, if_degraded.margin)
        champion = read_champion(root, name)
        live = judge_store(store, name, champion.version, champion.card, if_degraded.days, if_degraded.margin)
        if live.decision != "degraded":
            record = record_without_retrain(root, name, champion.version, live)
            return Outcome(promoted=False, current=champion.version, record=record)
    with tempfile.TemporaryDirectory(prefix="paxcast-retrain-") as tmp:
        workdir = Path(tmp)
        if store is not None:
            data, data_copy, series = snapshot_store(store, root, name, workdir)
        else:
            data_copy, series = snapshot(data, workdir)
        champion = read_champion(root, name)
        config = champion_config(champion, **overrides)
        if trainer is not None and not isinstance(config, GlobalTrainConfig):
            raise UsageError(f"--engine ray retrains global models; champion {name}/{champion.version} is per-series")
        check_data(data, series, config, champion)

        with locked(root, name):
            clean_staging(root, name, min_age=STALE_STAGING_S)  # leftovers of killed runs, never a live one
            reconcile_history(root, name)  # a killed run's "promoting" line: did its switch happen?
            latest = read_champion(root, name)
            if latest.version != champion.version:  # a rollback landed before we got the lock
                champion, config = latest, champion_config(latest, **overrides)
                check_data(data, series, config, champion)
            before, actual = split_series(series, Split.holdout(config.horizon))
            (workdir / "challenger").mkdir()
            challenger_fit = fit_challenger(before, config, champion, workdir / "challenger", show_progress, trainer)
            calendar = champion_calendar(champion)
            challenger = served_predictor(challenger_fit, workdir / "challenger" / "served", "retrain")
            challenger_scores = score(challenger, before, actual)

            basis, champion_scores = score_champion(
                root,
                name,
                champion,
                config,
                challenger,
                series,
                before,
                actual,
                workdir,
                show_progress,
                trainer,
            )
            # MAPE is undefined at zero passengers; a global model is judged as its checkpoint was picked:
            # stations by pooled WAPE, a general model by mean MASE (every series alike).
            metric = config.metric if calendar is not None else "smape" if np.any(actual == 0) else "mape"
            promote, reason = judge(challenger_scores[metric], champion_scores[metric], metric, max_regression, force)
            new_version = None
            if promote:
                new_version, _ = train_and_register(
                    data_copy,
                    root,
                    name,
                    show_progress=show_progress,
                    make_current=False,
                    kind="global" if calendar is not None else "per-series",
                    calendar=calendar,
                    holiday_file=champion.card.covariates.holiday_file if calendar is not None else None,
                    trainer=trainer,
                    **config.model_dump(exclude={"model", "features"}),
                )
            with publishing():
                record = {
                    "time": utc_now(),
                    "event": "retrain",
                    "run": uuid.uuid4().hex,
                    "decision": "promoting" if new_version is not None else "kept",
                    "reason": reason,
                    "forced": force,
                    "current": new_version or champion.version,
                    "data": describe_data(data, data_copy, series),
                    "holdout": {
                        "points": int(np.isfinite(actual).sum()),
                        "horizon": config.horizon,
                        "metric": metric,
                    },
                    "challenger": {
                        "version": new_version,
                        **challenger_scores,
                        "settings": {k: getattr(config, k) for k in flag_fields(type(config), retrainable=True)},
                    },
                    "champion": {"version": champion.version, **champion_scores, "basis": basis},
                    "max_regression_pct": max_regression,
                    **(
                        {"live": {"decision": live.decision, "reason": live.reason, **live.numbers}}
                        if live is not None
                        else {}
                    ),
                    "pruned": [],
                    "duration_s": None,
                }
                if new_version is not None:
                    append_history(root, name, record)  # first: a full disk stops us before the switch
                    set_current(root, name, new_version, check=check_servable)
                record["pruned"] = prune(root, name, keep)
                record["duration_s"] = round(time.monotonic() - started, 2)
                if new_version is not None:
                    record["decision"] = "promoted"
                    complete_history(root, name, record["run"], record)
                else:
                    append_history(root, name, record)
    return Outcome(promoted=promote, current=record["current"], record=record)
