"""Run the service under uvicorn: `paxcast serve` and the Docker image's command."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys

import uvicorn

from paxcast.service.api import metrics, observability
from paxcast.service.core.exceptions import ModelError, StoreUnavailable
from paxcast.service.core.settings import Settings, SettingsError, load_settings
from paxcast.service.inference.holder import ServedModels
from paxcast.service.store.engine import open_store

# Measured in bench/perf/tuning.py (docs/performance.md): under overload (64 connections) uvloop
# left some requests waiting 1-2 s (p99) where the stdlib loop's p99 stayed near 0.15 s at
# the same throughput. httptools parses HTTP; service/api/http_protocol.py adds TCP_NODELAY.
LOOP, HTTP = "asyncio", "paxcast.service.api.http_protocol:HttpToolsNoDelay"


def run(host: str | None = None, port: int | None = None) -> None:
    try:
        settings = load_settings(**{k: v for k, v in {"host": host, "port": port}.items() if v is not None})
        check_host(settings)
    except SettingsError as exc:
        print(f"paxcast serve: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    try:
        failed = ServedModels(settings).load_all()  # fail fast with one line when nothing can be served
    except ModelError as exc:
        print(f"paxcast serve: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    for name, reason in failed.items():  # served without it; /readyz names it until it loads
        print(f"paxcast serve: model {name} is not served: {reason}", file=sys.stderr)
    try:  # created and migrated once, before the workers start: they find it up to date
        if settings.needs_store():
            open_store(settings.store_url()).dispose()
    except StoreUnavailable as exc:
        print(f"paxcast serve: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    # uvicorn drains in-flight requests on SIGTERM, then re-raises the signal; a handler of
    # ours turns that into exit status 0 so orchestrators see a clean stop.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    metrics.prepare_multiprocess(settings.workers)
    uvicorn.run(
        "paxcast.service.api.main:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        access_log=False,  # service/api/observability.py writes one JSON line per request
        log_config=observability.log_config(settings.log_level),
        loop=LOOP,
        http=HTTP,  # its head deadline and connection cap replace uvicorn's limit_concurrency
        timeout_graceful_shutdown=10,
    )


def check_host(settings: Settings) -> None:
    """Resolve the bind address before anything starts: uvicorn's own error would not name it."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise SettingsError(f"PAXCAST_HOST={settings.host!r} cannot be resolved ({exc})") from None
    # Bind once, as uvicorn will (SO_REUSEADDR), so a port in use is one line before any
    # model loads or worker starts, not five "serving" lines and uvicorn's Errno 98.
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise SettingsError(
                f"PAXCAST_PORT={settings.port} cannot be bound on PAXCAST_HOST={settings.host!r} ({exc.strerror})"
            ) from None


def _exit_cleanly(signum, frame) -> None:
    raise SystemExit(0)


def app_factory():
    """What each uvicorn worker runs: process-wide log record settings, then the app."""
    from paxcast.service.api.app import create_app

    die_with_supervisor()
    observability.lean_log_records()
    return create_app()


def die_with_supervisor() -> None:
    """In a uvicorn worker (a spawned child): ask Linux to SIGTERM it when the supervisor dies.

    A SIGKILLed supervisor runs no shutdown: its workers kept serving as orphans and held the port, and
    the metrics directory it made was left behind (the app's shutdown now removes it: metrics.remove_if_orphaned).
    """
    import ctypes
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent.pid:  # the supervisor died before the prctl call
        os.kill(os.getpid(), signal.SIGTERM)
