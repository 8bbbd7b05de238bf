"""``/api/crm/<entity>/import`` and ``/api/crm/imports/<id>``."""

from flask import Blueprint

from app.api.auth import protect

bp = protect(Blueprint("crm_import_api", __name__, url_prefix="/api/crm"))
