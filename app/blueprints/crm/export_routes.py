"""CSV export of a filtered list, for signed-in browsers (the API has its own route)."""

from flask import Blueprint

bp = Blueprint("crm_export", __name__, url_prefix="/export")
