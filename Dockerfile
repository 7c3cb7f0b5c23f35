# syntax=docker/dockerfile:1
# Targets: `serve` (default, last stage): the API with the base install only, no torch.
#          `trainer`: the same plus the `train` extra, for `paxcast train|retrain` jobs.
#          `ray-trainer`: the trainer plus the `ray` extra, for Ray clusters (deploy/ray).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY training ./training
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAXCAST_HOST=0.0.0.0 \
    PAXCAST_PORT=8000 \
    PAXCAST_MODEL_DIR=/srv/paxcast/models
RUN useradd --system --uid 10001 --create-home --home-dir /srv/paxcast paxcast
WORKDIR /srv/paxcast

FROM runtime AS trainer
COPY --from=build /wheels /wheels
# The CPU build of torch: PyPI's default Linux wheel drags in several GB of CUDA.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \
        "$(ls /wheels/paxcast-*.whl)[train]" \
    && rm -rf /wheels
COPY --chown=10001:10001 data ./data
COPY --chown=10001:10001 models ./models
USER 10001
ENTRYPOINT ["paxcast"]
# The scheduled job: judge a challenger against the served model, promote only if not worse.
CMD ["retrain", "--data", "data/air_passengers.csv", "--registry", "models", "--name", "air_passengers"]

# `ray-trainer`: the trainer plus the `ray` extra, for `--engine ray` and the KubeRay pods of deploy/ray
# (KubeRay runs `ray start` in it; the RayJob's entrypoint is `paxcast retrain --engine ray`).
FROM runtime AS ray-trainer
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \
        "$(ls /wheels/paxcast-*.whl)[train,ray]" \
    && rm -rf /wheels
COPY --chown=10001:10001 data ./data
COPY --chown=10001:10001 models ./models
USER 10001
ENTRYPOINT ["paxcast"]
CMD ["retrain", "--data", "data/seoul_subway_daily/seoul_subway_daily.csv.gz", "--registry", "models", "--name", "seoul_subway_daily", "--engine", "ray"]

FROM runtime AS serve
# The tested dependency set, pinned and hashed (`make lock`), then paxcast alone: users of the
# image get the versions the suite installed (tests/test_packaging.py), whatever PyPI has since.
COPY deploy/requirements-serve.lock /tmp/requirements-serve.lock
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements-serve.lock \
    && pip install --no-cache-dir --no-deps /wheels/paxcast-*.whl \
    && pip check \
    && rm -rf /wheels /tmp/requirements-serve.lock
COPY --chown=10001:10001 models ./models
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["paxcast", "serve"]
