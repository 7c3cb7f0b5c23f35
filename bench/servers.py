"""The two baselines bench/http.py serves next to the real service, as uvicorn app factories.

- `torch_app`: the service's own app (create_app: same routes, middleware, checks,
  responses) whose predictor runs the same trained model through PyTorch eager under
  torch.no_grad() instead of onnxruntime. Only the inference engine differs.
- `floor_app`: a bare FastAPI endpoint at the same path that reads the body and returns
  a fixed, pre-rendered forecast: no parsing, no model. It is the HTTP floor.

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
    from paxcast.service import app as service_app
    from paxcast.service.holder import ModelHolder
    from paxcast.service.predictor import Predictor
    from paxcast.service.settings import get_settings

    module = load_module(os.environ["PAXCAST_BENCH_TORCH_MODULE"])
    torch.set_num_threads(get_settings().threads)  # the same intra-op threads as onnxruntime gets

    @dataclass(frozen=True)
    class TorchPredictor(Predictor):
        module: object = None

        def predict(self, x: np.ndarray, horizon: int) -> np.ndarray:
            with torch.no_grad():
                forecast = self.module(torch.from_numpy(x)).numpy()
            return np.ascontiguousarray(forecast[:, :horizon])

    class TorchModelHolder(ModelHolder):
        def load_current(self) -> Predictor:
            checked = super().load_current()  # the same contract checks and metadata
            self.predictor = TorchPredictor(meta=checked.meta, session=checked.session, path=checked.path, module=module)
            return self.predictor

    service_app.ModelHolder = TorchModelHolder  # create_app builds its holder from this name
    return service_app.create_app()


def floor_app():
    horizon = int(os.environ.get("PAXCAST_BENCH_HORIZON", "12"))
    rendered: dict[int, bytes] = {}

    def fixed(n: int) -> bytes:
        if n not in rendered:
            mean = np.full(horizon, 100.0, dtype=np.float32)
            forecasts = [{"id": f"s{i}", "mean": mean} for i in range(n)]
            rendered[n] = orjson.dumps({"model": {"name": "floor", "version": "0"}, "forecasts": forecasts}, option=orjson.OPT_SERIALIZE_NUMPY)
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


def main(argv: list[str] | None = None) -> None:
    """Serve an app factory with the uvicorn options `paxcast serve` uses (service/main.py)."""
    import argparse

    import uvicorn

    from paxcast.service.main import HTTP, LOOP
    from paxcast.service.observability import log_config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("app", help="module:factory, e.g. bench.servers:floor_app or service.main:app_factory")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--loop", default=LOOP)
    parser.add_argument("--http", default=HTTP)
    args = parser.parse_args(argv)
    uvicorn.run(args.app, factory=True, host="127.0.0.1", port=args.port, workers=args.workers, loop=args.loop, http=args.http,
                access_log=False, log_config=log_config("info"), timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
