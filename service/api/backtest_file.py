"""A registry's `<name>/backtest.json` as the web page reads it: parsed, validated strictly, abridged.

The file is the output of `paxcast backtest --json`, but the page trusts nothing in it: every way it
can be wrong (not UTF-8, not JSON, numbers JSON cannot read, nesting past the stack, a string where a
list belongs, an infinite score) is a BacktestInvalid whose message names the field and the rule.
"""

from __future__ import annotations

import json
import sys

from pydantic import TypeAdapter, ValidationError

from paxcast.service.api.schemas import BacktestFile, BacktestMethod, ModelBacktest
from paxcast.service.core.request import FiniteFloat

METRICS = ("mape", "wape", "smape", "mase", "rmse")
# A method's row holds its metrics and a `coverage<level>` per level; other keys (per-split lists) are not shown.
SCORES = TypeAdapter(dict[str, FiniteFloat | None])


class BacktestInvalid(ValueError):
    """backtest.json is not a document the page can show; the message is the reason, naming the field."""


def backtest_of(name: str, raw: bytes) -> ModelBacktest:
    """The page's abridged backtest of model `name` from the bytes of its backtest.json."""
    document = parse_json(raw)
    if not isinstance(document, dict):
        raise BacktestInvalid("not a JSON object")
    try:
        file = BacktestFile.model_validate(document)
    except ValidationError as exc:
        raise BacktestInvalid(first_error(exc)) from None
    methods = [method_of(method, row, file.levels) for method, row in file.summary.items()]
    return ModelBacktest(model=name, splits=file.splits, levels=file.levels, methods=methods)


def parse_json(raw: bytes) -> object:
    """The JSON value of `raw`; BacktestInvalid with the reason for anything the json module refuses."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BacktestInvalid(f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BacktestInvalid(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError:  # the one other ValueError of json.loads: an integer longer than Python converts
        raise BacktestInvalid(f"a number has more than {sys.get_int_max_str_digits()} digits") from None
    except RecursionError:  # the C decoder recurses once per nested list or object
        raise BacktestInvalid("nested too deeply to read") from None


def method_of(method: str, row: dict, levels: list[int]) -> BacktestMethod:
    """One method's mean errors and the coverage of each level from its `summary` row."""
    keys = [*METRICS, *(f"coverage{level}" for level in levels)]
    try:
        scores = SCORES.validate_python({key: row[key] for key in keys if key in row})
    except ValidationError as exc:
        raise BacktestInvalid(first_error(exc, f"summary[{method!r}].")) from None
    coverage = {
        str(level): scores[f"coverage{level}"] for level in levels if scores.get(f"coverage{level}") is not None
    }
    return BacktestMethod(name=method, **{metric: scores.get(metric) for metric in METRICS}, coverage=coverage)


def first_error(exc: ValidationError, prefix: str = "") -> str:
    """The first error as `field[key][index]: message` (`levels[0]: Input should be a valid integer`)."""
    error = exc.errors(include_url=False)[0]
    head, *rest = error["loc"] or ("",)
    where = prefix + str(head) + "".join(f"[{part!r}]" for part in rest)
    return f"{where}: {error['msg']}" if where else error["msg"]
