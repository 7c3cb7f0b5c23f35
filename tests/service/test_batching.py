"""Dynamic batching: concurrent requests share session runs and each gets exactly its own rows back."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paxcast.service.api.app import create_app
from paxcast.service.core.atomic import write_atomic
from paxcast.service.core.registry import current_version
from paxcast.service.core.request import ForecastRequest
from paxcast.service.core.settings import Settings
from paxcast.service.inference.batching import Batcher
from paxcast.service.inference.predictor import Predictor


class Recorder:
    """A stand-in predictor: row i of the output is row i of the input times 2; records each run's size.

    With a `gate`, every run waits at it until the test opens it; `entered` is set once a run has started.
    """

    def __init__(self, gate: threading.Event | None = None):
        self.runs: list[int] = []
        self.gate = gate
        self.entered = threading.Event()

    def run_rows(self, x: np.ndarray) -> np.ndarray:
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        self.runs.append(len(x))
        return x * 2


async def started(event: threading.Event) -> None:
    """Wait (in a thread, the loop stays free) until a run has set `event`: it is running, held at its gate."""
    assert await asyncio.to_thread(event.wait, 10), "no run started"


async def queued(batcher: Batcher, jobs: int) -> None:
    """Wait until `jobs` jobs wait in the batcher's queue (the tasks that queue them need the loop to run)."""
    deadline = time.monotonic() + 10
    while batcher.queue is None or batcher.queue.qsize() < jobs:
        if time.monotonic() > deadline:
            raise AssertionError(f"{batcher.queue and batcher.queue.qsize()} jobs queued after 10 s, not {jobs}")
        await asyncio.sleep(0.001)


def rows(n: int, first: float) -> np.ndarray:
    return (first + np.arange(n * 3, dtype=np.float32)).reshape(n, 3)


def test_concurrent_jobs_share_runs_and_get_their_rows_back_in_order():
    async def scenario():
        gate = threading.Event()
        model, batcher = Recorder(gate), Batcher("m", max_rows=64, runners=1, inline_rows=0, threaded=True)
        inputs = [rows(k % 5 + 1, 100 * k) for k in range(20)]
        tasks = [asyncio.create_task(batcher.run(model, inputs[0]))]
        await started(model.entered)  # the first run starts and is held at the gate
        tasks += [asyncio.create_task(batcher.run(model, x)) for x in inputs[1:]]
        await queued(batcher, len(inputs) - 1)  # every other job queues while it is busy
        gate.set()
        outputs = await asyncio.gather(*tasks)
        await batcher.stop()
        return model.runs, inputs, outputs

    runs, inputs, outputs = asyncio.run(scenario())
    for x, out in zip(inputs, outputs, strict=True):
        np.testing.assert_array_equal(out, x * 2)
    assert runs == [
        len(inputs[0]),
        sum(len(x) for x in inputs[1:]),
    ]  # the first job alone, then all that queued behind it


def test_a_large_request_runs_in_slices_and_small_ones_overtake_it():
    async def scenario():
        gate = threading.Event()
        model, batcher = Recorder(gate), Batcher("m", max_rows=10, runners=1, inline_rows=0, threaded=True)
        finished = []

        async def call(name, x):
            out = await batcher.run(model, x)
            finished.append(name)
            return out

        big = asyncio.create_task(call("big", rows(100, 0)))
        await started(model.entered)  # its first slice runs, held at the gate
        small = [asyncio.create_task(call(f"small{k}", rows(1, 1000 + k))) for k in range(3)]
        await queued(batcher, 3)  # the small ones queue while it runs; its next slice is not queued yet
        gate.set()
        out = await big
        smalls = await asyncio.gather(*small)
        await batcher.stop()
        return model.runs, finished, out, smalls

    runs, finished, out, smalls = asyncio.run(scenario())
    np.testing.assert_array_equal(out, rows(100, 0) * 2)
    for k, answer in enumerate(smalls):
        np.testing.assert_array_equal(answer, rows(1, 1000 + k) * 2)
    assert runs == [10, 3] + [10] * 9  # the three small ones ran together between its first and second slice
    assert finished == ["small0", "small1", "small2", "big"]


def test_jobs_of_two_versions_never_share_a_run():
    async def scenario():
        gate = threading.Event()
        old, new = Recorder(gate), Recorder(gate)
        batcher = Batcher("m", max_rows=64, runners=1, inline_rows=0, threaded=True)
        tasks = [asyncio.create_task(batcher.run(new, rows(1, 0)))]
        await started(new.entered)  # the first job runs, held at the gate ...
        tasks += [asyncio.create_task(batcher.run(old if k % 2 else new, rows(1, k))) for k in range(1, 6)]
        await queued(batcher, 5)  # ... while five others, of alternating versions, queue behind it
        gate.set()
        outputs = await asyncio.gather(*tasks)
        await batcher.stop()
        return old.runs, new.runs, outputs

    old_runs, new_runs, outputs = asyncio.run(scenario())
    assert old_runs == [1, 1, 1] and new_runs == [1, 1, 1]  # a batch ends where the version changes
    for k, out in enumerate(outputs):
        np.testing.assert_array_equal(out, rows(1, k) * 2)


def test_a_client_that_goes_away_leaves_the_batch_intact():
    async def scenario():
        gate = threading.Event()
        model, batcher = Recorder(gate), Batcher("m", max_rows=64, runners=1, inline_rows=0, threaded=True)
        first = asyncio.create_task(batcher.run(model, rows(1, 0)))
        await started(model.entered)
        leaving = asyncio.create_task(batcher.run(model, rows(2, 10)))
        staying = asyncio.create_task(batcher.run(model, rows(3, 20)))
        await queued(batcher, 2)
        leaving.cancel()
        gate.set()
        out = await staying
        await first
        with pytest.raises(asyncio.CancelledError):
            await leaving
        await batcher.stop()
        return out, model.runs

    out, runs = asyncio.run(scenario())
    np.testing.assert_array_equal(out, rows(3, 20) * 2)
    assert runs == [1, 5]  # the cancelled job's rows still ran with the others


def test_a_failing_run_fails_its_jobs_and_the_runner_goes_on():
    class Flaky(Recorder):
        def run_rows(self, x):
            if len(self.runs) == 0:
                self.runs.append(len(x))
                raise RuntimeError("onnxruntime fell over")
            return super().run_rows(x)

    async def scenario():
        model, batcher = Flaky(), Batcher("m", max_rows=64, runners=1, inline_rows=0, threaded=True)
        with pytest.raises(RuntimeError, match="fell over"):
            await batcher.run(model, rows(1, 0))
        out = await batcher.run(model, rows(1, 5))
        await batcher.stop()
        return out

    np.testing.assert_array_equal(asyncio.run(scenario()), rows(1, 5) * 2)


WINDOW = 24
histories = st.lists(
    st.floats(min_value=1.0, max_value=1e5, allow_nan=False, allow_infinity=False),
    min_size=WINDOW,
    max_size=WINDOW + 12,
)
requests = st.lists(st.lists(histories, min_size=1, max_size=4), min_size=2, max_size=24)


async def post_all(app, bodies):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post("/v1/forecast", json=body) for body in bodies)), app.state.models


def body_of(series, horizon=12):
    return {"series": [{"id": f"s{k}", "history": h} for k, h in enumerate(series)], "horizon": horizon}


@pytest.fixture(scope="module")
def batching_registry(tiny_registry, tmp_path_factory, air_csv):
    """The tiny model plus a second version that forecasts differently (another seed), not made current."""
    from paxcast.training.pipeline import train_and_register
    from tests.conftest import TINY

    root = tmp_path_factory.mktemp("batching")
    shutil.copytree(tiny_registry, root, dirs_exist_ok=True)
    train_and_register(
        air_csv, root, "air_passengers", show_progress=False, make_current=False, **{**TINY, "seed": 7, "ensemble": 1}
    )
    return root


@given(clients=requests)
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_concurrent_clients_get_exactly_the_unbatched_answer(batching_registry, clients):
    """N clients at once through the real app: each answer equals an unbatched call of the version it names."""
    app = create_app(Settings(model_dir=batching_registry, reload_interval=0, batch_max_rows=16))
    responses, _ = asyncio.run(post_all(app, [body_of(series) for series in clients]))
    predictor = Predictor.load(
        batching_registry / "air_passengers" / current_version(batching_registry, "air_passengers")
    )
    for series, response in zip(clients, responses, strict=True):
        assert response.status_code == 200, response.text
        expected = predictor.forecast(ForecastRequest.model_validate(body_of(series))).mean
        got = np.array([f["mean"] for f in response.json()["forecasts"]], dtype=np.float32)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_hot_reload_under_batching_names_the_version_that_computed_each_answer(batching_registry, air_history):
    """Requests keep flowing while CURRENT flips between two versions; every answer matches its named version."""
    root = batching_registry
    base = root / "air_passengers"
    versions = sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    predictors = {v: Predictor.load(base / v) for v in versions}
    rng = np.random.default_rng(0)
    bodies = [body_of([list(rng.uniform(100, 600, WINDOW)) for _ in range(int(rng.integers(1, 4)))]) for _ in range(60)]

    async def scenario():
        app = create_app(Settings(model_dir=root, reload_interval=0, batch_max_rows=8))
        async with app.router.lifespan_context(app):
            holder = app.state.models.get("air_passengers")
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                answers = []
                for round_ in range(6):
                    write_atomic(base / "CURRENT", f"{versions[round_ % 2]}\n".encode())
                    reload = asyncio.to_thread(holder.reload)
                    batch = asyncio.gather(
                        *(client.post("/v1/forecast", json=b) for b in bodies[round_ * 10 : round_ * 10 + 10])
                    )
                    _, responses = await asyncio.gather(reload, batch)
                    answers += responses
                return answers

    answers = asyncio.run(scenario())
    seen = set()
    for body, response in zip(bodies, answers, strict=True):
        version = response.headers["X-Model-Version"]
        seen.add(version)
        assert response.json()["model"]["version"] == version
        expected = predictors[version].forecast(ForecastRequest.model_validate(body)).mean
        np.testing.assert_allclose(np.array([f["mean"] for f in response.json()["forecasts"]]), expected, rtol=1e-6)
    assert seen == set(versions)
    probe = ForecastRequest.model_validate(bodies[0])
    assert not np.allclose(*(predictors[v].forecast(probe).mean for v in versions))  # the versions really differ
    write_atomic(base / "CURRENT", f"{versions[0]}\n".encode())


def test_one_invalid_request_fails_alone_and_batches_are_measured(batching_registry, air_history):
    from prometheus_client import REGISTRY

    def sample(name):
        return REGISTRY.get_sample_value(name, {"model": "air_passengers"}) or 0.0

    good = [body_of([air_history[-WINDOW:]]) for _ in range(15)]
    bad = body_of([air_history[-5:]])
    before = sample("paxcast_batch_rows_count"), sample("paxcast_batch_rows_sum")
    app = create_app(Settings(model_dir=batching_registry, reload_interval=0))
    responses, _ = asyncio.run(post_all(app, good[:7] + [bad] + good[7:]))
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 7 + [422] + [200] * 8
    assert responses[7].json() == {"detail": "series 's0': history has 5 values, the model needs at least 24"}
    runs, rows_run = sample("paxcast_batch_rows_count") - before[0], sample("paxcast_batch_rows_sum") - before[1]
    assert rows_run == 15 and runs < 15  # fifteen rows in fewer runs than requests: they were batched


def test_with_two_runners_a_large_request_runs_two_slices_at_once():
    class Overlap(Recorder):
        def __init__(self):
            super().__init__()
            self.lock, self.now, self.most, self.calls = threading.Lock(), 0, 0, 0
            self.both_running = threading.Barrier(2, timeout=10)

        def run_rows(self, x):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.calls += 1
                first_two = self.calls <= 2
            if first_two:  # the first two runs meet here: each returns only once the other has started
                self.both_running.wait()
            with self.lock:
                self.now -= 1
            return super().run_rows(x)

    async def scenario():
        model, batcher = Overlap(), Batcher("m", max_rows=10, runners=2, inline_rows=0, threaded=True)
        out = await batcher.run(model, rows(100, 0))
        await batcher.stop()
        return model, out

    model, out = asyncio.run(scenario())
    np.testing.assert_array_equal(out, rows(100, 0) * 2)
    assert model.most == 2 and sorted(model.runs) == [10] * 10


def test_with_one_runner_a_large_request_runs_in_a_thread_beside_small_batches():
    class HoldsBig(Recorder):
        def __init__(self):
            super().__init__()
            self.release, self.big_started = threading.Event(), threading.Event()

        def run_rows(self, x):
            if len(x) > 10:
                self.big_started.set()
                assert self.release.wait(10)  # the large request is still running ...
            return super().run_rows(x)

    async def scenario():
        model = HoldsBig()
        batcher = Batcher("m", max_rows=10, runners=1)  # one runner: batches on the event loop
        big = asyncio.create_task(batcher.run(model, rows(100, 0)))
        await started(model.big_started)
        small = await asyncio.wait_for(batcher.run(model, rows(1, 7)), 5)  # ... and a small one is answered
        assert not big.done()
        model.release.set()
        out = await big
        await batcher.stop()
        return small, out, model.runs

    small, out, runs = asyncio.run(scenario())
    np.testing.assert_array_equal(small, rows(1, 7) * 2)
    np.testing.assert_array_equal(out, rows(100, 0) * 2)
    assert runs == [1, 100]
