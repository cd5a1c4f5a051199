"""/api/users: signup, signin, signout, currentuser."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from openticket.core import schemas
from openticket.core.errors import NotSignedIn, TooManyRequests
from openticket.server.deps import ApiDep, TokenDep
from openticket.server.ratelimit import SigninLimiter

router = APIRouter(prefix="/api/users", tags=["users"])


class Credentials(BaseModel):
    email: str
    password: str


class CurrentUser(BaseModel):
    current_user: schemas.User | None


@router.post("/signup", status_code=201, operation_id="signup")
def signup(body: Credentials, api: ApiDep) -> schemas.AuthSession:
    return api.signup(body.email, body.password)


@router.post("/signin", operation_id="signin")
def signin(body: Credentials, request: Request, api: ApiDep) -> schemas.AuthSession:
    limiter: SigninLimiter = request.app.state.signin_limiter
    address = request.client.host if request.client else "unknown"
    wait = limiter.check(body.email, address)
    if wait:
        raise TooManyRequests(
            f"Too many sign-in attempts: try again in {wait} seconds", retry_after=wait
        )
    return api.signin(body.email, body.password)


@router.post("/signout", operation_id="signout")
def signout(api: ApiDep, token: TokenDep) -> dict[str, str]:
    api.signout(token)
    return {}


@router.get("/currentuser", operation_id="current_user")
def current_user(api: ApiDep, token: TokenDep) -> CurrentUser:
    try:
        return CurrentUser(current_user=api.whoami(token))
    except NotSignedIn:
        return CurrentUser(current_user=None)
