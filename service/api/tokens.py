"""Bearer-token guards of the routes that change state: `POST /v1/admin/reload` and `POST /v1/actuals`.

A route whose token is not configured does not exist (404); without a bearer token it is a 401, with a
wrong one a 403. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import SecretStr


def check_bearer(
    token: SecretStr | None, credentials: HTTPAuthorizationCredentials | None, needs: str, invalid: str
) -> None:
    """404 when `token` is unset or empty, 401 (`needs`) without credentials, 403 (`invalid`) with wrong ones."""
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        raise HTTPException(404, "Not Found")
    if credentials is None:
        raise HTTPException(401, needs, headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(403, invalid)
