"""/api/users: signup, signin, signout, currentuser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from openticket.app import schemas
from openticket.core.auth.model import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    EMAIL_PATTERN,
    PASSWORD_MAX,
    PASSWORD_MIN,
)
from openticket.core.errors import InvalidInput, NotSignedIn, TooManyRequests
from openticket.server.deps import ApiDep, TokenDep
from openticket.server.ratelimit import SigninLimiter, Window

router = APIRouter(prefix="/api/users", tags=["users"])


# The rules are the core's (and so are the messages when they are broken); they are declared
# here so that the OpenAPI document says what the server accepts.
# The lengths are enforced here as well, before any work: nothing longer is hashed or kept.
# Whitespace collapses before the rule's 64 characters count (core.auth.model): the body may
# be longer; the rule answers, as it does embedded.
DisplayName = Annotated[str, Field(max_length=4 * DISPLAY_NAME_MAX)]


class SignupBody(BaseModel):
    email: Annotated[
        str,
        Field(max_length=EMAIL_MAX, json_schema_extra={"pattern": EMAIL_PATTERN.pattern}),
    ]
    password: Annotated[
        str,
        Field(max_length=PASSWORD_MAX, json_schema_extra={"minLength": PASSWORD_MIN}),
    ]
    display_name: DisplayName | None = None


class ProfileBody(BaseModel):
    display_name: DisplayName


class SigninBody(BaseModel):
    email: Annotated[str, Field(max_length=EMAIL_MAX)]
    password: Annotated[str, Field(max_length=PASSWORD_MAX, json_schema_extra={"minLength": 1})]


class CurrentUser(BaseModel):
    current_user: schemas.User | None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/signup", status_code=201, operation_id="signup")
def signup(body: SignupBody, request: Request, api: ApiDep) -> schemas.AuthSession:
    limiter: Window = request.app.state.signup_limiter
    wait = limiter.hit(_address(request))
    if wait:
        raise TooManyRequests(
            f"Too many sign-ups from this address: try again in {wait} seconds", retry_after=wait
        )
    return api.signup(body.email, body.password, body.display_name)


@router.put("/profile", operation_id="update_profile")
def update_profile(body: ProfileBody, api: ApiDep, token: TokenDep) -> schemas.User:
    return api.update_profile(token, display_name=body.display_name)


@router.post("/signin", operation_id="signin")
def signin(body: SigninBody, request: Request, api: ApiDep) -> schemas.AuthSession:
    limiter: SigninLimiter = request.app.state.signin_limiter
    address = _address(request)
    wait = limiter.check(body.email, address)
    if wait:
        raise TooManyRequests(
            f"Too many sign-in attempts: try again in {wait} seconds", retry_after=wait
        )
    try:
        return api.signin(body.email, body.password)
    except InvalidInput:
        limiter.failed(body.email, address)
        raise


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
