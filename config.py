"""Configuration read from environment variables, with one class per environment."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    """Normalise DATABASE_URL so plain postgres URLs use psycopg 3."""
    url = os.environ.get("DATABASE_URL") or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment; each value can be overridden by env."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'tracker.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    TIMEZONE = os.environ.get("TIMEZONE", "UTC")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024))
    MAX_JSON_DEPTH = int(os.environ.get("MAX_JSON_DEPTH", "32"))  # deeper API bodies: 400
    # A change request adding more than this to the total cost needs an admin's approval
    # (an engagement owner who is a manager may approve smaller ones). Issue 31.
    CHANGE_REQUEST_ADMIN_ABOVE = int(os.environ.get("CHANGE_REQUEST_ADMIN_ABOVE", "25000"))
    # What one full-time person in each role costs in-house per month (JSON object of
    # role to amount in the engagements' currency): the hiring evaluation compares with it.
    HIRING_IN_HOUSE_MONTHLY = os.environ.get("HIRING_IN_HOUSE_MONTHLY", "{}")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None

    # flask-smorest / OpenAPI
    API_TITLE = "Engagement Tracker API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"

    # Mail: with no SMTP_HOST, messages are written to instance/mail/.
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_SECURITY = os.environ.get("SMTP_SECURITY", "starttls")  # starttls | ssl | none
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    # Outbox rows claimed and committed together (ADR 0160); the lease is renewed by a
    # heartbeat while the batch is in flight (ADR 0163), so it only bounds how long a
    # killed worker's rows wait for another worker.
    MAIL_BATCH = int(os.environ.get("MAIL_BATCH", "200"))
    MAIL_LEASE_SECONDS = float(os.environ.get("MAIL_LEASE_SECONDS", "15"))
    # SMTP connections one delivery step sends over at once once a backlog is found
    # (ADR 0248): SMTP is lock-step, so further connections keep the server busy while
    # the tracker builds the next message. 1 sends everything over one connection.
    MAIL_CONNECTIONS = int(os.environ.get("MAIL_CONNECTIONS", "3"))
    # A connect failure or timeout pauses delivery (the SMTP server, or one webhook
    # endpoint) this long, doubling per trip in a row up to 30 min; then one probe
    # (ADR 0204).
    DELIVERY_CIRCUIT_SECONDS = float(os.environ.get("DELIVERY_CIRCUIT_SECONDS", "30"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Engagement Tracker <tracker@localhost>")
    MAIL_DIR = os.environ.get("MAIL_DIR", str(INSTANCE_DIR / "mail"))
    MAIL_DOMAIN = os.environ.get("MAIL_DOMAIN", "engagement-tracker.local")  # Message-ID domain
    REMINDER_SEND_HOUR = int(os.environ.get("REMINDER_SEND_HOUR", "8"))  # local hour, TIMEZONE

    SCHEDULER_EMBEDDED = _bool("SCHEDULER_EMBEDDED", False)
    # 15 s: a killed worker's reminders and timers are taken over within lease + tick
    # = 25 s (ADR 0208; issue 32 asks 30 s); an idle tick is two statements (ADR 0178).
    SCHEDULER_TICK_SECONDS = int(os.environ.get("SCHEDULER_TICK_SECONDS", "15"))
    # The delivery job polls more often: an idle poll is one indexed query per table, and
    # a killed worker's rows are picked up within lease + this (ADR 0163).
    SCHEDULER_DELIVERY_SECONDS = int(os.environ.get("SCHEDULER_DELIVERY_SECONDS", "5"))
    # The lease of timers and reminders claimed by a tick, renewed while it works on them
    # (ADR 0208): a killed worker's rows wait this long, then the next tick of another.
    SCHEDULER_LEASE_SECONDS = float(os.environ.get("SCHEDULER_LEASE_SECONDS", "10"))
    WORKFLOW_DIR = os.environ.get("WORKFLOW_DIR", str(BASE_DIR / "workflows" / "definitions"))
    DEFAULT_WORKFLOW = os.environ.get("DEFAULT_WORKFLOW", "staff_augmentation")
    # Sign-in throttling (tracker/services/signin/throttle.py, README "Security").
    LOGIN_THROTTLE_ACCOUNT_FREE = int(os.environ.get("LOGIN_THROTTLE_ACCOUNT_FREE", "5"))
    LOGIN_THROTTLE_ADDRESS_FREE = int(os.environ.get("LOGIN_THROTTLE_ADDRESS_FREE", "20"))
    LOGIN_THROTTLE_BASE_SECONDS = int(os.environ.get("LOGIN_THROTTLE_BASE_SECONDS", "60"))
    LOGIN_THROTTLE_MAX_SECONDS = int(os.environ.get("LOGIN_THROTTLE_MAX_SECONDS", "3600"))
    LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", "86400"))
    # Failures a browser with a valid device cookie may make before it is slowed down
    # (counted on that cookie only), and how long the cookie vouches for it (ADR 0193).
    LOGIN_THROTTLE_DEVICE_FREE = int(os.environ.get("LOGIN_THROTTLE_DEVICE_FREE", "5"))
    # Bad API (or ingest) tokens per client address before such tokens get 429; valid
    # tokens never do, and the sign-in form's address count is a separate one.
    LOGIN_THROTTLE_TOKEN_FREE = int(os.environ.get("LOGIN_THROTTLE_TOKEN_FREE", "20"))
    DEVICE_COOKIE_DAYS = int(os.environ.get("DEVICE_COOKIE_DAYS", "365"))
    PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", "12"))  # ASVS 6.2.1
    # Set-password links sent by admins (docs/adr/0150): single use, then expired.
    INVITE_LINK_HOURS = int(os.environ.get("INVITE_LINK_HOURS", "72"))
    RESET_LINK_HOURS = int(os.environ.get("RESET_LINK_HOURS", "2"))
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))  # trusted proxies in front
    # Outgoing webhooks (docs/adr/0092): targets on private networks are refused unless allowed.
    WEBHOOK_ALLOW_PRIVATE_TARGETS = _bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    WEBHOOK_REQUIRE_HTTPS = _bool("WEBHOOK_REQUIRE_HTTPS", False)
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "5"))
    # Deliveries claimed, sent over kept-alive connections and committed together (ADR
    # 0167); the lease is renewed by a heartbeat while the batch is sent (ADR 0163).
    WEBHOOK_BATCH = int(os.environ.get("WEBHOOK_BATCH", "100"))
    WEBHOOK_LEASE_SECONDS = float(os.environ.get("WEBHOOK_LEASE_SECONDS", "15"))
    # OpenID Connect single sign-on (tracker/services/signin/oidc.py, README "Single
    # sign-on", docs/adr/0197-0199). Off while OIDC_ISSUER is empty.
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
    OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "")  # the button's words
    OIDC_ALLOWED_DOMAINS = os.environ.get("OIDC_ALLOWED_DOMAINS", "")  # comma-separated
    OIDC_ROLE_CLAIM = os.environ.get("OIDC_ROLE_CLAIM", "")  # its value is a tracker role
    OIDC_JIT = _bool("OIDC_JIT", False)  # create users on first sign-in; off: invitation only
    OIDC_CLOCK_SKEW_SECONDS = int(os.environ.get("OIDC_CLOCK_SKEW_SECONDS", "60"))
    OIDC_HTTP_TIMEOUT = float(os.environ.get("OIDC_HTTP_TIMEOUT", "10"))
    # JSON list of further issuers, each mapped to a provider organisation (ADR 0199):
    # [{"issuer": ..., "client_id": ..., "client_secret": ..., "organisation": ..., "name": ...}]
    OIDC_PROVIDER_ISSUERS = os.environ.get("OIDC_PROVIDER_ISSUERS", "")
    # Off: admins and managers sign in only through OIDC_ISSUER (provider staff keep passwords).
    PASSWORD_SIGNIN_CLIENT_SIDE = _bool("PASSWORD_SIGNIN_CLIENT_SIDE", True)
    PASSWORD_HASH_FAST = False  # tests only: a cheaper KDF so the suite stays quick


class DevelopmentConfig(Config):
    """Local development: SQLite under instance/, demo-friendly defaults."""

    ENV_NAME = "development"
    DEBUG = True


class TestingConfig(Config):
    """The test suite: in-memory-ish databases supplied by fixtures, no CSRF checks off."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    PASSWORD_HASH_FAST = True
    BASE_URL = "http://localhost"


class ProductionConfig(Config):
    """Production: refuses to start without a real secret and a real database."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WEBHOOK_REQUIRE_HTTPS = _bool("WEBHOOK_REQUIRE_HTTPS", True)

    @classmethod
    def check(cls) -> None:
        """Raise RuntimeError naming each missing required setting."""
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(
                f"Production needs these environment variables: {', '.join(missing)}"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """Pick the config class named by APP_ENV (development by default)."""
    name = os.environ.get("APP_ENV", "development").lower()
    if name not in CONFIGS:
        raise RuntimeError(f"APP_ENV must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
