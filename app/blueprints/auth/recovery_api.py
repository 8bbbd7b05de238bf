"""``/api/auth/password``: a reset link by mail, and a new password through its token. Asking
answers the same for every address: the lookup and the mail happen in a job."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import get_locale, gettext

from app.api.auth import json_body
from app.api.docs import documented, obj, string
from app.blueprints.auth import recovery, recovery_jobs
from app.blueprints.auth.api import ACCEPTED, MAX_PASSWORD, RATE_LIMITED, _email_key, accepted, bp
from app.blueprints.auth.passwords import MIN_LENGTH
from app.extensions import db, limiter
from app.integrations.mail import external_url


@bp.post("/password/forgot")
@limiter.limit("20 per hour")
@limiter.limit("3 per hour", key_func=_email_key)
@documented("Mail a password reset link (valid one hour, once) to the address's account; the answer "
            "is the same whether or not the address has one", tag="auth", public=True,
            body=obj(["email"], email=string(minLength=1, maxLength=254)),
            responses={202: {"description": "Accepted: if the address has an account, its inbox has a link",
                             "schema": ACCEPTED}, 429: RATE_LIMITED})
def forgot_password():
    email = json_body()["email"].strip()
    recovery_jobs.queue_password_reset(email, language=str(get_locale()), base=request.host_url)
    db.session.commit()
    return accepted(gettext("If %(email)s has an account, we sent it a link to choose a new password.",
                            email=email))


@bp.post("/password/reset")
@limiter.limit("10 per hour")
@documented("Set a new password with the token of a mailed reset link: the token is spent, and every "
            "browser session and API sign-in of the account ends", tag="auth", public=True,
            body=obj(["token", "password"], token=string(minLength=1, maxLength=512,
                                                         description="the last part of the mailed link"),
                     password=string(minLength=MIN_LENGTH, maxLength=MAX_PASSWORD, writeOnly=True)),
            responses={204: "The password is changed: sign in with it",
                       422: "The token is not valid, has expired or was used; or the password is refused",
                       429: RATE_LIMITED})
def reset_password():
    data = json_body()
    recovery.reset_password(data["token"], data["password"], secret=current_app.config["SECRET_KEY"],
                            link=external_url, ip=request.remote_addr)
    db.session.commit()
    return "", 204
