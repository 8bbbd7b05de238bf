"""Settings from the environment (12-factor).

Every knob is an environment variable; nothing differs between development, test and production
except what the environment says. With nothing set the app runs on SQLite under ``instance/`` and
an embedded Redis it starts itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))
GOOGLE_METADATA_URL = "https://accounts.google.com/.well-known/openid-configuration"
GITHUB_OAUTH_URL = "https://github.com"
GITHUB_API_URL = "https://api.github.com"


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE / 'crm.sqlite3'}"
    # PaaS providers still hand out the old scheme; psycopg 3 is our driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    """What ``create_app`` reads; ``Settings.from_env()`` is the only constructor used in the app."""

    env: str
    secret_key: str
    database_url: str
    redis_url: str | None
    jwt_secret: str
    access_token_minutes: int
    refresh_token_days: int
    log_format: str
    trusted_proxies: int
    ratelimit_enabled: bool
    force_https: bool
    # Telegram: the app's own developer keys (None: the built-in sandbox Telegram), and the keys
    # that encrypt account sessions at rest (the first encrypts; the others still decrypt).
    telegram_api_id: int | None = None
    telegram_api_hash: str | None = None
    session_keys: tuple[str, ...] = ()
    # Whether an account's proxy may sit on a loopback, private or reserved address (or a local
    # name): off, so a customer's proxy cannot point the telegram process at internal hosts.
    telegram_allow_private_proxies: bool = False
    # Mail: where it goes (SMTP_URL: smtp://, smtp+starttls:// or smtps://user:pass@host:port; None:
    # the development mailbox), who it is from, and the address links in mails start with
    # (PUBLIC_URL; None outside production: the address the request came to).
    smtp_url: str | None = None
    mail_from: str = "Relay CRM <no-reply@relay.localhost>"
    public_url: str | None = None
    # Sign-in with other providers: each one is offered only when its keys are set (none by
    # default). Google through OpenID Connect (its discovery document: overridable, so the tests
    # point it at their own provider); GitHub through OAuth 2 (its sign-in and API addresses, the
    # same); Telegram Login through its widget, for a bot of ours (token and @name).
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_metadata_url: str = GOOGLE_METADATA_URL
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_oauth_url: str = GITHUB_OAUTH_URL
    github_api_url: str = GITHUB_API_URL
    telegram_login_bot_token: str | None = None
    telegram_login_bot_name: str | None = None
    # AI drafts: an OpenAI-compatible endpoint (OPENAI_BASE_URL; OPENAI_API_KEY alone: OpenAI's
    # own), its key and model (AI_MODEL). None of them: the built-in sandbox model.
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)  # a secret: kept out of logs
    ai_model: str | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get("APP_ENV", "development")
        production = env == "production"
        secret = os.environ.get("SECRET_KEY")
        if not secret:
            if production:
                raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
            secret = _dev_secret()
        return cls(
            env=env,
            secret_key=secret,
            database_url=_database_url(),
            redis_url=os.environ.get("REDIS_URL") or None,
            jwt_secret=os.environ.get("JWT_SECRET") or secret,
            access_token_minutes=int(os.environ.get("ACCESS_TOKEN_MINUTES", "15")),
            refresh_token_days=int(os.environ.get("REFRESH_TOKEN_DAYS", "30")),
            log_format=os.environ.get("LOG_FORMAT", "json" if production else "text"),
            trusted_proxies=int(os.environ.get("TRUSTED_PROXIES", "1" if production else "0")),
            ratelimit_enabled=_bool("RATELIMIT_ENABLED", True),
            force_https=_bool("FORCE_HTTPS", production),
            telegram_api_id=int(os.environ["TELEGRAM_API_ID"]) if os.environ.get("TELEGRAM_API_ID") else None,
            telegram_api_hash=os.environ.get("TELEGRAM_API_HASH") or None,
            session_keys=_session_keys(production),
            telegram_allow_private_proxies=_bool("TELEGRAM_ALLOW_PRIVATE_PROXIES", False),
            smtp_url=_required_in_production("SMTP_URL", production),
            mail_from=os.environ.get("MAIL_FROM") or "Relay CRM <no-reply@relay.localhost>",
            public_url=_required_in_production("PUBLIC_URL", production),
            google_client_id=os.environ.get("GOOGLE_CLIENT_ID") or None,
            google_client_secret=os.environ.get("GOOGLE_CLIENT_SECRET") or None,
            google_metadata_url=os.environ.get("GOOGLE_METADATA_URL") or GOOGLE_METADATA_URL,
            github_client_id=os.environ.get("GITHUB_CLIENT_ID") or None,
            github_client_secret=os.environ.get("GITHUB_CLIENT_SECRET") or None,
            github_oauth_url=(os.environ.get("GITHUB_OAUTH_URL") or GITHUB_OAUTH_URL).rstrip("/"),
            github_api_url=(os.environ.get("GITHUB_API_URL") or GITHUB_API_URL).rstrip("/"),
            telegram_login_bot_token=os.environ.get("TELEGRAM_LOGIN_BOT_TOKEN") or None,
            telegram_login_bot_name=(os.environ.get("TELEGRAM_LOGIN_BOT_NAME") or "").lstrip("@") or None,
            openai_base_url=(os.environ.get("OPENAI_BASE_URL") or "").rstrip("/") or None,
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            ai_model=os.environ.get("AI_MODEL") or None,
        )


def _required_in_production(name: str, production: bool) -> str | None:
    """A setting development may leave out but production must give: without SMTP_URL mail would
    only reach the development mailbox; without PUBLIC_URL a link mailed for a password reset
    would start with whatever Host the request claimed (and an attacker's host gets the token)."""
    value = os.environ.get(name) or None
    if value is None and production:
        raise RuntimeError(f"{name} must be set when APP_ENV=production")
    return value.rstrip("/") if value and name == "PUBLIC_URL" else value


def _session_keys(production: bool) -> tuple[str, ...]:
    """TELEGRAM_SESSION_KEYS: comma-separated Fernet keys, newest first (rotation: prepend a new
    key, run ``flask rotate-session-keys``, then drop the old one). Development keeps one under
    instance/; production must be given its keys."""
    raw = os.environ.get("TELEGRAM_SESSION_KEYS", "")
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if keys:
        return keys
    if production:
        raise RuntimeError("TELEGRAM_SESSION_KEYS must be set when APP_ENV=production")
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "dev-session-key"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return (path.read_text().strip(),)


def _dev_secret() -> str:
    """A per-checkout random key kept under instance/, so dev sessions survive restarts."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "dev-secret-key"
    if not path.exists():
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
