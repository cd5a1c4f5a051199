"""What routes depend on: the Api behind the app, and the caller's bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openticket.core.api import Api


def get_api(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


ApiDep = Annotated[Api, Depends(get_api)]
TokenDep = Annotated[str | None, Depends(bearer_token)]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a creating request safe to retry: a repeat gets the first answer.",
    ),
]
