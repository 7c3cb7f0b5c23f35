"""JSON responses rendered by orjson, which writes numpy float32 arrays directly and in their shortest form."""

from __future__ import annotations

import orjson
from starlette.responses import Response


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
