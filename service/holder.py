"""Holds the predictor being served and swaps it for a new version in one reference assignment.

A request reads `holder.predictor` once and keeps that object, so a swap never
changes the model under a request that is already running.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from paxcast.service import metrics
from paxcast.service.predictor import Predictor
from paxcast.service.registry import ModelError, current_version
from paxcast.service.settings import Settings

log = logging.getLogger("paxcast.reload")


class ReloadInProgress(RuntimeError):
    """Another reload is running."""


class VersionRefused(ModelError):
    """CURRENT names a version that fails a check; the old predictor keeps serving."""


class ModelHolder:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.predictor: Predictor | None = None
        self._lock = threading.Lock()
        self.refused: dict[str, str] = {}  # version -> why it was refused

    @property
    def base(self) -> Path:
        return Path(self.settings.model_dir) / self.settings.model_name

    def load_current(self) -> Predictor:
        """Load the version CURRENT names; raise ModelError with the path when it cannot."""
        version = current_version(self.settings.model_dir, self.settings.model_name)
        predictor = Predictor.load(self.base / version, threads=self.settings.threads)
        self.predictor = predictor
        metrics.model_served(predictor.name, predictor.version)
        return predictor

    def reload(self, blocking: bool = True) -> tuple[bool, str]:
        """Switch to the version CURRENT names if it differs and passes every check.

        Returns (changed, message). A version that fails a check is refused and the
        old predictor keeps serving.
        """
        try:
            return self.switch(blocking=blocking)
        except VersionRefused as exc:
            return False, str(exc)

    def switch(self, blocking: bool = True, recheck: bool = False) -> tuple[bool, str]:
        """As `reload`, but a refused version raises VersionRefused and a busy holder ReloadInProgress.

        A refused version is remembered, so the poller neither reloads nor re-logs it every
        interval; `recheck=True` (the admin endpoint) tries it again.
        """
        if not self._lock.acquire(blocking=blocking):
            raise ReloadInProgress("a reload is already under way")
        try:
            try:
                version = current_version(self.settings.model_dir, self.settings.model_name)
            except ModelError as exc:
                log.warning("reload refused: %s", exc)
                metrics.RELOAD_FAILURES.inc()
                raise VersionRefused(str(exc)) from None
            old = self.predictor
            if old is not None and old.version == version:
                return False, f"version {version} is already served"
            if version in self.refused and not recheck:
                raise VersionRefused(self.refused[version])
            try:
                new = Predictor.load(self.base / version, threads=self.settings.threads)
            except Exception as exc:  # any failed check (hash, contract, onnxruntime, probe) refuses the version
                reason = f"version {version} refused: {exc}"
                self.refused[version] = reason
                metrics.RELOAD_FAILURES.inc()
                log.warning("reload refused: %s; still serving %s", reason, old.version if old else None)
                raise VersionRefused(reason) from None
            self.refused.pop(version, None)
            self.predictor = new  # one reference swap; in-flight requests keep `old`
            metrics.RELOADS.inc()
            metrics.model_served(new.name, new.version, old.version if old else None)
            log.info("serving %s/%s (was %s)", new.name, new.version, old.version if old else None)
            return True, f"now serving version {version}"
        finally:
            self._lock.release()
