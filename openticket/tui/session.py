"""Who is signed in, in the same credentials file as the CLI (so signing in in one signs in
the other), and the Api they talk to."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from openticket.app.api import Api
from openticket.app.schemas import AuthSession
from openticket.core.clock import Clock, utc_now
from openticket.core.errors import NotSignedIn
from openticket.credentials import CredentialStore


@dataclass
class Session:
    api: Api
    credentials: CredentialStore
    target: str
    clock: Clock = field(default=utc_now)  # what countdowns read; tests move it by hand

    @property
    def token(self) -> str | None:
        return self.credentials.token(self.target)

    def remember(self, session: AuthSession) -> None:
        self.credentials.save(self.target, session.token, session.user.model_dump())

    def signed_in_email(self) -> str | None:
        """The signed-in user's email, or None (checked with the marketplace: a token that
        was revoked or has expired counts as signed out)."""
        token = self.token
        if token is None:
            return None
        try:
            return self.api.whoami(token).email
        except NotSignedIn:
            self.credentials.forget(self.target)
            return None
        # Anything else (an unreachable server) propagates: the caller says so and retries.

    def sign_out(self) -> None:
        token = self.token
        if token is not None:
            with contextlib.suppress(NotSignedIn):
                self.api.signout(token)
        self.credentials.forget(self.target)
