"""``/ws``: one socket per open tab, fed by the realtime hub."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_login import current_user
from simple_websocket import ConnectionClosed

from app.blueprints.auth.browser_sessions import session_is_open
from app.blueprints.realtime import bp
from app.blueprints.team.service import role_of
from app.errors import respond_with_error
from app.extensions import db, sock
from app.realtime import CLOSE_RIGHTS_CHANGED, CLOSE_SIGNED_OUT, Connection, current_seq, hub, seq_mark

IDLE_TOUCH_SECONDS = 30


@bp.before_app_request
def refuse_foreign_or_anonymous_sockets():
    """Refuse before the upgrade: the handshake needs a signed-in session and must come from one of
    our own pages (a browser sends the cookie to /ws from any site: the Origin tells them apart)."""
    if request.path != "/ws":
        return None
    if not _same_origin(request.headers.get("Origin")):
        return respond_with_error(403, "forbidden", "Live updates are only for this site's pages.")
    if not current_user.is_authenticated or g.get("membership") is None:
        return respond_with_error(401, "unauthorized", "Sign in to receive live updates.")
    return None


def _same_origin(origin: str | None) -> bool:
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc.lower() == request.host.lower()


@bp.before_app_request
def note_live_seq():
    """A page remembers the last event it has seen, read before the view queries anything.

    Only full pages (plain or boosted) carry the number; fragments re-fetched later do not need it.
    """
    if (request.method == "GET" and request.path != "/ws" and g.get("membership") is not None
            and (request.headers.get("HX-Boosted") or not request.headers.get("HX-Request"))):
        g.live_seq = current_seq(g.membership.org_id)


@sock.route("/ws", bp=bp)
def socket(ws):
    membership = g.membership
    conn = Connection(ws=ws, user_id=membership.user_id, org_id=membership.org_id,
                      role=membership.role, socket_id=secrets.token_hex(8),
                      session_id=g.get("user_session_id"))
    db.session.remove()  # the socket lives for hours: it must not hold a database connection
    if not hub.admit(conn):
        ws.close(reason=1008, message="Too many open tabs; close some to get live updates here.")
        return
    hub.ensure_listener(current_app._get_current_object())
    # Listening from here on: the greeting tells the page whether it missed anything before.
    conn.send(seq_mark(current_seq(conn.org_id)))
    try:
        while True:
            frame = ws.receive(timeout=IDLE_TOUCH_SECONDS)
            now = time.monotonic()
            if frame is None:
                hub.touch(conn)  # still here: keep the per-user socket count honest
                code = _lost_rights(conn)
                if code is not None:  # a close order missed while Redis was away: caught here
                    conn.close(code)
                    break
                continue
            if not conn.allow_frame(now):
                ws.close(reason=1008, message="Too many messages.")
                break
    except ConnectionClosed:
        pass
    finally:
        hub.release(conn)


def _lost_rights(conn: Connection) -> int | None:
    """The close code if the socket's session ended or its member's role changed since the
    handshake; None while both hold."""
    try:
        if conn.session_id is not None and not session_is_open(conn.session_id):
            return CLOSE_SIGNED_OUT
        role = role_of(conn.user_id, conn.org_id)
        if role is None:
            return CLOSE_SIGNED_OUT
        return CLOSE_RIGHTS_CHANGED if role != conn.role else None
    finally:
        db.session.remove()
