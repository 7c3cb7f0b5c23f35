"""`POST /v1/admin/reload[?model=NAME]`: switch a model to the version CURRENT names now, not at the next poll.

Disabled (404) unless PAXCAST_ADMIN_TOKEN is set; the bearer token is compared in
constant time. With several uvicorn workers, the request reaches one of them; the
others follow at their next poll of CURRENT.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from paxcast.service.api.schemas import ModelRef, Problem
from paxcast.service.api.tokens import check_bearer
from paxcast.service.core.exceptions import VersionRefused
from paxcast.service.inference.holder import ReloadInProgress

router = APIRouter(prefix="/v1/admin", tags=["admin"])
bearer = HTTPBearer(auto_error=False, description="PAXCAST_ADMIN_TOKEN")


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """404 when no admin token is configured, 401 without a bearer token, 403 with a wrong one."""
    check_bearer(
        request.app.state.settings.admin_token,
        credentials,
        needs="admin endpoints need an 'Authorization: Bearer <token>' header",
        invalid="the admin token is not valid",
    )


class ReloadResult(BaseModel):
    reloaded: bool
    detail: str
    model: ModelRef


@router.post(
    "/reload",
    response_model=ReloadResult,
    dependencies=[Depends(require_admin)],
    responses={code: {"model": Problem} for code in (401, 403, 404, 409, 422)},
)
async def reload(
    request: Request,
    model: Annotated[str | None, Query(description="model to reload (default: the default model)")] = None,
) -> ReloadResult:
    """Load and check the version CURRENT names, then swap it in; the old version serves until then and if it fails."""
    models = request.app.state.models
    holder = models.get(model or models.default)
    if holder is None:
        raise HTTPException(404, f"model '{model}' is not served here (served: {', '.join(models.holders)})")
    try:
        changed, message = await asyncio.to_thread(holder.switch, False, True)
    except ReloadInProgress:
        raise HTTPException(
            409, f"a reload of model '{holder.name}' is already under way; retry when it has finished"
        ) from None
    except VersionRefused as exc:
        serving = holder.predictor.version if holder.predictor else "nothing"
        raise HTTPException(422, f"{exc}; still serving {serving}") from None
    predictor = holder.predictor
    return ReloadResult(
        reloaded=changed, detail=message, model=ModelRef(name=predictor.name, version=predictor.version)
    )
