from flask import Blueprint, current_app, jsonify

from app.api.auth import protect
from app.api.docs import documented, openapi_document
from app.extensions import limiter

bp = protect(Blueprint("api", __name__, url_prefix="/api"))


@bp.get("/openapi.json")
@limiter.limit("120 per minute")
@documented("This document", tag="meta", public=True)
def openapi():
    return jsonify(openapi_document(current_app))
