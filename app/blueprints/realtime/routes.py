"""``/ws``: one socket per open tab, fed by the realtime hub."""

from __future__ import annotations

import secrets
import time

from flask import current_app, g, request
from flask_login import current_user
from simple_websocket import ConnectionClosed

from app.blueprints.realtime import bp
from app.errors import respond_with_error
from app.extensions import sock
from app.realtime import Connection, current_seq, hub, seq_mark

IDLE_TOUCH_SECONDS = 30


@bp.before_app_request
def refuse_anonymous_sockets():
    """Refuse before the upgrade: the handshake itself needs a signed-in session."""
    if request.path == "/ws" and (not current_user.is_authenticated or g.get("membership") is None):
        return respond_with_error(401, "unauthorized", "Sign in to receive live updates.")
    return None


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
                      role=membership.role, socket_id=secrets.token_hex(8))
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
                continue
            if not conn.allow_frame(now):
                ws.close(reason=1008, message="Too many messages.")
                break
    except ConnectionClosed:
        pass
    finally:
        hub.release(conn)
