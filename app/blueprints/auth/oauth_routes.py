"""Signing in with Google (OpenID Connect), GitHub (OAuth 2) and Telegram Login, and linking
them to your account on your profile page.

Each provider is offered only when configured (``Settings``: none by default). Authlib's Flask
client talks to Google and GitHub; its state (and, for Google, the nonce of the ID token) lives in
the Flask session, so a callback completes only the sign-in this browser started. Telegram's
widget signs its answer itself (``telegram_login``); a state of ours in its return address ties
that answer to this browser as well. Every sign-in ends in ``continue_sign_in`` (MFA included).
"""

from __future__ import annotations

import logging
import secrets

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from joserfc.errors import JoseError
from requests import RequestException

from app.blueprints.auth import bp, mfa, oauth, settings_route
from app.blueprints.auth import telegram_login as telegram
from app.blueprints.auth.oauth import PROVIDER_NAMES, ProviderIdentity
from app.blueprints.auth.sign_in_flow import continue_sign_in, safe_next
from app.config import Settings
from app.errors import DomainError
from app.extensions import db
from app.htmx import render

log = logging.getLogger(__name__)

EXTENSION = "relay.oauth"
NEXT_KEY, LINK_KEY, TELEGRAM_STATE_KEY = "oauth_next", "oauth_link", "telegram_login_state"
TELEGRAM_WIDGET = "https://telegram.org/js/telegram-widget.js?22"
# What the Content-Security-Policy must also allow for the Telegram Login widget (when configured).
TELEGRAM_CSP = {"script-src": "https://telegram.org", "frame-src": "https://oauth.telegram.org"}
_OAUTH_FAILURES = (AuthlibBaseError, JoseError, RequestException, KeyError, ValueError, TypeError)


def init_oauth(app: Flask, settings: Settings) -> None:
    """Register the providers ``settings`` configure (again, replacing any, when called again)."""
    registry = OAuth(app)
    if settings.google_client_id and settings.google_client_secret:
        registry.register("google", client_id=settings.google_client_id,
                          client_secret=settings.google_client_secret,
                          server_metadata_url=settings.google_metadata_url,
                          client_kwargs={"scope": "openid email profile", "timeout": 10})
    if settings.github_client_id and settings.github_client_secret:
        registry.register("github", client_id=settings.github_client_id,
                          client_secret=settings.github_client_secret,
                          authorize_url=f"{settings.github_oauth_url}/login/oauth/authorize",
                          access_token_url=f"{settings.github_oauth_url}/login/oauth/access_token",
                          api_base_url=f"{settings.github_api_url}/",
                          client_kwargs={"scope": "read:user user:email", "timeout": 10})
    app.extensions[EXTENSION] = registry


def telegram_configured(settings: Settings) -> bool:
    return bool(settings.telegram_login_bot_token and settings.telegram_login_bot_name)


def csp_for(settings: Settings, csp: dict[str, str]) -> dict[str, str]:
    """``csp`` widened for the Telegram Login widget when it is configured (else unchanged)."""
    if not telegram_configured(settings):
        return csp
    widened = dict(csp)
    for directive, source in TELEGRAM_CSP.items():
        widened[directive] = f"{widened.get(directive, csp['default-src'])} {source}"
    return widened


def _client(provider: str):
    registry = current_app.extensions.get(EXTENSION)
    return registry.create_client(provider) if registry is not None else None


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def configured_providers() -> list[str]:
    names = [p for p in ("google", "github") if _client(p) is not None]
    return names + (["telegram"] if telegram_configured(_settings()) else [])


def sign_in_providers() -> list[dict]:
    """The sign-in page's buttons: each configured provider, its name and where it starts."""
    def start(p: str) -> str:
        return url_for("auth.telegram_login") if p == "telegram" else url_for("auth.oauth_start", provider=p)

    return [{"provider": p, "name": PROVIDER_NAMES[p], "url": start(p)} for p in configured_providers()]


@bp.app_context_processor
def sign_in_methods_context() -> dict:
    """``sign_in_methods()`` for the profile page (a function: nothing is read unless it is called)."""
    return {"sign_in_methods": _sign_in_methods}


def _sign_in_methods() -> dict:
    user = current_user._get_current_object()
    linked = {row.provider: row for row in oauth.identities(user)}
    shown = [p for p in oauth.PROVIDERS if p in linked or p in configured_providers()]
    last = not oauth.has_password(user) and len(linked) <= 1
    return {"password": oauth.has_password(user), "mfa": mfa.enabled(user), "providers": [
        {"provider": p, "name": PROVIDER_NAMES[p], "identity": linked.get(p), "can_unlink": not last,
         "configured": p in configured_providers()} for p in shown]}


# -- Google and GitHub -----------------------------------------------------------------------------

def _unavailable():
    flash(_("That way of signing in is not available."), "error")
    return redirect(url_for("auth.sign_in"))


@bp.get("/oauth/<any(google,github):provider>")
def oauth_start(provider: str):
    """Off to the provider to sign in; back at ``oauth_callback``."""
    client = _client(provider)
    if client is None:
        return _unavailable()
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    session.pop(LINK_KEY, None)
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    return client.authorize_redirect(url_for("auth.oauth_callback", provider=provider, _external=True))


@settings_route("/profile/link/<any(google,github):provider>", methods=["POST"])
@login_required
def oauth_link(provider: str):
    """Off to the provider to link the account there to yours; back at ``oauth_callback``."""
    client = _client(provider)
    if client is None:
        flash(_("That way of signing in is not available."), "error")
        return redirect(url_for("auth.profile"))
    session[LINK_KEY] = current_user.id
    return client.authorize_redirect(url_for("auth.oauth_callback", provider=provider, _external=True))


@bp.get("/oauth/<any(google,github):provider>/callback")
def oauth_callback(provider: str):
    client = _client(provider)
    if client is None:
        return _unavailable()
    linking = current_user.is_authenticated and session.pop(LINK_KEY, None) == current_user.id
    back = url_for("auth.profile") if linking else url_for("auth.sign_in")
    try:
        identity = _google_identity(client) if provider == "google" else _github_identity(client)
    except _OAUTH_FAILURES as err:
        log.warning("%s sign-in did not complete: %r", provider, err)
        flash(_("%(provider)s did not complete the sign-in. Try again.", provider=PROVIDER_NAMES[provider]),
              "error")
        return redirect(back)
    if linking:
        return _link(identity)
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return _sign_in(identity, session.pop(NEXT_KEY, None))


def _google_identity(client) -> ProviderIdentity:
    token = client.authorize_access_token()  # checks the state, the ID token's signature and nonce
    info = token.get("userinfo") or client.parse_id_token(token, nonce=None)
    email = (info.get("email") or "").strip().lower() or None
    return ProviderIdentity(provider="google", subject=str(info["sub"]), email=email,
                            email_verified=info.get("email_verified") in (True, "true"),
                            name=info.get("name"), display=email)


def _github_identity(client) -> ProviderIdentity:
    token = client.authorize_access_token()
    user = client.get("user", token=token)
    user.raise_for_status()
    profile = user.json()
    emails = client.get("user/emails", token=token)
    emails.raise_for_status()
    primary = next((e for e in emails.json() if isinstance(e, dict) and e.get("primary")), None) or {}
    email = (primary.get("email") or "").strip().lower() or None
    return ProviderIdentity(provider="github", subject=str(profile["id"]), email=email,
                            email_verified=primary.get("verified") is True,
                            name=profile.get("name") or profile.get("login"),
                            display=f"@{profile['login']}" if profile.get("login") else email)


def _sign_in(identity: ProviderIdentity, next_url: str | None):
    try:
        user = oauth.sign_in_with(identity, ip=request.remote_addr, language=str(get_locale()))
    except DomainError as err:
        db.session.commit()
        flash(err.message, "error")
        return redirect(url_for("auth.sign_in"))
    response = continue_sign_in(user, remember=False, next_url=next_url)
    db.session.commit()
    return response


def _link(identity: ProviderIdentity):
    try:
        oauth.link(current_user._get_current_object(), identity, ip=request.remote_addr)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(_("%(provider)s is linked: you can sign in with it.",
                provider=PROVIDER_NAMES[identity.provider]), "success")
    return redirect(url_for("auth.profile"))


@settings_route("/profile/unlink/<any(google,github,telegram):provider>", methods=["POST"])
@login_required
def unlink(provider: str):
    try:
        oauth.unlink(current_user._get_current_object(), provider, ip=request.remote_addr)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash(_("%(provider)s is unlinked.", provider=PROVIDER_NAMES[provider]), "success")
    return redirect(url_for("auth.profile"))


# -- Telegram Login --------------------------------------------------------------------------------

@bp.get("/telegram")
def telegram_login():
    """The page with Telegram's widget: signing in, or (signed in) linking your Telegram account.

    A page of its own, loaded whole (its links say ``hx-boost="false"``): htmx does not run the
    scripts of a page it swaps in, and the widget is one."""
    settings = _settings()
    if not telegram_configured(settings):
        return _unavailable()
    state = secrets.token_urlsafe(16)
    session[TELEGRAM_STATE_KEY] = state
    if not current_user.is_authenticated:
        session[NEXT_KEY] = safe_next(request.args.get("next"))
    return render("auth/telegram_login.html", bot=settings.telegram_login_bot_name, widget=TELEGRAM_WIDGET,
                  auth_url=url_for("auth.telegram_callback", state=state, _external=True),
                  linking=current_user.is_authenticated)


@bp.get("/telegram/callback")
def telegram_callback():
    settings = _settings()
    if not telegram_configured(settings):
        return _unavailable()
    linking = current_user.is_authenticated
    expected = session.pop(TELEGRAM_STATE_KEY, None)
    fields = {k: v for k, v in request.args.items() if k != "state"}
    try:
        if not expected or not secrets.compare_digest(str(expected), request.args.get("state", "")):
            raise DomainError(_("Telegram could not confirm this sign-in. Try again."))
        identity = telegram.verify(fields, settings.telegram_login_bot_token)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("auth.profile") if linking else url_for("auth.sign_in"))
    if linking:
        return _link(identity)
    return _sign_in(identity, session.pop(NEXT_KEY, None))
