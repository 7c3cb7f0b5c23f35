"""Dynamic batching: concurrent requests for one model share one `session.run`.

The anchors are Triton's dynamic batcher and Ray Serve's `@serve.batch`. Each served
model has one `Batcher` with one queue. A request's rows, already checked against the
model's card, are queued as jobs of at most `max_rows` rows; a runner takes the oldest
job, adds every job that queued behind it for the same loaded version (up to `max_rows`
rows; waiting up to `wait_us` for more when that is set, never when it is 0), runs them as
one batch and hands each job its rows back, in order.

- With one runner (what the service uses) every batch runs on the event loop: the requests
  parsed while it ran queue up and form the next batch. With several runners batches run
  in worker threads, except a lone small job with nothing queued behind it, which runs at
  once on the event loop as an unbatched call would.
- A large request (more than `max_rows` rows) runs whole in a worker thread when there is one
  runner, beside the batches on the event loop; with several runners it is queued one slice
  per runner at a time, behind whatever small requests arrived meanwhile. Either way it
  cannot starve them.
- A batch holds jobs of one predictor object only, so a hot reload swaps the model
  between batches and every response names the version that computed it.
- A client that goes away leaves its job in the batch; its rows are computed and dropped.
- `runners` > 1 runs that many batches at once in worker threads (one session serves
  concurrent runs): parallel slices. The service keeps one runner and gives a large request
  onnxruntime's intra-op threads instead, which measured faster (`python -m bench.perf.path --big`).
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

import numpy as np

from paxcast.service.core.covariates import CalendarRows
from paxcast.service.inference import metrics
from paxcast.service.inference.predictor import Predictor


@dataclass
class Job:
    predictor: Predictor
    x: np.ndarray  # (rows, window) float32, checked
    future: asyncio.Future
    calendar: np.ndarray | None = None  # (rows, window + horizon, covariates) for a calendar-aware model
    queued_at: float = field(default_factory=time.perf_counter)


class Batcher:
    """One model's queue and its runners."""

    def __init__(
        self,
        model: str,
        max_rows: int,
        wait_us: int = 0,
        runners: int = 1,
        inline_rows: int = 64,
        threaded: bool | None = None,
    ):
        self.model = model
        # One runner runs its batches on the event loop: measured on 2 shared cores, the hop to a worker
        # thread cost more than it freed (docs/performance.md, section 5). Several runners need threads.
        self.threaded = runners > 1 if threaded is None else threaded
        self.max_rows = max_rows
        self.wait_s = wait_us / 1e6
        self.runners = runners
        self.inline_rows = inline_rows
        self.queue: asyncio.Queue[Job] | None = None
        self.tasks: list[asyncio.Task] = []

    async def run(self, predictor: Predictor, x: np.ndarray, calendar: CalendarRows | None = None) -> np.ndarray:
        """Forecast checked rows (n, window) float32 [with their calendar rows] -> (n, model horizon) float32,
        batched with concurrent requests."""
        if self.queue is None:
            self.start()
        if len(x) > self.max_rows and not self.threaded:
            # One runner on the event loop: a large request runs whole in a worker thread beside it (in
            # slices of RUN_ROWS), so small requests keep being batched and answered on the other core.
            # Measured on an idle 2-core host: small requests beside 10,000-series ones 1,440 req/s this
            # way (the previous release) vs 760 with the slices queued on the event loop.
            metrics.observe_batch(self.model, len(x), 0.0)
            return await asyncio.to_thread(run_rows, predictor, x, calendar)
        parts, outstanding = [], collections.deque()
        for start in range(0, len(x), self.max_rows):
            rows = slice(start, start + self.max_rows)
            job = Job(
                predictor,
                x[rows],
                asyncio.get_running_loop().create_future(),
                calendar[rows] if calendar is not None else None,
            )
            await self.queue.put(job)
            outstanding.append(job)
            if (
                len(outstanding) >= self.runners
            ):  # at most one slice per runner in flight: the others queue behind small requests
                parts.append(await self.result(outstanding.popleft()))
        while outstanding:
            parts.append(await self.result(outstanding.popleft()))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @staticmethod
    async def result(job: Job) -> np.ndarray:
        # shield: a client that goes away must not cancel a future the batch will still fill
        return await asyncio.shield(job.future)

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self.tasks = [
            asyncio.get_running_loop().create_task(self.work(), name=f"batcher-{self.model}-{k}")
            for k in range(self.runners)
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks, self.queue = [], None

    def compute(self, predictor: Predictor, x: np.ndarray, calendar: np.ndarray | None, waited: float) -> np.ndarray:
        metrics.observe_batch(self.model, len(x), waited)
        return run_rows(predictor, x, calendar)

    async def work(self) -> None:
        held: Job | None = None  # a job that did not fit the previous batch: it leads the next one
        while True:
            first = held or await self.queue.get()
            held = None
            jobs, rows = [first], len(first.x)
            deadline = time.perf_counter() + self.wait_s
            while rows < self.max_rows:
                job = self.queue.get_nowait() if not self.queue.empty() else None
                if job is None and self.wait_s > 0 and (left := deadline - time.perf_counter()) > 0:
                    try:
                        job = await asyncio.wait_for(self.queue.get(), left)
                    except TimeoutError:
                        job = None
                if job is None:
                    break
                if job.predictor is not first.predictor or rows + len(job.x) > self.max_rows:
                    held = job
                    break
                jobs.append(job)
                rows += len(job.x)
            await self.run_batch(jobs)

    async def run_batch(self, jobs: list[Job]) -> None:
        started = time.perf_counter()
        x = jobs[0].x if len(jobs) == 1 else np.concatenate([job.x for job in jobs])
        calendar = jobs[0].calendar
        if calendar is not None and len(jobs) > 1:
            calendar = np.concatenate([job.calendar for job in jobs])
        waited = started - jobs[0].queued_at
        try:
            if not self.threaded or (len(jobs) == 1 and len(x) <= self.inline_rows and self.queue.empty()):
                out = self.compute(jobs[0].predictor, x, calendar, waited)
            else:
                out = await asyncio.to_thread(self.compute, jobs[0].predictor, x, calendar, waited)
        except Exception as exc:  # a failing run fails its jobs, never the runner
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        start = 0
        for job in jobs:
            if not job.future.done():
                job.future.set_result(out[start : start + len(job.x)])
            start += len(job.x)


def run_rows(predictor: Predictor, x: np.ndarray, calendar: CalendarRows | np.ndarray | None) -> np.ndarray:
    """The predictor's graph on a batch; the calendar goes along only for a model that reads one."""
    return predictor.run_rows(x) if calendar is None else predictor.run_rows(x, calendar)
