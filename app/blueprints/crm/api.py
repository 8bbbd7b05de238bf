"""``/api/crm``: companies, contacts and deals over the same services and queries as the pages."""

from flask import Blueprint

from app.api.auth import protect

bp = protect(Blueprint("crm_api", __name__, url_prefix="/api/crm"))
