"""Parse a forecast body so that refusing it never costs much more than reading it.

One 8 MB body of four million wrong-type items used to cost ~30 s of event-loop time
and ~5 GB (issue 15): pydantic built four million errors, then a Python dict for each,
then the body was parsed a second time only to name the series. Now:

- lists stop at their first bad item (`fail_fast` in schemas.py), so the only errors
  that can still come by the million are unknown fields; above REPORTED_ERRORS of them
  no error dict is built (`error_count()` is free), and one problem is found by
  validating again with unknown fields ignored;
- the series named in a message comes from the ids the validator saw (schemas.py
  records them in the validation context), not from a second parse of the body;
- bodies above OFF_LOOP_BYTES are first checked from their first PREFIX_BYTES (a partial
  parse, ~1 ms): a problem that is certain there (the value it is about is complete in
  the prefix) refuses the body at once. Otherwise they are validated in a worker thread.
  pydantic holds the GIL while it validates (~0.15 s for 8 MB on our 2-core machine), so
  that thread still delays the event loop; it costs what a valid body of the same size costs.
"""

from __future__ import annotations

import json

from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ConfigDict, Field, ValidationError
from pydantic_core import from_json
from starlette.requests import Request

from paxcast.service.core.request import ForecastRequest, SeriesIn

# More errors than this are counted, never turned into dicts (~1 KB and ~5 µs each).
REPORTED_ERRORS = 1000
# Smaller bodies validate in well under a millisecond: a thread hop would cost more.
OFF_LOOP_BYTES = 64 * 1024
# The prefix a big body is checked from first; it holds at most ~2,000 problems.
PREFIX_BYTES = 16 * 1024
# What cutting a body short can cause; any other problem in the prefix is in the body too.
TRUNCATION_ERRORS = ("missing", "too_short")


class RequestInvalid(RequestValidationError):
    """A body that failed validation: its first problem(s), how many there were, and the ids seen."""

    def __init__(self, errors: list, count: int, ids: list):
        super().__init__(errors, body={"series": [{"id": series_id} for series_id in ids]})
        self.count = count


class _SeriesIgnoringExtras(SeriesIn):
    model_config = ConfigDict(extra="ignore")


class _RequestIgnoringExtras(ForecastRequest):
    model_config = ConfigDict(extra="ignore")

    series: list[_SeriesIgnoringExtras] = Field(min_length=1, fail_fast=True)


def parse_forecast_request(raw: bytes) -> ForecastRequest:
    """Validate the body as JSON whatever its Content-Type (`curl -d` sends a form type); raise RequestInvalid."""
    ids: list = []
    try:
        return ForecastRequest.model_validate_json(raw, context={"ids": ids})
    except ValidationError as exc:
        count = exc.error_count()
        if count <= REPORTED_ERRORS:
            raise RequestInvalid(exc.errors(include_url=False, include_input=False), count, ids) from None
    # Only unknown fields come by the thousand; find a problem that is not one, if there is any.
    ids = []
    try:
        _RequestIgnoringExtras.model_validate_json(raw, context={"ids": ids})
    except ValidationError as exc:
        raise RequestInvalid(exc.errors(include_url=False, include_input=False)[:1], count, ids) from None
    raise RequestInvalid(
        [
            {
                "loc": (),
                "msg": f"{count} fields are not permitted (Extra inputs are not permitted)",
                "type": "extra_forbidden",
            }
        ],
        1,
        [],
    )


def check_prefix(raw: bytes) -> None:
    """Raise RequestInvalid if the first PREFIX_BYTES of `raw` already hold a certain problem.

    The partial parse keeps every complete value and drops an incomplete last one, so only
    the values on its right edge (the last item of the last item of ...) may be cut short:
    their problems count only when cutting cannot have caused them (a wrong JSON type).
    """
    try:
        head = from_json(raw[:PREFIX_BYTES], allow_partial=True, allow_inf_nan=True)
    except ValueError:
        return  # not JSON, or nested too deep: the full parse says which (a 400)
    edge, node, path = {()}, head, ()
    while isinstance(node, (dict, list)) and node:
        key = next(reversed(node)) if isinstance(node, dict) else len(node) - 1
        path, node = (*path, key), node[key]
        edge.add(path)
    ids: list = []
    try:
        ForecastRequest.model_validate_json(json.dumps(head), context={"ids": ids})
    except ValidationError as exc:
        certain = [
            e
            for e in exc.errors(include_url=False, include_input=False)
            if e["type"] not in TRUNCATION_ERRORS and (tuple(e["loc"]) not in edge or e["type"].endswith("_type"))
        ]
        if certain:
            raise RequestInvalid(certain[:1], 1, ids) from None  # how many more lie beyond the prefix is unknown


async def read_forecast_request(request: Request) -> ForecastRequest:
    """The request's body, parsed; checked from its prefix first and parsed off the event loop when it is big."""
    raw = await request.body()
    if len(raw) < OFF_LOOP_BYTES:
        return parse_forecast_request(raw)
    check_prefix(raw)
    return await run_in_threadpool(parse_forecast_request, raw)
