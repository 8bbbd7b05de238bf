from flask import Blueprint

bp = Blueprint("team", __name__, url_prefix="/settings")
