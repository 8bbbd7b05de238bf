"""Bearer-token authentication for the JSON API (CSRF does not apply: no cookies are used)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, request

from app.blueprints.auth.public import TokenSettings, authenticate_access
from app.errors import BadRequest, DomainError, Unauthorized
from app.extensions import csrf
from app.request_input import MAX_JSON_BYTES, SEND_JSON_OBJECT


def token_settings() -> TokenSettings:
    settings = current_app.config["SETTINGS"]
    return TokenSettings(secret=settings.jwt_secret, access_minutes=settings.access_token_minutes,
                         refresh_days=settings.refresh_token_days)


def protect(bp: Blueprint) -> Blueprint:
    """Make every view of ``bp`` require a bearer token unless documented ``public``."""
    csrf.exempt(bp)

    @bp.before_request
    def authenticate() -> None:
        view = current_app.view_functions.get(request.endpoint)
        meta = getattr(view, "__openapi__", None) or {}
        if meta.get("public"):
            return
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
        g.membership = authenticate_access(token_settings(), token.strip())

    return bp


def json_body() -> dict:
    """The request's JSON object.

    Raises BadRequest: no JSON body, or not an object (SEND_JSON_OBJECT); malformed or nested too
    deeply (saying so, from ``SafeRequest``). Raises DomainError (422) naming the field whose
    text holds a NUL or an unpaired surrogate.
    """
    if not request.is_json:
        raise BadRequest(SEND_JSON_OBJECT)
    if (request.content_length or 0) <= MAX_JSON_BYTES and not request.get_data(cache=True).strip():
        raise BadRequest(SEND_JSON_OBJECT)  # an empty body (a larger one is refused unread below)
    data = request.get_json()
    if not isinstance(data, dict):
        raise BadRequest(SEND_JSON_OBJECT)
    return data


def only_fields(data: dict, allowed: set[str]) -> dict:
    """``data`` unchanged. Raises DomainError naming every field outside ``allowed``."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(unknown)}.", dict.fromkeys(unknown, "Unknown field."))
    return data


def member_rate_key() -> str:
    """Rate-limit key of API calls: the member (an API token's user), else the client address."""
    membership = g.get("membership")
    return f"user:{membership.user_id}" if membership is not None else request.remote_addr or "-"


def per_member_limit(scope: str, rate: str = "600 per minute"):
    """A blueprint's shared per-member rate limit (decorate each API view with it)."""
    from app.extensions import limiter

    return limiter.shared_limit(rate, scope=scope, key_func=member_rate_key)
