from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, jsonify, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from app.blueprints.auth import public as auth
from app.blueprints.core import bp
from app.extensions import db, limiter, redis_store
from app.htmx import render
from app.i18n import COOKIE, COOKIE_MAX_AGE, LANGUAGES


@bp.get("/")
def index():
    return redirect(url_for("core.home" if current_user.is_authenticated else "auth.sign_in"))


@bp.get("/home")
@login_required
def home():
    return render("core/home.html", membership=g.membership)


@bp.post("/language")
def language():
    """The language switcher (every page, signed in or not): remembered in a cookie for a year,
    and a signed-in person's choice saved as theirs (it follows them to every device), then back
    to the page it was used on (same-site paths only)."""
    chosen = request.form.get("lang")
    back = request.form.get("next") or ""
    if not back.startswith("/") or back.startswith("//") or urlsplit(back).netloc:
        back = url_for("core.index")
    response = redirect(back)
    if chosen in LANGUAGES and current_user.is_authenticated:
        auth.set_language(current_user._get_current_object(), chosen)
        db.session.commit()
    if chosen in LANGUAGES:
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


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
