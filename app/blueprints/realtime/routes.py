"""``/ws``: one socket per open tab, fed by the realtime hub."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlsplit

from flask import current_app, g, request
from flask_babel import get_locale
from flask_login import current_user
from simple_websocket import ConnectionClosed

from app.blueprints.auth.public import session_role
from app.blueprints.realtime import bp
from app.errors import respond_with_error
from app.extensions import db, sock
from app.realtime import CLOSE_RIGHTS_CHANGED, CLOSE_SIGNED_OUT, Connection, current_seq, hub, seq_mark

log = logging.getLogger(__name__)
CHECK_SECONDS = 30  # how often an open socket renews its place and re-checks its rights


@bp.before_app_request
def refuse_foreign_or_anonymous_sockets():
    """Refuse before the upgrade: the handshake needs a signed-in session and must come from one of
    our own pages (a browser sends the cookie to /ws from any site: the Origin tells them apart)."""
    if request.path != "/ws":
        return None
    if not _same_origin(request.headers.get("Origin")):
        # Behind a TLS proxy with TRUSTED_PROXIES=0 every socket lands here (the scheme looks like http)
        log.warning("refused a socket from origin %r; this site is %s://%s",
                    request.headers.get("Origin"), request.scheme, request.host)
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
                      session_id=g.get("user_session_id"), language=str(get_locale()))
    db.session.remove()  # the socket lives for hours: it must not hold a database connection
    if not hub.admit(conn):
        ws.close(reason=1008, message="Too many open tabs; close some to get live updates here.")
        return
    hub.ensure_listener(current_app._get_current_object())
    # Listening from here on: the greeting tells the page whether it missed anything before.
    conn.send(seq_mark(current_seq(conn.org_id)))
    try:
        _serve(conn)
    except ConnectionClosed:
        pass
    finally:
        hub.release(conn)


def _serve(conn: Connection) -> None:
    """Read the page's frames (it sends few) until the socket closes or loses its rights."""
    checked = time.monotonic()
    while True:
        frame = conn.ws.receive(timeout=CHECK_SECONDS)
        now = time.monotonic()
        if frame is not None and not conn.allow_frame(now):
            conn.ws.close(reason=1008, message="Too many messages.")
            return
        if now - checked >= CHECK_SECONDS:  # by the clock, so a chatty client is checked too
            checked = now
            hub.touch(conn)  # still here: keep the per-user socket count honest
            code = _lost_rights(conn)
            if code is not None:  # a close order missed while Redis was away: caught here
                conn.close(code)
                return


def _lost_rights(conn: Connection) -> int | None:
    """The close code if the socket's session ended or its member's role changed since the
    handshake; None while both hold."""
    try:
        role = session_role(conn.session_id, conn.org_id) if conn.session_id is not None else None
        if role is None:  # signed out, or no longer a member
            return CLOSE_SIGNED_OUT
        return CLOSE_RIGHTS_CHANGED if role != conn.role else None
    finally:
        db.session.remove()
