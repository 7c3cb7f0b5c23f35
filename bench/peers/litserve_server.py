"""The shipped model behind LitServe: a LitAPI with `max_batch_size`/`batch_timeout`, at paxcast's route.

    python -m bench.peers.litserve_server --port 8002 --workers 1    # PAXCAST_PEER_MODEL_DIR, PAXCAST_PEER_MODEL set

As LitServe's batching docs show: `decode_request` turns one request into a model input, `predict` gets
the batch (a list, LitAPI.batch's default for inputs that are not tensors) and returns one output per
input, `encode_response` turns one output into the answer. The API server parses the JSON body with
FastAPI (`request.json()`) and hands the dict to an inference worker process through a queue, so the
checks and the graph run there. `--workers` is `workers_per_device` on the CPU; LitServe starts as many
API server processes (its default, `num_api_servers=None`).
"""

from __future__ import annotations

import argparse
import os

import litserve as ls  # the peers virtualenv only: bench/imports.py skips this module where it is missing

from bench.peers.forecasting import BATCH_WAIT_S, MAX_BATCH_SIZE, MODEL_NAME_VARIABLE, Forecaster, forecast_path


class PeerForecast(ls.LitAPI):
    """Defined at module level: LitServe pickles the API into each inference worker it spawns."""

    def setup(self, device: str) -> None:
        self.forecaster = Forecaster.from_environment()

    def decode_request(self, request: dict):
        return self.forecaster.prepare(request)

    def predict(self, batch: list) -> list:
        return list(zip(batch, self.forecaster.run(batch), strict=True))

    def unbatch(self, output: list) -> list:
        return output

    def encode_response(self, output: tuple) -> dict:
        return self.forecaster.answer(*output)


def server(workers: int) -> ls.LitServer:
    api = PeerForecast(
        max_batch_size=MAX_BATCH_SIZE,
        batch_timeout=BATCH_WAIT_S,
        api_path=forecast_path(os.environ[MODEL_NAME_VARIABLE]),
    )
    return ls.LitServer(api, accelerator="cpu", workers_per_device=workers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.litserve_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="inference workers (workers_per_device)")
    args = parser.parse_args(argv)
    server(args.workers).run(
        host="127.0.0.1", port=args.port, generate_client_file=False
    )  # default logging, as every server here


if __name__ == "__main__":
    main()
