"""Request ids and logs: JSON in production (request id, user, organization, job), text in dev."""

from __future__ import annotations

import json
import logging
import sys
import uuid

import sqlalchemy
from flask import Flask, g, has_request_context, request
from sqlalchemy.exc import NoInspectionAvailable

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _loaded_ids(membership: object) -> tuple[int | None, int | None]:
    """A membership's user_id and org_id as already loaded, never loading them: a log line is
    often written after the request failed, when the instance is expired or detached and the
    session unusable (an attribute load there would raise inside logging)."""
    try:
        loaded = sqlalchemy.inspect(membership).dict
    except NoInspectionAvailable:  # not a mapped object (a realtime connection, say)
        return getattr(membership, "user_id", None), getattr(membership, "org_id", None)
    return loaded.get("user_id"), loaded.get("org_id")


class ContextFilter(logging.Filter):
    """Adds request_id, user_id, org_id (inside a request) and job_id (inside an RQ job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = record.user_id = record.org_id = record.job_id = None
        if has_request_context():
            record.request_id = g.get("request_id")
            membership = g.get("membership")
            if membership is not None:
                record.user_id, record.org_id = _loaded_ids(membership)
        try:
            from rq import get_current_job

            job = get_current_job()
        except Exception:  # noqa: BLE001 - no RQ connection outside a worker is normal
            job = None
        if job is not None:
            record.job_id = job.id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = " ".join(f"{k}={getattr(record, k)}" for k in ("request_id", "org_id", "user_id", "job_id")
                        if getattr(record, k, None) is not None)
        return f"{line} [{tags}]" if tags else line


def configure_logging(fmt: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex

    @app.after_request
    def expose_request_id(response):
        if g.get("request_id"):
            response.headers["X-Request-ID"] = g.request_id
        return response
