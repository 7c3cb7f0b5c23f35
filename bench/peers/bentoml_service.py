"""The shipped model behind BentoML: a service whose batchable API BentoML's adaptive batching feeds.

    PAXCAST_PEER_MODEL_DIR=models PAXCAST_PEER_MODEL=air_passengers PAXCAST_PEER_WORKERS=1 \
        bentoml serve bench.peers.bentoml_service:PeerForecast --host 127.0.0.1 --port 8003

As BentoML's adaptive batching guide shows: `@bentoml.api(batchable=True)` on a method that takes a list
and returns a list of the same length; the dispatcher merges the lists of concurrent requests into one
call, with a window it adapts to the traffic. A batchable API's input is that list, so its body is a
JSON array: paxcast's body in brackets, `[{"series": [...], ...}]`, answered by `[{...}]` (a root-input
positional-only parameter, the closest BentoML gets to paxcast's shape; the route is paxcast's). The
bytes cost nothing; what it costs is that a client must wrap and unwrap, and one bad request in a merged
batch fails the others with it (the checks run inside the batch). `PAXCAST_PEER_WORKERS` is the
service's `workers`: BentoML's processes sharing the port. The route and the number of workers are
read from the environment at import, as `bentoml serve` imports this module in every worker.
"""

from __future__ import annotations

import functools
import os

from bench.peers.forecasting import MAX_BATCH_SIZE, MODEL_NAME_VARIABLE, forecast_path

WORKERS_VARIABLE = "PAXCAST_PEER_WORKERS"


@functools.cache
def service_class():
    """The BentoML service class; `bentoml serve` finds it as this module's `PeerForecast`."""
    import bentoml

    @bentoml.service(workers=int(os.environ.get(WORKERS_VARIABLE, "1")), traffic={"timeout": 60})
    class PeerForecast:
        def __init__(self) -> None:
            from bench.peers.forecasting import Forecaster

            self.forecaster = Forecaster.from_environment()

        @bentoml.api(
            batchable=True,
            max_batch_size=MAX_BATCH_SIZE,
            route=forecast_path(os.environ.get(MODEL_NAME_VARIABLE, "air_passengers")),
        )
        def forecast(self, requests: list[dict], /) -> list[dict]:
            prepared = [self.forecaster.prepare(body) for body in requests]
            return [
                self.forecaster.answer(p, rows) for p, rows in zip(prepared, self.forecaster.run(prepared), strict=True)
            ]

    return PeerForecast


def __getattr__(name: str):
    # Built on first access, not at import: `python -m bench.imports` imports this module without BentoML.
    if name == "PeerForecast":
        return service_class()
    raise AttributeError(name)
