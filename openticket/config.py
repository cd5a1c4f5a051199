"""Settings from the environment, read once at the edge and passed down."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from openticket.core.errors import InvalidInput
from openticket.core.money import normalize_currency
from openticket.core.payments.payouts.model import PayoutTerms

ENV_HOME = "OPENTICKET_HOME"
ENV_DB = "OPENTICKET_DB"
ENV_SERVER = "OPENTICKET_SERVER"
ENV_ORDER_TTL = "OPENTICKET_ORDER_TTL"
ENV_OFFER_TTL = "OPENTICKET_OFFER_TTL"
ENV_CURRENCY = "OPENTICKET_CURRENCY"
ENV_PASSWORD = "OPENTICKET_PASSWORD"
ENV_STRIPE_API_KEY = "OPENTICKET_STRIPE_API_KEY"
ENV_STRIPE_API_BASE = "OPENTICKET_STRIPE_API_BASE"
ENV_STRIPE_TIMEOUT = "OPENTICKET_STRIPE_TIMEOUT"
ENV_STRIPE_WEBHOOK_SECRET = "OPENTICKET_STRIPE_WEBHOOK_SECRET"
ENV_STRIPE_RETURN_URL = "OPENTICKET_STRIPE_RETURN_URL"
ENV_BUS = "OPENTICKET_BUS"
ENV_NATS_STREAM = "OPENTICKET_NATS_STREAM"
ENV_SECRET_KEY = "OPENTICKET_SECRET_KEY"
ENV_SIGNUPS_PER_MINUTE = "OPENTICKET_SIGNUPS_PER_MINUTE"
ENV_PAYMENT_GRACE = "OPENTICKET_PAYMENT_GRACE"
ENV_RESALE_CAP = "OPENTICKET_RESALE_CAP_PERCENT"
ENV_PLATFORM_FEE = "OPENTICKET_PLATFORM_FEE_PERCENT"
ENV_PAYOUT_HOLD = "OPENTICKET_PAYOUT_HOLD"
ENV_WEBHOOK_ALLOW_PRIVATE = "OPENTICKET_WEBHOOK_ALLOW_PRIVATE"

ALL_DOMAINS = ("auth", "tickets", "orders", "payments", "expiration", "notify")
# Domains whose reactions no command waits for (on a broker): nobody reads a notification
# in the same breath as the change that made it.
UNAWAITED_DOMAINS = ("notify",)
DEFAULT_ORDER_TTL = 900
DEFAULT_OFFER_TTL = 300
DEFAULT_CURRENCY = "USD"
DEFAULT_STRIPE_TIMEOUT = 30.0
DEFAULT_NATS_STREAM = "OPENTICKET"
DEFAULT_SIGNUPS_PER_MINUTE = 10
DEFAULT_RESALE_CAP_PERCENT = 110
DEFAULT_PLATFORM_FEE_PERCENT = Decimal(5)
DEFAULT_PAYOUT_HOLD = 7 * 24 * 3600
MAX_PAYOUT_HOLD = 365 * 24 * 3600
_PERCENT = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,2})?$")
_STREAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    server: str | None = None
    # As set (the environment's text): checked by the commands that use them, so that a typo
    # in one does not stop `tickets list`.
    order_ttl_setting: str | None = None
    offer_ttl_setting: str | None = None
    currency_setting: str | None = None
    resale_cap_setting: str | None = None
    platform_fee_setting: str | None = None
    payout_hold_setting: str | None = None
    stripe: StripeSettings | None = None
    bus_url: str | None = None  # nats://host:port; None is the in-process bus
    nats_stream: str = DEFAULT_NATS_STREAM
    # Token signing keys, the first signs (else a key file beside SQLite, or the store's table).
    secret_keys: tuple[str, ...] = field(default=(), repr=False)
    signups_per_minute: int = DEFAULT_SIGNUPS_PER_MINUTE  # per client address, on a server
    # Seconds a payment attempt may be charging before it counts as abandoned and is driven
    # again elsewhere (None: as long as the payment provider may take).
    payment_grace: float | None = None
    # Stripe's webhook signing secrets (several while one is rotated); none: no webhooks.
    stripe_webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    # Outgoing webhooks may point at loopback, private and link-local addresses (tests, an
    # operator's own network); refused by default (server-side request forgery).
    webhook_allow_private: bool = False

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        db: str | None = None,
        server: str | None = None,
    ) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get(ENV_HOME) or _default_home()).expanduser()
        db_url = _db_url(db or env.get(ENV_DB) or f"sqlite:///{home / 'openticket.db'}")
        return cls(
            home=home,
            db_url=db_url,
            server=server or env.get(ENV_SERVER) or None,
            order_ttl_setting=env.get(ENV_ORDER_TTL),
            offer_ttl_setting=env.get(ENV_OFFER_TTL),
            currency_setting=env.get(ENV_CURRENCY),
            resale_cap_setting=env.get(ENV_RESALE_CAP),
            platform_fee_setting=env.get(ENV_PLATFORM_FEE),
            payout_hold_setting=env.get(ENV_PAYOUT_HOLD),
            stripe=StripeSettings.from_env(env),
            bus_url=_bus_url(env.get(ENV_BUS)),
            nats_stream=_nats_stream(env.get(ENV_NATS_STREAM)),
            secret_keys=_secret_keys(env.get(ENV_SECRET_KEY)),
            signups_per_minute=_count(
                env.get(ENV_SIGNUPS_PER_MINUTE), DEFAULT_SIGNUPS_PER_MINUTE, ENV_SIGNUPS_PER_MINUTE
            ),
            payment_grace=_payment_grace(env.get(ENV_PAYMENT_GRACE)),
            stripe_webhook_secrets=_webhook_secrets(env.get(ENV_STRIPE_WEBHOOK_SECRET)),
            webhook_allow_private=_flag(env.get(ENV_WEBHOOK_ALLOW_PRIVATE)),
        )

    @property
    def order_ttl(self) -> int:
        """Seconds an order holds its ticket."""
        return _ttl(self.order_ttl_setting, ENV_ORDER_TTL, DEFAULT_ORDER_TTL)

    @property
    def offer_ttl(self) -> int:
        """Seconds a waitlist's offer holds its ticket for the one it is offered to."""
        return _ttl(self.offer_ttl_setting, ENV_OFFER_TTL, DEFAULT_OFFER_TTL)

    @property
    def currency(self) -> str:
        """The currency of a listing that names none."""
        text = self.currency_setting
        if text is None or not text.strip():
            return DEFAULT_CURRENCY
        try:
            return normalize_currency(text)
        except InvalidInput as error:
            raise InvalidInput(f"{ENV_CURRENCY}={text!r}: {error.message}", ENV_CURRENCY) from None

    @property
    def resale_cap_percent(self) -> int:
        """The highest resale price, as a percentage of what its holder paid."""
        text = self.resale_cap_setting
        if text is None or not text.strip():
            return DEFAULT_RESALE_CAP_PERCENT
        value = text.strip()
        if not value.isdigit() or not 1 <= int(value) <= 1000:
            raise InvalidInput(
                f"{ENV_RESALE_CAP}={text!r} must be a whole percentage from 1 to 1000",
                ENV_RESALE_CAP,
            )
        return int(value)

    @property
    def payout_terms(self) -> PayoutTerms:
        """The platform's fee on a sale, and how long its payout is held."""
        return PayoutTerms(_fee_percent(self.platform_fee_setting), _payout_hold(self))


def _fee_percent(text: str | None) -> Decimal:
    if text is None or not text.strip():
        return DEFAULT_PLATFORM_FEE_PERCENT
    value = text.strip()
    if not _PERCENT.fullmatch(value) or Decimal(value) > 100:
        raise InvalidInput(
            f"{ENV_PLATFORM_FEE}={text!r} must be a percentage from 0 to 100 "
            "(at most two decimal places)",
            ENV_PLATFORM_FEE,
        )
    return Decimal(value)


def _payout_hold(settings: Settings) -> timedelta:
    text = settings.payout_hold_setting
    if text is None or not text.strip():
        return timedelta(seconds=DEFAULT_PAYOUT_HOLD)
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_PAYOUT_HOLD:
        raise InvalidInput(
            f"{ENV_PAYOUT_HOLD}={text!r} must be a whole number of seconds from 0 to "
            f"{MAX_PAYOUT_HOLD} (365 days)",
            ENV_PAYOUT_HOLD,
        )
    return timedelta(seconds=int(value))


@dataclass(frozen=True)
class StripeSettings:
    """Set when `OPENTICKET_STRIPE_API_KEY` is: payments then go through Stripe."""

    api_key: str = field(repr=False)
    api_base: str | None = None
    timeout: float = DEFAULT_STRIPE_TIMEOUT
    # Where Stripe sends a buyer after a card's authentication and a seller after onboarding
    # (None: Stripe's dashboard; a server sets its own page).
    return_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StripeSettings | None:
        api_key = (env.get(ENV_STRIPE_API_KEY) or "").strip()
        if not api_key:
            return None
        if not api_key.startswith(("sk_", "rk_")):
            raise InvalidInput(f"{ENV_STRIPE_API_KEY} must be a Stripe secret key (sk_… or rk_…)")
        api_base = (env.get(ENV_STRIPE_API_BASE) or "").strip() or None
        if api_base is not None and not _is_web_url(api_base):
            raise InvalidInput(f"{ENV_STRIPE_API_BASE} must be an http:// or https:// URL")
        return_url = (env.get(ENV_STRIPE_RETURN_URL) or "").strip() or None
        if return_url is not None and not _is_web_url(return_url):
            raise InvalidInput(f"{ENV_STRIPE_RETURN_URL} must be an http:// or https:// URL")
        return cls(api_key, api_base, _stripe_timeout(env.get(ENV_STRIPE_TIMEOUT)), return_url)


def _is_web_url(text: str) -> bool:
    printable = text.isascii() and text.isprintable() and " " not in text
    return text.startswith(("http://", "https://")) and printable


def _default_home() -> str:
    from platformdirs import user_data_dir

    return user_data_dir("openticket", appauthor=False)


def _ttl(text: str | None, name: str, default: int) -> int:
    what = f"{name}={text!r} must be a whole"
    try:
        return int(_seconds(text, default, int, 1, 7 * 24 * 3600, what))
    except InvalidInput as error:
        raise InvalidInput(error.message, name) from None


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


def _webhook_secrets(text: str | None) -> tuple[str, ...]:
    secrets = tuple(part.strip() for part in (text or "").split(",") if part.strip())
    if any(not secret.startswith("whsec_") or len(secret) < 24 for secret in secrets):
        raise InvalidInput(
            f"{ENV_STRIPE_WEBHOOK_SECRET} must be Stripe webhook signing secrets (whsec_…), "
            "comma-separated"
        )
    return secrets


def _payment_grace(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    return _seconds(text, 0, float, 0.1, 3600, f"{ENV_PAYMENT_GRACE} must be a")


def _stripe_timeout(text: str | None) -> float:
    return _seconds(
        text, DEFAULT_STRIPE_TIMEOUT, float, 0.1, 600, f"{ENV_STRIPE_TIMEOUT} must be a"
    )


def _seconds(
    text: str | None,
    default: float,
    kind: type[int] | type[float],
    low: float,
    high: float,
    what: str,
) -> float:
    """A number of seconds from the environment, `default` when unset."""
    if text is None or text.strip() == "":
        return default
    try:
        seconds: float = kind(text)
    except ValueError:
        seconds = low - 1
    if not low <= seconds <= high:
        raise InvalidInput(f"{what} number of seconds from {low:g} to {high:g}")
    return seconds


def _count(text: str | None, default: int, name: str) -> int:
    if text is None or text.strip() == "":
        return default
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1_000_000:
        raise InvalidInput(f"{name} must be a whole number from 1 to 1000000")
    return int(value)


SUPPORTED_DATABASES = ("sqlite", "postgresql")
# The form SQLAlchemy reads: backend[+driver]://…
_DB_URL = re.compile(r"^(?P<backend>[A-Za-z0-9_]+)(?:\+[A-Za-z0-9_]+)?://")


def _db_url(text: str) -> str:
    """A SQLite or PostgreSQL URL (the store's SQL is written for those two). Read without
    SQLAlchemy: a command that talks to a server never imports it."""
    found = _DB_URL.match(text)
    if found is None:
        raise InvalidInput(
            "The database must be a URL such as sqlite:///PATH or postgresql+psycopg://HOST/NAME",
            "db",
        )
    backend = found["backend"]
    if backend not in SUPPORTED_DATABASES:
        raise InvalidInput(
            f"Unsupported database {backend!r}: use SQLite or PostgreSQL "
            "(sqlite:///PATH or postgresql+psycopg://HOST/NAME)",
            "db",
        )
    return text


SECRET_KEY_MIN = 32


def _secret_keys(text: str | None) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in (text or "").split(",") if key.strip())
    if any(len(key) < SECRET_KEY_MIN or not key.isascii() or not key.isprintable() for key in keys):
        raise InvalidInput(
            f"{ENV_SECRET_KEY} must be one or more comma-separated keys of at least "
            f"{SECRET_KEY_MIN} printable ASCII characters each"
        )
    return keys


def _bus_url(text: str | None) -> str | None:
    url = (text or "").strip()
    if url in ("", "memory"):
        return None
    if not url.startswith(("nats://", "tls://")):
        raise InvalidInput(f"{ENV_BUS} must be a nats:// URL (or unset, for the in-process bus)")
    return url


def _nats_stream(text: str | None) -> str:
    name = (text or "").strip() or DEFAULT_NATS_STREAM
    if not _STREAM_NAME.match(name):
        raise InvalidInput(f"{ENV_NATS_STREAM} must be 1-64 letters, digits, '_' or '-'")
    return name
