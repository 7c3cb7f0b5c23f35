"""`POST /v1/actuals`: observed values in the long format, written to the store in one transaction.

Disabled (404) unless PAXCAST_INGEST_TOKEN is set; 401 without a bearer token, 403 with a wrong one,
as the admin routes. The body is checked whole before anything is written: more rows than
PAXCAST_MAX_ACTUALS_ROWS is a 413, a bad row a 422 naming its index, its unique_id and the rule,
the same (unique_id, ds) twice in one body a 422 naming both rows. A (unique_id, ds) already stored
is replaced; the answer counts new and replaced rows. A store that cannot be written is a 503 with
the reason, and nothing is written.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, ValidationError
from pydantic_core import from_json
from sqlalchemy.exc import DBAPIError

from paxcast.service.api.schemas import Problem
from paxcast.service.api.tokens import check_bearer
from paxcast.service.core.request import ID_MAX_LENGTH
from paxcast.service.core.settings import Settings
from paxcast.service.store.actuals import write_actuals
from paxcast.service.store.engine import reason
from paxcast.service.store.rows import Actual, ActualsIn, first_repeat

router = APIRouter(prefix="/v1", tags=["actuals"])
bearer = HTTPBearer(auto_error=False, description="PAXCAST_INGEST_TOKEN")
NOTHING_WRITTEN = "; nothing was written"


def require_ingest(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    check_bearer(
        request.app.state.settings.ingest_token,
        credentials,
        needs="POST /v1/actuals needs an 'Authorization: Bearer <token>' header",
        invalid="the ingest token is not valid",
    )


class ActualsWritten(BaseModel):
    rows: int = Field(description="rows in the request")
    new: int = Field(description="rows whose (unique_id, ds) was not stored before")
    replaced: int = Field(description="rows that replaced a stored value")
    negative: int = Field(description="rows with a negative y: stored, but counts are rarely negative")


def row_name(body: object, index: int) -> str:
    """`rows[3] (unique_id 'SEL0011')`, or `rows[3]` when the posted id is not a usable string."""
    try:
        unique_id = body["rows"][index]["unique_id"]  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        unique_id = None
    usable = isinstance(unique_id, str) and 0 < len(unique_id) <= ID_MAX_LENGTH
    return f"rows[{index}] (unique_id {unique_id!r})" if usable else f"rows[{index}]"


def describe(error: dict, body: object) -> str:
    """A pydantic error as one line: `rows[3] (unique_id 'A'): ds: '2020-13-01' is not an ISO date ...`."""
    loc = tuple(error.get("loc", ()))
    message = error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int):
        field = ".".join(str(part) for part in loc[2:])
        return f"{row_name(body, loc[1])}: {field + ': ' if field else ''}{message}"
    return f"{'.'.join(str(part) for part in loc) or 'body'}: {message}"


def parse_actuals(raw: bytes, settings: Settings) -> list[Actual]:
    """The body's rows, each key once; HTTPException 400 (not JSON), 413 (too many rows) or 422 (a bad row)."""
    try:
        body = from_json(raw)
    except ValueError as exc:
        raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
    posted = body.get("rows") if isinstance(body, dict) else None
    if isinstance(posted, list) and len(posted) > settings.max_actuals_rows:
        raise HTTPException(
            413,
            f"request has {len(posted)} rows; the limit is {settings.max_actuals_rows} (PAXCAST_MAX_ACTUALS_ROWS)",
        )
    try:
        parsed = ActualsIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise HTTPException(422, describe(first, body) + NOTHING_WRITTEN) from None
    rows = [Actual(r.unique_id, r.ds, r.y) for r in parsed.rows]
    if repeat := first_repeat(rows):
        earlier, later = repeat
        raise HTTPException(
            422,
            f"{row_name(body, later)}: ds {rows[later].ds.isoformat()} repeats rows[{earlier}]; a request may hold "
            f"each (unique_id, ds) once{NOTHING_WRITTEN}",
        )
    return rows


@router.post(
    "/actuals",
    response_model=ActualsWritten,
    dependencies=[Depends(require_ingest)],
    responses={code: {"model": Problem} for code in (400, 401, 403, 404, 413, 422, 503)},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": ActualsIn.model_json_schema()}}}
    },
)
async def post_actuals(request: Request) -> ActualsWritten:
    """Insert or replace observed values; one transaction, so a refused request writes nothing."""
    rows = parse_actuals(await request.body(), request.app.state.settings)
    try:
        written = await run_in_threadpool(write_actuals, request.app.state.store, rows)
    except DBAPIError as exc:
        raise HTTPException(503, f"the store cannot be written ({reason(exc)}){NOTHING_WRITTEN}") from None
    request.app.state.live.actuals_written(rows)  # scores the forecasts they match, in the background
    return ActualsWritten(
        rows=len(rows), new=written.new, replaced=written.replaced, negative=sum(r.y < 0 for r in rows)
    )
