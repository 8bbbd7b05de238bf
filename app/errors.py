"""The DomainError family and how every failure reaches a person.

A service raises a ``DomainError`` with a message someone can act on. Where it surfaces decides the
shape: a JSON envelope under ``/api/``, a toast (``HX-Trigger``) with no swap for HTMX requests,
an error page in the app's layout otherwise. No stack trace ever reaches a user.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal a person can act on. ``fields`` maps form fields to their messages."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "conflict"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class TooManyAttempts(DomainError):
    status, code = 429, "too_many_attempts"


# In the viewer's language (lazy: read when an error is answered).
TITLES = {
    400: _l("Bad request"),
    401: _l("Sign-in required"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    409: _l("Conflict"),
    413: _l("Too large"),
    422: _l("Could not process"),
    429: _l("Slow down"),
    500: _l("Something went wrong"),
}

FRIENDLY = {
    400: _l("The request could not be understood. Reload the page and try again."),
    401: _l("Please sign in to continue."),
    403: _l("Your role does not allow this. Ask an owner or admin if you need it."),
    404: _l("We could not find that page. It may have been moved or deleted."),
    405: _l("That action is not available here."),
    413: _l("That upload is too large."),
    422: _l("Some of what was sent could not be processed."),
    429: _l("Too many requests. Wait a minute and try again."),
    500: _l("An unexpected error happened on our side. It has been logged; please try again."),
}

# When even the error page fails, nothing more is asked of the app (no catalog either).
BARE_500 = "An unexpected error happened on our side. It has been logged; please try again."

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
         429: "rate_limited", 500: "server_error"}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def error_envelope(status: int, code: str, message: str, fields: dict | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": str(message), "fields": fields or {}}})
    response.status_code = status
    return response


def toast_header(message: str, level: str = "error") -> str:
    return json.dumps({"toast": {"level": level, "message": str(message)}})


def respond_with_error(status: int, code: str, message: str, fields: dict | None = None):
    if wants_json():
        return error_envelope(status, code, message, fields)
    if is_htmx():
        # htmx does not swap 4xx/5xx (except 422 forms), so the page stays intact; the toast says why.
        return Response("", status=status, headers={"HX-Trigger": toast_header(message)})
    title = TITLES.get(status) or gettext("Error")
    return render_template("errors/error.html", status=status, title=title, message=message), status


def discard_failed_work() -> None:
    """Roll the request's transaction back before answering an error.

    A failed flush leaves the session unusable (every later query, the error page's included,
    raises until a rollback), and nothing a refused request did may be committed by a later step.
    A rollback that fails itself is logged, never raised: the answer must still go out.
    """
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback after an error failed", exc_info=True)


def bare_server_error() -> Response:
    """The 500 answer when even the error page fails: plain text (or the envelope), no template,
    no database, no traceback."""
    if wants_json():
        body = json.dumps({"error": {"code": "server_error", "message": BARE_500, "fields": {}}})
        return Response(body, status=500, mimetype="application/json")
    return Response(BARE_500, status=500, mimetype="text/plain")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        discard_failed_work()
        return respond_with_error(err.status, err.code, err.message, err.fields)

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(err: StaleDataError):
        """A row this request writes was deleted or changed by another request meanwhile (two
        people arranging the same pipeline): a 409, as a deal moved meanwhile is, not a 500."""
        discard_failed_work()
        message = gettext("Someone changed this meanwhile. Reload and try again.")
        return respond_with_error(409, "conflict", message)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):
        message = gettext("Your session form expired. Reload the page and try again.")
        return respond_with_error(400, "csrf", message)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        discard_failed_work()
        status = err.code or 500
        message = FRIENDLY.get(status) or err.description or gettext("Error")
        response = respond_with_error(status, CODES.get(status, "error"), message)
        allowed = set(getattr(err, "valid_methods", None) or ())
        if wants_json():
            allowed.discard("OPTIONS")  # the API refuses it (below)
        if status == 405 and allowed:  # what the resource does answer to (RFC 9110)
            response = make_response(response)
            response.headers["Allow"] = ", ".join(sorted(allowed))
        return response

    @app.before_request
    def no_automatic_options_in_the_api():
        """The API answers the methods its document declares; OPTIONS (which Flask would answer
        for every route by itself) is not one of them, so it gets the 405 any other would, with
        every method the path does answer to."""
        if request.method == "OPTIONS" and wants_json() and request.url_rule is not None:
            adapter = app.url_map.bind_to_environ(request.environ)
            raise MethodNotAllowed(sorted(adapter.allowed_methods(request.path)))

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")  # first: the rollback expires what the log line reads
        discard_failed_work()
        try:
            return respond_with_error(500, "server_error", FRIENDLY[500])
        except Exception:
            log.exception("the error page failed")
            return bare_server_error()


def attach_to_form(form, err: DomainError) -> None:
    """Show a service's refusal on the form: field messages on their fields, the rest on top.

    A refusal that no edit of the form could fix (Forbidden, NotFound) is raised again, so it gets
    its own error page or toast instead of a form that cannot succeed.
    """
    if isinstance(err, Forbidden | NotFound):
        raise err
    for name, message in err.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    unplaced = [name for name in err.fields if getattr(form, name, None) is None]
    if not err.fields or unplaced:
        form.form_errors.append(err.message)
