"""Auth rules: what a valid email and password are."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from openticket.core.errors import ErrorItem, InvalidInput
from openticket.core.text import storable

PASSWORD_MIN = 8
PASSWORD_MAX = 1024  # hashing cost grows with length; refuse absurd inputs
EMAIL_MAX = 254
EMAIL_PATTERN = re.compile(
    r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)


DISPLAY_NAME_MAX = 64


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str | None = None  # chosen by the user; None: the email's local part

    @property
    def shown_name(self) -> str:
        """How others see this user (a seller's listings)."""
        return self.display_name or self.email.partition("@")[0]


def clean_display_name(text: str) -> str:
    """A display name as stored: trimmed, one line of printable text, at most 64 characters."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not name:
        raise InvalidInput("Name cannot be empty", "display_name")
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(f"Name must be at most {DISPLAY_NAME_MAX} characters", "display_name")
    if not name.isprintable() or not storable(name):
        raise InvalidInput("Name must be printable text", "display_name")
    return name


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively and by compatibility form (NFKC: an address
    typed in full-width letters is the same address); they are kept so."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_problem(email: str) -> str | None:
    # isprintable() refuses control and format characters (a right-to-left override or a
    # zero-width joiner would make a look-alike of another account's address).
    if len(email) > EMAIL_MAX or not email.isprintable() or not EMAIL_PATTERN.match(email):
        return "Email must be valid"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Password must be at least {PASSWORD_MIN} characters"
    return password_length_problem(password)


def password_length_problem(password: str) -> str | None:
    """What makes a password unusable whatever the account: too long to hash, or not text."""
    if len(password) > PASSWORD_MAX:
        return f"Password must be at most {PASSWORD_MAX} characters"
    if not storable(password):
        return "Password must not contain NUL or unpaired surrogate characters"
    return None


def validate_signup(email: str, password: str) -> str:
    """Return the normalized email, or raise with every problem found."""
    normalized = normalize_email(email)
    problems = []
    if (message := email_problem(normalized)) is not None:
        problems.append(ErrorItem(message, "email"))
    if (message := password_problem(password)) is not None:
        problems.append(ErrorItem(message, "password"))
    if problems:
        raise InvalidInput.many(problems)
    return normalized
