"""Telegram BD accounts: connecting them (phone, code, password or QR), their settings, removal."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
