"""The served models: one holder per model name, each swapping its predictor in one reference assignment.

A request reads `holder.predictor` once and keeps that object, so a swap never changes
the model under a request that is already running. Holders are independent: one model
failing to load or reload leaves every other model serving.
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path
from typing import NoReturn

from paxcast.service.core.calendar import FREQ_NAMES
from paxcast.service.core.exceptions import InvalidInput, ModelError, VersionRefused
from paxcast.service.core.registry import current_version, list_models
from paxcast.service.core.settings import Settings
from paxcast.service.inference import metrics
from paxcast.service.inference.batching import Batcher
from paxcast.service.inference.predictor import Predictor

log = logging.getLogger("paxcast.reload")


def settle_heap() -> None:
    """Move every object alive now (models, routes, holiday tables) out of the cycle collector's sight.

    Python's full collection walks every long-lived container with the event loop stopped: with the
    three shipped models loaded that was ~96,000 objects and a median 45 ms, many times a second at
    concurrency 16, and it was the p99 (docs/performance.md, section 9). Frozen objects are still freed
    by reference counting, so a version dropped by a swap still goes; the app unfreezes at shutdown.
    Only the young generations are collected first (a full collection costs ~0.1 s in the test process,
    which imports torch and loads models hundreds of times): cyclic garbage already in the oldest
    generation at a swap is frozen with the rest and kept until shutdown. That is what gathered since the
    last full collection, a few hundred milliseconds of requests, once per load.
    """
    gc.collect(1)
    gc.freeze()


class ReloadInProgress(RuntimeError):
    """Another reload of the same model is running."""


class ModelHolder:
    """One model name: the predictor it serves and the versions it refused."""

    def __init__(self, name: str, settings: Settings):
        self.name = name
        self.settings = settings
        self.predictor: Predictor | None = None
        self.problem: str | None = None  # why the model is not serving what CURRENT names, if it is not
        self.refused: dict[str, str] = {}  # version -> why it was refused
        # One runner: batches on the event loop, a large request in a worker thread beside them.
        # PAXCAST_THREADS are onnxruntime's intra-op threads: on an idle 2-core host a 10,000-series
        # batch took 497 ms that way vs 538 ms as parallel slices on two runners (docs/performance.md).
        self.batcher = Batcher(name, settings.batch_max_rows, settings.batch_wait_us)
        self._lock = threading.Lock()

    @property
    def base(self) -> Path:
        return Path(self.settings.model_dir) / self.name

    def load_current(self) -> Predictor:
        """Load the version CURRENT names; ModelError names the path when it cannot (the caller reports it)."""
        try:
            self.switch(blocking=True, recheck=True, report=False)
        except VersionRefused as exc:
            raise ModelError(str(exc)) from None
        return self.predictor

    def reload(self, blocking: bool = True) -> tuple[bool, str]:
        """Switch to the version CURRENT names if it differs and passes every check: (changed, message).

        A version that fails a check is refused and the old predictor keeps serving.
        """
        try:
            return self.switch(blocking=blocking)
        except VersionRefused as exc:
            return False, str(exc)

    def switch(self, blocking: bool = True, recheck: bool = False, report: bool = True) -> tuple[bool, str]:
        """As `reload`, but a refused version raises VersionRefused and a busy holder ReloadInProgress.

        A refusal is logged and counted once, not at every poll; `recheck=True` (the admin
        endpoint, start-up) tries a refused version again; `report=False` leaves logging a refusal to the caller.
        """
        if not self._lock.acquire(blocking=blocking):
            raise ReloadInProgress(f"a reload of model '{self.name}' is already under way")
        try:
            return self._switch(recheck, report)
        finally:
            self._lock.release()

    def _switch(self, recheck: bool, report: bool) -> tuple[bool, str]:
        old = self.predictor
        try:
            version = current_version(self.settings.model_dir, self.name, relative=True)
        except ModelError as exc:
            self.refuse(None, str(exc), old, recheck, report)
        if old is not None and old.version == version:
            self.problem = None
            return False, f"version {version} is already served"
        if version in self.refused and not recheck:
            raise VersionRefused(self.refused[version])
        try:
            new = Predictor.load(
                self.base / version,
                threads=self.settings.threads,
                version=version,
                name=self.name,
                root=self.settings.model_dir,  # what clients see names files inside the registry, never its path
            )
        except ModelError as exc:  # any failed check: card, hash, onnxruntime, probe
            self.refuse(version, f"version {version} refused: {exc}", old, recheck, report)
        self.refused.pop(version, None)
        self.problem = None
        self.predictor = new  # one reference swap; in-flight requests keep `old`
        settle_heap()
        metrics.RELOADS.labels(self.name).inc()
        metrics.model_served(self.name, new.version, old.version if old else None)  # the served name, not the card's
        log.info("serving %s/%s (was %s)", new.name, new.version, old.version if old else None)
        return True, f"now serving version {version}"

    def refuse(
        self, version: str | None, reason: str, old: Predictor | None, recheck: bool, report: bool = True
    ) -> NoReturn:
        """Record a refusal, log and count it once per reason (unless `report` is off); raise VersionRefused."""
        key = version if version is not None else "CURRENT"
        if report and (recheck or self.refused.get(key) != reason):
            metrics.RELOAD_FAILURES.labels(self.name).inc()
            log.warning(
                "model %s: reload refused: %s; still serving %s", self.name, reason, old.version if old else "nothing"
            )
        self.refused[key] = reason
        self.problem = reason
        raise VersionRefused(reason)


class ServedModels:
    """Every model one process serves, by name, and which of them is the default (`POST /v1/forecast`)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        names = settings.models or list_models(settings.model_dir)
        if not names:
            raise ModelError(f"{settings.model_dir}: no model with a CURRENT pointer to serve")
        if settings.model_name not in names:
            raise ModelError(
                f"PAXCAST_MODEL_NAME '{settings.model_name}' is not among the served models ({', '.join(names)})"
            )
        self.holders = {name: ModelHolder(name, settings) for name in names}
        self.default = settings.model_name

    def load_all(self) -> dict[str, str]:
        """Load every model; return name -> why, for those that failed. Fails only when none loads."""
        failed = {}
        for name, holder in self.holders.items():
            try:
                holder.load_current()
            except ModelError as exc:
                failed[name] = str(exc)
        if len(failed) == len(self.holders):  # the operator reads this one: it names the registry in full
            raise ModelError(f"no model in {self.settings.model_dir} loads: {'; '.join(failed.values())}")
        return failed

    def get(self, name: str) -> ModelHolder | None:
        return self.holders.get(name)

    def for_freq(self, freq: str | None) -> str:
        """The model POST /v1/forecast uses: the one mapped to the request's `freq`, else the default."""
        if freq is None:
            return self.default
        name = self.settings.models_by_freq.get(freq)
        if name is None or name not in self.holders:
            served = {f: n for f, n in self.settings.models_by_freq.items() if n in self.holders}
            mapped = ", ".join(f"{f} -> {n}" for f, n in served.items()) or "none"
            raise InvalidInput(
                f"freq {freq!r}: no model is served for {FREQ_NAMES[freq]} series here (PAXCAST_MODELS_BY_FREQ "
                f"served: {mapped}); post to /v1/models/<name>/forecast, or leave out freq for the default model"
            )
        return name

    async def stop(self) -> None:
        """Stop every model's batch runners (the app's shutdown)."""
        for holder in self.holders.values():
            await holder.batcher.stop()

    def reload_all(self) -> None:
        """One poll: each model follows its CURRENT; a busy or failing model never stops the others."""
        for holder in self.holders.values():
            try:
                holder.reload(blocking=False)
            except ReloadInProgress:
                continue
            except Exception:  # a check that breaks in a way nobody foresaw: this model's trouble, not the poll's
                log.exception("model %s: reload failed; the other models are still polled", holder.name)
