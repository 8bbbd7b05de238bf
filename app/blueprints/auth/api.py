"""``/api/auth``: sign-up, sign-in, token refresh and verification for API clients."""

from __future__ import annotations

import jwt
from flask import Blueprint, g, jsonify, request

from app.api.auth import json_body, protect, token_settings
from app.api.docs import documented, integer, obj, string
from app.blueprints.auth import service, tokens
from app.errors import DomainError
from app.extensions import db, limiter

bp = protect(Blueprint("auth_api", __name__, url_prefix="/api/auth"))

TOKENS = obj(["access_token", "refresh_token", "token_type", "expires_in"],
             access_token=string(), refresh_token=string(), token_type=string(enum=["Bearer"]),
             expires_in=integer(description="seconds until the access token expires"))
REFRESH_BODY = obj(["refresh_token"], refresh_token=string())


def _text(data: dict, key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise DomainError(f"{key} must be a string.", {key: "Must be a string."})
    return value


def _token_family_key() -> str:
    """Per-sign-in key for refresh limits: the token's family, read without trusting it."""
    data = request.get_json(silent=True)
    token = data.get("refresh_token") if isinstance(data, dict) else None
    try:
        family = jwt.decode(token, options={"verify_signature": False}).get("fam") if token else None
    except jwt.InvalidTokenError:
        family = None
    return f"family:{family}" if isinstance(family, str) else request.remote_addr


def _email_key() -> str:
    data = request.get_json(silent=True)
    email = data.get("email") if isinstance(data, dict) else None
    return email.strip().lower() if isinstance(email, str) and email.strip() else request.remote_addr


@bp.post("/signup")
@limiter.limit("10 per hour")
@limiter.limit("5 per hour", key_func=_email_key)
@documented("Create an account and its organization", tag="auth", public=True,
            body=obj(["email", "password", "name"], email=string(format="email"), password=string(),
                     name=string(), organization=string()),
            responses={201: {"description": "Signed up; tokens for the new owner", "schema": TOKENS},
                       409: "Email already registered", 422: "Invalid fields", 429: "Rate limited"})
def sign_up():
    data = json_body()
    result = service.sign_up(email=_text(data, "email"), password=_text(data, "password"),
                             name=_text(data, "name"), organization_name=_text(data, "organization"),
                             ip=request.remote_addr)
    pair = tokens.issue_pair(token_settings(), result.membership)
    db.session.commit()
    return jsonify(pair.as_dict()), 201


@bp.post("/signin")
@limiter.limit("30 per minute;200 per hour")
@limiter.limit("10 per minute", key_func=_email_key)
@documented("Exchange credentials for tokens", tag="auth", public=True,
            body=obj(["email", "password"], email=string(), password=string(),
                     organization_id=integer()),
            responses={200: {"description": "Tokens", "schema": TOKENS},
                       401: "Wrong email or password", 429: "Locked out or rate limited"})
def sign_in():
    data = json_body()
    try:
        user = service.authenticate(email=_text(data, "email"), password=_text(data, "password"),
                                    ip=request.remote_addr)
    except DomainError:
        db.session.commit()  # keep the failed attempt in the audit log
        raise
    org_id = data.get("organization_id")
    membership = service.default_membership(user, org_id if isinstance(org_id, int) else None)
    if membership is None:
        db.session.commit()
        raise DomainError("This account belongs to no organization.")
    pair = tokens.issue_pair(token_settings(), membership)
    db.session.commit()
    return jsonify(pair.as_dict())


@bp.post("/refresh")
@limiter.limit("60 per minute")
@limiter.limit("10 per minute", key_func=_token_family_key)
@documented("Rotate a refresh token (reusing a spent one revokes its family)", tag="auth",
            public=True, body=REFRESH_BODY,
            responses={200: {"description": "The next token pair", "schema": TOKENS},
                       401: "Invalid, expired or reused token"})
def refresh():
    data = json_body()
    try:
        pair = tokens.rotate(token_settings(), _text(data, "refresh_token"), ip=request.remote_addr)
    except DomainError:
        db.session.commit()  # a detected reuse must stay revoked
        raise
    db.session.commit()
    return jsonify(pair.as_dict())


@bp.get("/verify")
@documented("Who the access token belongs to", tag="auth",
            responses={200: {"description": "The token's user and organization", "schema": obj(
                user=obj(id=integer(), email=string(), name=string()),
                organization=obj(id=integer(), name=string()), role=string())}})
def verify():
    membership = g.membership
    return jsonify({
        "user": {"id": membership.user.id, "email": membership.user.email, "name": membership.user.name},
        "organization": {"id": membership.organization.id, "name": membership.organization.name},
        "role": membership.role,
    })


@bp.post("/signout")
@documented("Revoke a refresh token and its whole family", tag="auth", public=True, body=REFRESH_BODY,
            responses={204: "Signed out", 401: "Invalid token"})
def sign_out():
    data = json_body()
    tokens.revoke(token_settings(), _text(data, "refresh_token"))
    db.session.commit()
    return "", 204
