"""``/api/auth``: sign-up, sign-in (with its second step, for an account with MFA), token refresh
and verification for API clients."""

from __future__ import annotations

import jwt
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext

from app.api.auth import json_body, protect, token_settings
from app.api.docs import ID, documented, integer, obj, string
from app.blueprints.auth import mfa, recovery, recovery_jobs, service, tokens
from app.blueprints.auth.passwords import MIN_LENGTH
from app.blueprints.team.public import Role
from app.errors import DomainError
from app.extensions import db, limiter
from app.i18n import negotiate

bp = protect(Blueprint("auth_api", __name__, url_prefix="/api/auth"))

MAX_PASSWORD = 1024
TOKENS = obj(["access_token", "refresh_token", "token_type", "expires_in"],
             access_token=string(), refresh_token=string(), token_type=string(enum=["Bearer"]),
             expires_in=integer(description="seconds until the access token expires"))
REFRESH_BODY = obj(["refresh_token"], refresh_token=string(minLength=1, maxLength=4096))
REFUSED_REFRESH = "The refresh token is not valid, has expired, or was revoked"
RATE_LIMITED = "Rate limited (rate_limited): wait and try again (Retry-After)"
ACCEPTED = obj(["status", "message"], status=string(enum=["accepted"]), message=string())
LOCKED_OUT = "Locked out after repeated failures (too_many_attempts), or rate limited (rate_limited)"
MFA_ENROLMENT = ("the organization requires two-factor authentication and the account has none yet "
                 "(mfa_enrolment_required): set it up in the web app first")
MFA_REQUIRED = obj(["error"], error=obj(
    ["code", "message", "fields"], code=string(), message=string(),
    fields={"type": "object", "additionalProperties": {"type": "string"}},
    ticket=string(description="with code mfa_required: the ticket for POST /api/auth/mfa"),
    expires_in=integer(description="with code mfa_required: seconds the ticket stays valid")))


def _token_family_key() -> str:
    """Per-sign-in key for refresh limits: the token's family, read without trusting it."""
    data = request.get_json(silent=True)
    token = data.get("refresh_token") if isinstance(data, dict) else None
    try:
        family = jwt.decode(token, options={"verify_signature": False}).get("fam") if token else None
    except jwt.InvalidTokenError:
        family = None
    return f"family:{family}" if isinstance(family, str) else request.remote_addr


def _ticket_key() -> str:
    """Per-sign-in key for code attempts: the ticket's user, read without trusting it."""
    data = request.get_json(silent=True)
    ticket = data.get("ticket") if isinstance(data, dict) else None
    try:
        user = jwt.decode(ticket, options={"verify_signature": False}).get("sub") if ticket else None
    except (jwt.InvalidTokenError, TypeError, AttributeError):
        user = None
    return f"mfa-user:{user}" if isinstance(user, str) else request.remote_addr


def _email_key() -> str:
    data = request.get_json(silent=True)
    email = data.get("email") if isinstance(data, dict) else None
    return email.strip().lower() if isinstance(email, str) and email.strip() else request.remote_addr


@bp.post("/signup")
@limiter.limit("10 per hour")
@limiter.limit("5 per hour", key_func=_email_key)
@documented("Create an account and its organization: the account is made, and its address mailed a "
            "confirmation link, right after; the answer is the same whether or not the address has an "
            "account already (its owner is mailed instead), so it tells nobody which addresses do",
            tag="auth", public=True,
            body=obj(["email", "password", "name"], email=string(format="email", maxLength=254),
                     password=string(minLength=MIN_LENGTH, maxLength=MAX_PASSWORD, writeOnly=True,
                                     description="not the email, nor part of it"),
                     name=string(minLength=1, maxLength=120),
                     organization=string(maxLength=120, description="blank or absent: \"<name>'s team\"")),
            responses={202: {"description": "Accepted: check the inbox (then sign in, confirmed or not)",
                             "schema": ACCEPTED},
                       422: "An email or password refused, or a blank name", 429: RATE_LIMITED})
def sign_up():
    data = json_body()
    # The language the caller asked to be answered in is the one the account signs up in.
    language = negotiate(None, request.accept_languages) if request.headers.get("Accept-Language") else None
    asked = recovery.check_sign_up(email=data["email"], password=data["password"], name=data["name"],
                                   organization_name=data.get("organization", ""), language=language,
                                   country=None)
    recovery_jobs.queue_sign_up(asked, ip=request.remote_addr, base=request.host_url)
    db.session.commit()
    return accepted(gettext("Check the inbox of %(email)s: a mail tells how to go on.", email=asked.email))


def accepted(message: str):
    response = jsonify({"status": "accepted", "message": message})
    response.status_code = 202
    return response


@bp.post("/signin")
@limiter.limit("30 per minute;200 per hour")
@limiter.limit("10 per minute", key_func=_email_key)
@documented("Exchange credentials for tokens (or, with MFA, for a ticket to POST /api/auth/mfa)", tag="auth",
            public=True,
            body=obj(["email", "password"], email=string(minLength=1, maxLength=254),
                     password=string(minLength=1, maxLength=MAX_PASSWORD, writeOnly=True),
                     organization_id={**ID, "description": "act in this organization (default: your first)"}),
            responses={200: {"description": "Tokens", "schema": TOKENS},
                       401: {"description": "Wrong email or password (unauthorized); or right, and the "
                                            "account signs in with a second factor (mfa_required: send "
                                            "error.ticket with a code to POST /api/auth/mfa within "
                                            "error.expires_in seconds); or " + MFA_ENROLMENT,
                            "schema": MFA_REQUIRED},
                       422: "The account belongs to no organization",
                       429: LOCKED_OUT})
def sign_in():
    data = json_body()
    try:
        user = service.authenticate(email=data["email"], password=data["password"], ip=request.remote_addr)
    except DomainError:
        db.session.commit()  # keep the failed attempt in the audit log
        raise
    membership = service.default_membership(user, data.get("organization_id"))
    if membership is None:
        db.session.commit()
        raise DomainError(gettext("This account belongs to no organization."))
    if mfa.enabled(user):
        ticket = tokens.issue_mfa_ticket(token_settings(), user, membership.org_id)
        db.session.commit()
        return jsonify({"error": {
            "code": "mfa_required", "fields": {}, "ticket": ticket, "expires_in": tokens.TICKET_SECONDS,
            "message": gettext("Enter a code from your authenticator app (or a recovery code) to finish "
                               "signing in.")}}), 401
    return _tokens_for(user, membership)


@bp.post("/mfa")
@limiter.limit("30 per minute")
@limiter.limit("10 per minute", key_func=_ticket_key)
@documented("Finish a sign-in that answered mfa_required: its ticket and a code", tag="auth", public=True,
            body=obj(["ticket", "code"], ticket=string(minLength=1, maxLength=4096),
                     code=string(minLength=1, maxLength=32, writeOnly=True,
                                 description="six digits from the authenticator app, or a recovery code")),
            responses={200: {"description": "Tokens", "schema": TOKENS},
                       401: "The ticket is not valid, has expired or was used (sign in again); or the "
                            "code is not right or was already used (fields.code): try again with the "
                            "same ticket",
                       422: "The account belongs to no organization",
                       429: "Too many wrong codes (too_many_attempts), or rate limited (rate_limited)"})
def finish_mfa():
    data = json_body()
    ticket = tokens.read_mfa_ticket(token_settings(), data["ticket"])
    user = ticket.user
    membership = service.default_membership(user, ticket.org_id)
    if membership is None:
        raise DomainError(gettext("This account belongs to no organization."))
    try:
        mfa.verify(user, data["code"], mfa.MfaKeys(tuple(current_app.config["SETTINGS"].session_keys)),
                   ip=request.remote_addr, org_id=membership.org_id)
    except DomainError:
        db.session.commit()  # the wrong code stays counted and in the audit log
        raise
    tokens.spend_mfa_ticket(ticket)
    return _tokens_for(user, membership)


def _tokens_for(user, membership):
    mfa.check_api_sign_in(user, membership)
    pair = tokens.issue_pair(token_settings(), membership, **_device())
    db.session.commit()
    return jsonify(pair.as_dict())


def _device() -> dict:
    return {"ip": request.remote_addr, "user_agent": request.headers.get("User-Agent")}


@bp.post("/refresh")
@limiter.limit("60 per minute")
@limiter.limit("10 per minute", key_func=_token_family_key)
@documented("Rotate a refresh token (reusing a spent one revokes its family)", tag="auth",
            public=True, body=REFRESH_BODY,
            responses={200: {"description": "The next token pair", "schema": TOKENS},
                       401: f"{REFUSED_REFRESH}, or was already used; or {MFA_ENROLMENT}",
                       429: RATE_LIMITED})
def refresh():
    data = json_body()
    try:
        pair = tokens.rotate(token_settings(), data["refresh_token"], ip=request.remote_addr)
    except DomainError:
        db.session.commit()  # a detected reuse must stay revoked
        raise
    db.session.commit()
    return jsonify(pair.as_dict())


@bp.get("/verify")
@documented("Who the access token belongs to", tag="auth",
            responses={200: {"description": "The token's user and organization", "schema": obj(
                ["user", "organization", "role"],
                user=obj(["id", "email", "name"], id=integer(), email=string(), name=string()),
                organization=obj(["id", "name"], id=integer(), name=string()),
                role=string(enum=[r.value for r in Role]))}})
def verify():
    membership = g.membership
    return jsonify({
        "user": {"id": membership.user.id, "email": membership.user.email, "name": membership.user.name},
        "organization": {"id": membership.organization.id, "name": membership.organization.name},
        "role": membership.role,
    })


@bp.post("/signout")
@documented("Revoke a refresh token and its whole family", tag="auth", public=True, body=REFRESH_BODY,
            responses={204: "Signed out", 401: REFUSED_REFRESH})
def sign_out():
    tokens.revoke(token_settings(), json_body()["refresh_token"])
    db.session.commit()
    return "", 204
