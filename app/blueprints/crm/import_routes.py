"""CSV import pages: upload, preview and mapping, progress, result."""

from flask import Blueprint

bp = Blueprint("crm_import", __name__, url_prefix="/imports")
