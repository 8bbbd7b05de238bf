from __future__ import annotations

from flask import g, jsonify, redirect, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from app.blueprints.core import bp
from app.extensions import db, limiter, redis_store
from app.htmx import render


@bp.get("/")
def index():
    return redirect(url_for("core.home" if current_user.is_authenticated else "auth.sign_in"))


@bp.get("/home")
@login_required
def home():
    return render("core/home.html", membership=g.membership)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """The process is up (no dependencies checked: a PaaS restarts us on failure)."""
    return jsonify(status="ok")


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Ready to serve: the database and Redis both answer."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:  # noqa: BLE001 - report, do not crash, the probe
        checks["database"] = f"error: {type(err).__name__}"
    try:
        redis_store.client.ping()
        checks["redis"] = "ok"
    except Exception as err:  # noqa: BLE001
        checks["redis"] = f"error: {type(err).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
