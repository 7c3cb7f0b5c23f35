"""Issue 30's registry cases: what the service reads from disk. Each works on a copy of the registry in a
temporary directory (the shipped models/ is never touched) and starts its own server on it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.reliability.harness import Options, Server, run_cli
from bench.reliability.loads import forecast_body, series_items

TOKEN = "attacks-admin-token"
FAKE = "20991231T000000Z"  # a version folder name no real version has


def current(registry: Path, name: str) -> str:
    return (registry / name / "CURRENT").read_text().strip()


def card_path(registry: Path, name: str) -> Path:
    return registry / name / current(registry, name) / "model.json"


def edit_card(path: Path, edit) -> None:
    card = json.loads(path.read_text())
    edit(card)
    path.write_text(json.dumps(card, indent=1))  # ensure_ascii: a lone surrogate is written as its \\udXXX escape


@contextlib.contextmanager
def registry_copy(options: Options, data: bool = False):
    """(options pointing at a copy of the registry, and of the data directory when `data`, the copy's root)."""
    with tempfile.TemporaryDirectory(prefix="paxcast-attacks-") as tmp:
        root = Path(tmp)
        shutil.copytree(options.model_dir, root / "models")
        changes = {"model_dir": root / "models"}
        if data:
            shutil.copytree(options.data_dir, root / "data", ignore=shutil.ignore_patterns("tourism", "unseen"))
            changes["data_dir"] = root / "data"
        yield dataclasses.replace(options, **changes), root


def answer(server: Server, method: str, path: str, body: bytes | None = None, headers=None, keep=200) -> dict:
    """Status and the first `keep` characters of the body (all of it when `keep` is None)."""
    try:
        status, _, raw = server.request(method, path, body, headers, timeout=10)
    except OSError as exc:
        return {"status": type(exc).__name__, "body": ""}
    return {"status": status, "body": raw.decode(errors="replace")[:keep]}


def name_in(body: str) -> str | None:
    with contextlib.suppress(ValueError, AttributeError):
        return json.loads(body).get("name")
    return None


def model_info_lines(server: Server, name: str) -> list[str]:
    text = server.get("/metrics")[1].decode()
    return [line for line in text.splitlines() if line.startswith("paxcast_model_info{") and f'"{name}"' in line]


def plant_other_model(registry: Path) -> None:
    """air_passengers/FAKE: general_monthly's card and graph, the card's version edited to match the folder."""
    shutil.copytree(
        registry / "general_monthly" / current(registry, "general_monthly"), registry / "air_passengers" / FAKE
    )
    edit_card(registry / "air_passengers" / FAKE / "model.json", lambda card: card.update(version=FAKE))


def other_models_version(options: Options) -> dict:
    with registry_copy(options) as (opts, root):
        registry = root / "models"
        original = current(registry, "air_passengers")
        plant_other_model(registry)
        rollback = run_cli(
            opts, ["models", "rollback", "--registry", str(registry), "--name", "air_passengers", FAKE], root
        )
        switched = current(registry, "air_passengers") == FAKE
        (registry / "air_passengers" / "CURRENT").write_text(FAKE + "\n")
        server = Server(opts, admin_token=TOKEN)
        try:
            model = answer(server, "GET", "/v1/model", keep=None)
            ready = answer(server, "GET", "/readyz")
            info_fake = model_info_lines(server, "air_passengers")
            (registry / "air_passengers" / "CURRENT").write_text(original + "\n")
            auth = {"Authorization": f"Bearer {TOKEN}"}
            reload = answer(server, "POST", "/v1/admin/reload?model=air_passengers", b"", auth)
            return {
                "status": {"/v1/model": model["status"], "/readyz": ready["status"], "reload-back": reload["status"]},
                "served_as": name_in(model["body"]),
                "v1_model": model["body"][:120],
                "readyz": ready["body"][:120],
                "model_info_while_planted": info_fake,
                "model_info_after_switching_back": model_info_lines(server, "air_passengers"),
                "rollback_cli": {k: v for k, v in rollback.items() if not k.startswith("_")},
                "rollback_switched_current": switched,
            }
        finally:
            server.stop()


def fifo_current(options: Options) -> dict:
    """air_passengers' CURRENT becomes a FIFO once the server runs; then an admin reload, a real switch of
    general_quarterly (does the poller still reach it?) and SIGTERM."""
    with registry_copy(options) as (opts, root):
        registry = root / "models"
        server = Server(opts, admin_token=TOKEN, reload_interval=0.5)
        fifo = registry / "air_passengers" / "CURRENT"
        try:
            fifo.unlink()
            os.mkfifo(fifo)
            time.sleep(2)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            reloads = [answer(server, "POST", "/v1/admin/reload", b"", auth)["status"] for _ in range(2)]
            quarterly = registry / "general_quarterly"
            shutil.copytree(quarterly / current(registry, "general_quarterly"), quarterly / FAKE)
            edit_card(quarterly / FAKE / "model.json", lambda card: card.update(version=FAKE))
            (quarterly / "CURRENT").write_text(FAKE + "\n")
            time.sleep(3)
            other = answer(server, "GET", "/v1/models/general_quarterly")
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(30)
                exited = round(time.monotonic() - started, 1)
            except subprocess.TimeoutExpired:
                exited = "not within 30 s (killed)"
            return {
                "status": {"admin-reload": reloads},
                "general_quarterly_switched": FAKE in other.get("body", ""),
                "sigterm_exit_s": exited,
            }
        finally:
            with contextlib.suppress(OSError):  # a reader blocked in open() is let go by a writer
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            server.stop()


def cards_that_break_later(options: Options) -> dict:
    """air_passengers' data_file holds a lone surrogate; seoul_subway_daily's relative_errors[0][0] is 1e300."""
    with registry_copy(options) as (opts, root):
        registry = root / "models"
        edit_card(card_path(registry, "air_passengers"), lambda card: card.update(data_file="\udc80.csv"))

        def huge(card):
            card["intervals"]["relative_errors"][0][0] = 1e300

        edit_card(card_path(registry, "seoul_subway_daily"), huge)
        server = Server(opts)
        try:
            body = forecast_body(series_items(opts.data_dir, "seoul", 1, 56), 28, [80])
            rows = {
                "card": answer(server, "GET", "/v1/models/air_passengers"),
                "series": answer(server, "GET", "/v1/models/air_passengers/series"),
                "seoul-level": answer(server, "POST", "/v1/models/seoul_subway_daily/forecast", body),
                "models": answer(server, "GET", "/v1/models"),
            }
            return {"status": {k: v["status"] for k, v in rows.items()}, "answers": rows}
        finally:
            server.stop()


DEEP = "[" * 100_000 + "]" * 100_000
RECORD = '{"time": "2026-12-01T00:00:00+00:00", "event": "retrain", "decision": "kept", '  # a valid line, then:
HISTORY_LINES = {
    "5000-digit-integer": RECORD + '"duration_s": ' + "9" * 5000 + "}",
    "lone-surrogate": RECORD + '"reason": "data file \\udc80.csv"}',  # as retrain --data writes a non-UTF-8 name
    "100000-deep": RECORD + '"reason": ' + DEEP + "}",
}
BACKTEST_EDITS = {
    "levels-1e999": lambda text: text.replace('"levels": [', '"levels": [1e999, ', 1),
    "levels-string-80": lambda text: text.replace('"levels": [', '"levels": "80", "was": [', 1),
    "5000-digit-integer": lambda text: text.replace('"levels": [', '"levels": [' + "9" * 5000 + ", ", 1),
    "100000-deep": lambda text: text.replace('"levels": [', '"deep": ' + DEEP + ', "levels": [', 1),
}


def files_read_with_trust(options: Options) -> dict:
    """history.jsonl and backtest.json rewritten before each GET (both are read per request)."""
    with registry_copy(options) as (opts, root):
        folder = root / "models" / "air_passengers"
        history, backtest = folder / "history.jsonl", folder / "backtest.json"
        kept_history = history.read_text() if history.exists() else ""
        kept_backtest = backtest.read_text()
        server = Server(opts)
        try:
            rows = {}
            for name, line in HISTORY_LINES.items():
                history.write_text(kept_history + line + "\n")
                rows[f"history:{name}"] = answer(server, "GET", "/v1/models/air_passengers/history")
            history.write_text(kept_history)
            for name, edit in BACKTEST_EDITS.items():
                backtest.write_text(edit(kept_backtest))
                rows[f"backtest:{name}"] = answer(server, "GET", "/v1/models/air_passengers/backtest")
            return {"status": {k: v["status"] for k, v in rows.items()}, "answers": rows}
        finally:
            server.stop()


def absolute_paths(options: Options) -> dict:
    """A model whose graph is truncated and a data file that is missing: which unauthenticated answers show a
    server path (the temporary root's)?"""
    with registry_copy(options, data=True) as (opts, root):
        registry = root / "models"
        graph = registry / "general_quarterly" / current(registry, "general_quarterly") / "model.onnx"
        graph.write_bytes(graph.read_bytes()[:100])
        (root / "data" / "air_passengers.csv").unlink()
        server = Server(opts)
        try:
            body = forecast_body([{"id": "q", "history": list(range(100, 124))}], 8)
            rows = {
                "/v1/models": answer(server, "GET", "/v1/models", keep=None),
                "/readyz": answer(server, "GET", "/readyz", keep=None),
                "forecast-broken-model": answer(
                    server, "POST", "/v1/models/general_quarterly/forecast", body, keep=None
                ),
                "series-missing-data": answer(server, "GET", "/v1/models/air_passengers/series", keep=None),
            }
            for row in rows.values():  # searched whole, then cut to the table's 200 characters
                row["shows_server_path"] = root.name in row["body"]
                row["body"] = row["body"][:200]
            return {
                "status": {k: v["status"] for k, v in rows.items()},
                "shows_server_path": {k: v["shows_server_path"] for k, v in rows.items()},
                "answers": rows,
            }
        finally:
            server.stop()


def data_file_gone_and_back(options: Options) -> dict:
    """The series list of air_passengers with its data file there, moved away, and back (root cannot make a file
    unreadable by chmod, so its absence stands in for it): is the failure cached?"""
    with registry_copy(options, data=True) as (opts, root):
        data = root / "data" / "air_passengers.csv"
        server = Server(opts)
        try:
            rows = {}
            for label in ("there", "gone", "back"):
                if label == "gone":
                    data.rename(data.with_suffix(".away"))
                elif label == "back":
                    data.with_suffix(".away").rename(data)
                row = answer(server, "GET", "/v1/models/air_passengers/series", keep=None)
                row["available"] = '"available":true' in row["body"]
                row["body"] = row["body"][:200]
                rows[label] = row
            return {
                "status": {k: v["status"] for k, v in rows.items()},
                **{f"available_{k}": v["available"] for k, v in rows.items()},
                "answers": rows,
            }
        finally:
            server.stop()


CASES = {
    "registry-other-models-version": other_models_version,
    "registry-fifo-current": fifo_current,
    "registry-cards-that-break-later": cards_that_break_later,
    "registry-files-read-with-trust": files_read_with_trust,
    "registry-absolute-paths": absolute_paths,
    "registry-data-file-gone-and-back": data_file_gone_and_back,
}
