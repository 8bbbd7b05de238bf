"""The application factory, readable top to bottom: config, extensions, blueprints, errors, cli."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import INSTANCE, Settings
from app.embedded_redis import ensure_embedded_redis
from app.extensions import csrf, db, limiter, login, migrate, redis_store, sock, talisman
from app.realtime import MAX_FRAME_BYTES

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(INSTANCE))
    app.config.from_mapping(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        SOCK_SERVER_OPTIONS={"ping_interval": 25, "max_message_size": MAX_FRAME_BYTES},
    )
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies, x_host=settings.trusted_proxies)

    from app.observability import configure_logging, init_request_ids

    configure_logging(settings.log_format)
    init_request_ids(app)

    from app.no_store import init_no_store

    init_no_store(app)

    redis_url = settings.redis_url or ensure_embedded_redis(INSTANCE / "redis")
    redis_store.init_app(redis_url)
    app.config.update(
        RATELIMIT_STORAGE_URI=_limits_uri(redis_url),
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="limits",
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    login.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    sock.init_app(app)
    talisman.init_app(
        app,
        content_security_policy=_csp(settings),
        force_https=settings.force_https,
        strict_transport_security=settings.production,
        strict_transport_security_max_age=63072000,
        session_cookie_secure=settings.production,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )

    from app import models  # noqa: F401 - every table registered before migrations/queries
    from app.blueprints.auth.session import init_session_auth

    init_session_auth(app)  # first: every later before_request may rely on g.membership
    from app.blueprints.auth.no_organization import init_no_organization

    init_no_organization(app)  # a person in no organization has no workspace: where they may go
    from app.request_input import init_request_input

    init_request_input(app)  # JSON that never raises but a 4xx, and no NUL in any text field
    from app.api.routes import bp as api_bp
    from app.blueprints.accounts.api import bp as accounts_api_bp
    from app.blueprints.accounts.routes import bp as accounts_bp
    from app.blueprints.auth import mfa_routes, session_routes  # noqa: F401 - their views register on auth's bp
    from app.blueprints.auth.api import bp as auth_api_bp
    from app.blueprints.auth.oauth_routes import init_oauth
    from app.blueprints.auth.recovery_api import bp as _recovery_api  # noqa: F401 - its views on auth's API
    from app.blueprints.auth.routes import bp as auth_bp
    from app.blueprints.core.routes import bp as core_bp
    from app.blueprints.crm.export.routes import bp as crm_export_bp
    from app.blueprints.crm.importing.api import bp as crm_import_api_bp
    from app.blueprints.crm.importing.routes import bp as crm_import_bp
    from app.blueprints.crm.records.api import bp as crm_api_bp
    from app.blueprints.crm.records.list_routes import bp as crm_bp
    from app.blueprints.messaging import live as inbox_live  # noqa: F401 - chats and messages go live
    from app.blueprints.messaging.api import bp as messaging_api_bp
    from app.blueprints.messaging.routes import bp as inbox_bp
    from app.blueprints.pipeline import live, panels, stage_keeper  # noqa: F401 - in every process (see each)
    from app.blueprints.pipeline.api import bp as pipeline_api_bp
    from app.blueprints.pipeline.routes import bp as pipeline_bp
    from app.blueprints.realtime.routes import bp as realtime_bp
    from app.blueprints.team.routes import bp as team_bp

    for blueprint in (core_bp, auth_bp, team_bp, realtime_bp, crm_bp, crm_import_bp, crm_export_bp,
                      pipeline_bp, accounts_bp, inbox_bp, api_bp, auth_api_bp, crm_api_bp,
                      crm_import_api_bp, pipeline_api_bp, accounts_api_bp, messaging_api_bp):
        app.register_blueprint(blueprint)
    from app.blueprints.clients.api import bp as clients_api_bp

    app.register_blueprint(clients_api_bp)
    from app.blueprints.team.api import bp as team_api_bp

    app.register_blueprint(team_api_bp)
    from app.blueprints.campaigns import outcomes, receipts  # noqa: F401 - stop on reply, read receipts, ...
    from app.blueprints.campaigns.api import bp as campaigns_api_bp

    app.register_blueprint(campaigns_api_bp)
    from app.blueprints.campaigns.routes import bp as campaigns_bp

    app.register_blueprint(campaigns_bp)
    from app.blueprints.campaigns import live as _campaign_live  # noqa: F401 - campaign pages go live
    from app.blueprints.campaigns.report_routes import bp as campaign_report_bp

    app.register_blueprint(campaign_report_bp)
    from app.blueprints.campaigns.settings_routes import bp as outreach_settings_bp

    app.register_blueprint(outreach_settings_bp)
    # Campaigns where the team works: a contact's page, the inbox, the contacts list (their registries).
    from app.blueprints.campaigns.panels import bp as campaign_panels_bp
    from app.blueprints.campaigns.suppression_routes import bp as campaign_suppressions_bp
    from app.blueprints.campaigns.template_routes import bp as message_templates_bp

    for blueprint in (campaign_panels_bp, campaign_suppressions_bp, message_templates_bp):
        app.register_blueprint(blueprint)
    init_oauth(app, settings)  # Google, GitHub: only those configured
    # A member removed hands over their records, chats, accounts and API sign-ins (team.MemberRemoved);
    # the activity log reads the records', messages' and moves' sources beside the audit log.
    from app.blueprints.accounts import handover as _accounts_handover  # noqa: F401
    from app.blueprints.auth import membership_ended  # noqa: F401
    from app.blueprints.crm import activity_source as _crm_activity  # noqa: F401
    from app.blueprints.crm import handover as _crm_handover  # noqa: F401
    from app.blueprints.messaging import activity_source as _messaging_activity  # noqa: F401
    from app.blueprints.messaging import handover as _messaging_handover  # noqa: F401
    from app.blueprints.pipeline import activity_source as _pipeline_activity  # noqa: F401

    if settings.smtp_url is None and not settings.production:  # mail stays in the development mailbox
        from app.blueprints.core.mailbox import bp as mailbox_bp

        app.register_blueprint(mailbox_bp)

    from app.errors import register_error_handlers

    register_error_handlers(app)

    from app.i18n import init_i18n
    from app.templating import init_templating

    init_i18n(app)
    init_templating(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def _csp(settings: Settings) -> dict[str, str]:
    """The Content-Security-Policy: ours alone, and Telegram's login widget when it is configured."""
    from app.blueprints.auth.oauth_routes import csp_for

    return csp_for(settings, CSP)


def _migrations_dir() -> str:
    return str(Path(__file__).resolve().parent.parent / "migrations")


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}


def _limits_uri(redis_url: str) -> str:
    # The limits library spells unix sockets as redis+unix://
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url
