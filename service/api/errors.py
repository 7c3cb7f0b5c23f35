"""Every client error leaves as a 4xx with one readable `detail` line, never a traceback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from paxcast.service.api.responses import JSONBytes
from paxcast.service.core.exceptions import InvalidInput
from paxcast.service.core.request import ID_MAX_LENGTH


def describe_location(loc: tuple, body: object) -> str:
    """('body', 'series', 2, 'history', 5) -> "series 'air': history[5]" using the posted ids."""
    parts = [p for p in loc if p != "body"]
    if len(parts) >= 2 and parts[0] == "series" and isinstance(parts[1], int):
        index = parts[1]
        try:
            series_id = body["series"][index]["id"]  # type: ignore[index]
        except (TypeError, KeyError, IndexError):
            series_id = None
        # an id the schema refuses (not a string, or 100,000 characters) is not echoed back
        usable = isinstance(series_id, str) and 0 < len(series_id) <= ID_MAX_LENGTH
        name = f"series '{series_id}'" if usable else f"series[{index}]"
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[2:]).lstrip(".")
        return f"{name}: {rest}" if rest else name
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".") or "body"


def validation_problem(errors: list, body: object, count: int | None = None) -> JSONBytes:
    """The first validation error as one line naming the series; 400 when the body is not JSON at all.

    `count` is the number of problems when `errors` holds only the first few (service/api/parsing.py).
    """
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    if first.get("type") == "json_invalid":
        return JSONBytes(
            {"detail": f"request body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}"},
            status_code=400,
        )
    where = describe_location(tuple(first.get("loc", ())), body)
    count = len(errors) if count is None else count
    more = f" (and {count - 1} more problems)" if count > 1 else ""
    return JSONBytes({"detail": f"{where}: {first['msg']}{more}"}, status_code=422)


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONBytes:
    return validation_problem(exc.errors(), getattr(exc, "body", None), getattr(exc, "count", None))


async def on_invalid_input(request: Request, exc: InvalidInput) -> JSONBytes:
    return JSONBytes({"detail": str(exc)}, status_code=422)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONBytes:
    return JSONBytes({"detail": str(exc.detail)}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(InvalidInput, on_invalid_input)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
