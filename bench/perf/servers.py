"""The two baselines bench/perf/http.py serves next to the real service, as uvicorn app factories.

- `torch_app`: the service's own app (create_app: same routes, middleware, checks,
  responses) whose predictor runs the same trained model through PyTorch eager under
  torch.no_grad() instead of onnxruntime. Only the inference engine differs.
- `floor_app`: a bare FastAPI endpoint at the same path that reads the body and returns
  a fixed, pre-rendered forecast: no parsing, no model. It is the HTTP floor.
- `parse_app`: a FastAPI endpoint that parses the body into the service's ForecastRequest
  with pydantic and returns a fixed forecast of the asked shape: what any FastAPI service
  of this API pays before it touches a model. The reference of issue 12's target.

Configured through the environment: PAXCAST_* as for the service, plus
PAXCAST_BENCH_TORCH_MODULE (a file from bench.common.save_module) and
PAXCAST_BENCH_HORIZON (values per fixed forecast).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response


def torch_app():
    import torch

    from bench.common import load_module
    from paxcast.service.api.app import create_app
    from paxcast.service.core.settings import get_settings
    from paxcast.service.inference import holder
    from paxcast.service.inference.predictor import Predictor

    module = load_module(os.environ["PAXCAST_BENCH_TORCH_MODULE"])
    torch.set_num_threads(get_settings().threads)  # the same intra-op threads as onnxruntime gets

    @dataclass(frozen=True)
    class TorchPredictor(Predictor):
        module: object = None

        @classmethod
        def load(cls, version_dir, threads: int = 1, version: str | None = None) -> Predictor:
            checked = Predictor.load(version_dir, threads, version)  # the same checks and card
            return cls(card=checked.card, session=checked.session, path=checked.path, module=module)

        def run_rows(self, x: np.ndarray) -> np.ndarray:  # what the batcher calls: the engine is all that differs
            with torch.no_grad():
                return self.module(torch.from_numpy(x)).numpy()

    holder.Predictor = TorchPredictor  # the holders load every version through this name
    return create_app()


def floor_app():
    horizon = int(os.environ.get("PAXCAST_BENCH_HORIZON", "12"))
    rendered: dict[int, bytes] = {}

    def fixed(n: int) -> bytes:
        if n not in rendered:
            mean = np.full(horizon, 100.0, dtype=np.float32)
            forecasts = [{"id": f"s{i}", "mean": mean} for i in range(n)]
            rendered[n] = orjson.dumps(
                {"model": {"name": "floor", "version": "0"}, "forecasts": forecasts}, option=orjson.OPT_SERIALIZE_NUMPY
            )
        return rendered[n]

    app = FastAPI()

    @app.post("/v1/forecast")
    async def forecast(request: Request, n: int = 1) -> Response:
        """`n` (query) series in the fixed answer, so a batch request gets a batch-sized response."""
        await request.body()
        return Response(fixed(min(max(n, 1), 10_000)), media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> dict:
        return {"status": "ready"}

    return app


def parse_app():
    from paxcast.service.core.request import ForecastRequest

    app = FastAPI()

    @app.post("/v1/forecast")
    async def forecast(request: Request) -> Response:
        body = ForecastRequest.model_validate_json(await request.body())
        mean = np.full(body.horizon, 100.0, dtype=np.float32)
        forecasts = [{"id": s.id, "mean": mean} for s in body.series]
        return Response(
            orjson.dumps(
                {"model": {"name": "parse", "version": "0"}, "forecasts": forecasts}, option=orjson.OPT_SERIALIZE_NUMPY
            ),
            media_type="application/json",
        )

    @app.get("/readyz")
    async def readyz() -> dict:
        return {"status": "ready"}

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve an app factory with the uvicorn options `paxcast serve` uses (service/api/main.py)."""
    import argparse

    import uvicorn

    from paxcast.service.api.main import HTTP, LOOP
    from paxcast.service.api.observability import log_config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("app", help="module:factory, e.g. bench.perf.servers:floor_app or service.api.main:app_factory")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default=LOOP)
    parser.add_argument("--http", default=HTTP)
    args = parser.parse_args(argv)
    uvicorn.run(
        args.app,
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        http=args.http,
        access_log=False,
        log_config=log_config("info"),
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
