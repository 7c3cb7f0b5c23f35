"""The shipped model behind Ray Serve: one deployment, `@serve.batch` across requests, paxcast's route and body.

    python -m bench.peers.ray_serve --port 8001 --workers 1    # PAXCAST_PEER_MODEL_DIR, PAXCAST_PEER_MODEL set

As Ray Serve's batching guide shows: an async `@serve.batch` method that takes a list of inputs and
returns a list of the same length, called once per request from the deployment's `__call__`. The
deployment reads the raw body (a starlette Request, as the guide's HTTP examples do) and is routed at
paxcast's own path, so the body and the answer are paxcast's. `--workers` is the number of replicas
(Ray's unit of scale); Ray adds its own processes beside them (GCS, raylet, the controller and one HTTP
proxy), and every request crosses from the proxy to a replica and back.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from bench.peers.forecasting import BATCH_WAIT_S, MAX_BATCH_SIZE, MODEL_NAME_VARIABLE, forecast_path


def application(workers: int):
    """The Serve application: `workers` replicas of the batched forecaster."""
    from ray import serve
    from starlette.requests import Request

    @serve.deployment(num_replicas=workers, ray_actor_options={"num_cpus": 1})
    class PeerForecast:
        def __init__(self) -> None:
            from bench.peers.forecasting import Forecaster

            self.forecaster = Forecaster.from_environment()

        @serve.batch(max_batch_size=MAX_BATCH_SIZE, batch_wait_timeout_s=BATCH_WAIT_S)
        async def run(self, batch: list) -> list:
            return self.forecaster.run(batch)

        async def __call__(self, request: Request) -> dict:
            if request.method == "GET":  # the launcher's readiness check: the model is loaded
                return {"status": "ready"}
            prepared = self.forecaster.prepare(await request.body())
            return self.forecaster.answer(prepared, await self.run(prepared))

    return PeerForecast.bind()


def main(argv: list[str] | None = None) -> None:
    import ray
    from ray import serve

    parser = argparse.ArgumentParser(prog="python -m bench.peers.ray_serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="Serve replicas")
    args = parser.parse_args(argv)
    # Replicas run in Ray worker processes: they read the model from the same environment.
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, runtime_env={"env_vars": dict(peer_environment())})
    serve.start(http_options={"host": "127.0.0.1", "port": args.port})
    serve.run(application(args.workers), route_prefix=forecast_path(os.environ[MODEL_NAME_VARIABLE]))
    # SIGTERM (the launcher's stop) exits through atexit, where ray.init's hook stops the processes it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def peer_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("PAXCAST_PEER_")}


if __name__ == "__main__":
    main()
