"""The periodic refresh of the live gauges runs in one worker per metrics directory, not in every worker: the
store's load is one scoring of each model per PAXCAST_LIVE_REFRESH, whatever PAXCAST_WORKERS is.

Two `LiveScores` in one process stand for two workers of one `paxcast serve`: they share the metrics directory
(PROMETHEUS_MULTIPROC_DIR), and each holds its own engine on one real SQLite store, so the spy on `score` tells
which of them scored."""

from __future__ import annotations

import asyncio
import time

from paxcast.service.api import live_accuracy
from paxcast.service.api.live_accuracy import LiveScores
from paxcast.service.core.settings import Settings
from paxcast.service.inference.holder import ServedModels
from paxcast.service.inference.metrics import MULTIPROC_ENV
from paxcast.service.store.engine import open_store


def test_one_worker_refreshes_on_the_interval_and_another_takes_over_when_it_stops(registry, tmp_path, monkeypatch):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "metrics"))
    (tmp_path / "metrics").mkdir()
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    settings = Settings(model_dir=registry, reload_interval=0, store=url, live_refresh=0.02)
    models = ServedModels(settings)
    models.load_all()
    engines = [open_store(url), open_store(url)]
    calls = {id(engine): 0 for engine in engines}
    real = live_accuracy.score

    def spy(engine, *args):
        calls[id(engine)] += 1
        return real(engine, *args)

    monkeypatch.setattr(live_accuracy, "score", spy)

    async def run() -> tuple[int, int, int]:
        first, second = (LiveScores(engine, models, settings) for engine in engines)
        first.start()
        await until(lambda: calls[id(engines[0])] >= 5, "the first worker refreshed five times")
        second.start()
        before = calls[id(engines[0])]
        await until(lambda: calls[id(engines[0])] >= before + 10, "ten more refreshes by the first worker")
        quiet = calls[id(engines[1])]  # ten intervals of the second worker's own loop: none of them scored
        await first.stop()  # its lock goes with it, as with a worker that exits or is killed
        await until(lambda: calls[id(engines[1])] >= 3, "the second worker took over")
        await second.stop()
        return quiet, calls[id(engines[0])], calls[id(engines[1])]

    try:
        quiet, _, taken_over = asyncio.run(run())
    finally:
        for engine in engines:
            engine.dispose()
    assert quiet == 0
    assert taken_over >= 3


async def until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} after {timeout:g} s")
        await asyncio.sleep(0.01)
