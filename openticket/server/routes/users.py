"""/api/users: signup, signin, signout, currentuser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from openticket.core import schemas
from openticket.core.auth.model import EMAIL_MAX, EMAIL_PATTERN, PASSWORD_MAX, PASSWORD_MIN
from openticket.core.errors import NotSignedIn, TooManyRequests
from openticket.server.deps import ApiDep, TokenDep
from openticket.server.ratelimit import SigninLimiter

router = APIRouter(prefix="/api/users", tags=["users"])


# The rules are the core's (and so are the messages when they are broken); they are declared
# here so that the OpenAPI document says what the server accepts.
class SignupBody(BaseModel):
    email: Annotated[
        str,
        Field(json_schema_extra={"pattern": EMAIL_PATTERN.pattern, "maxLength": EMAIL_MAX}),
    ]
    password: Annotated[
        str, Field(json_schema_extra={"minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX})
    ]


class SigninBody(BaseModel):
    email: str
    password: Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": PASSWORD_MAX})]


class CurrentUser(BaseModel):
    current_user: schemas.User | None


@router.post("/signup", status_code=201, operation_id="signup")
def signup(body: SignupBody, api: ApiDep) -> schemas.AuthSession:
    return api.signup(body.email, body.password)


@router.post("/signin", operation_id="signin")
def signin(body: SigninBody, request: Request, api: ApiDep) -> schemas.AuthSession:
    limiter: SigninLimiter = request.app.state.signin_limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.check(body.email, address)
    if wait:
        raise TooManyRequests(
            f"Too many sign-in attempts: try again in {wait} seconds", retry_after=wait
        )
    return api.signin(body.email, body.password)


@router.post("/signout", operation_id="signout")
def signout(api: ApiDep, token: TokenDep, all: bool = False) -> dict[str, str]:
    """Revoke this token; with `all=true`, every token of its user."""
    api.signout(token, everywhere=all)
    return {}


@router.get("/currentuser", operation_id="current_user")
def current_user(api: ApiDep, token: TokenDep) -> CurrentUser:
    try:
        return CurrentUser(current_user=api.whoami(token))
    except NotSignedIn:
        return CurrentUser(current_user=None)
