"""The shared inbox: chats and messages of every connected Telegram account."""

from flask import Blueprint

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
