from flask import Blueprint

bp = Blueprint("realtime", __name__)
