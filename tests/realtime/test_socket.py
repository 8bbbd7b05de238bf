"""``/ws`` on the real web process (gunicorn), through a real websocket client."""

import re
import time
from urllib.parse import urlsplit

import pytest
import simple_websocket

from app import realtime
from app.blueprints.team import service as team
from app.blueprints.team.permissions import Role
from app.extensions import db
from app.realtime import publish_now
from tests.conftest import csrf_token, session_cookie
from tests.factories import make_member

GREETING = re.compile(r"<!--seq:\d+-->")


def connect(live_server, cookie=None, origin=None):
    """A socket to /ws as one of the site's own pages opens it (``origin``: another site's page).

    simple_websocket's client sends ``Host`` without the port, so its own page's origin has none.
    """
    headers = {"Origin": origin or "http://" + urlsplit(live_server).hostname}
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    ws = simple_websocket.Client.connect(live_server.replace("http", "ws") + "/ws", headers=headers)
    # The client's handshake reads the server's 101 answer and stops at its first event: a frame
    # that came in the same read (the greeting, on a busy machine) would wait in wsproto until more
    # bytes arrive (the next ping, 25 s on). Hand such frames over now, as a browser would.
    ws._handle_events()
    return ws


def receive_after_publishing(ws, org_id, kind, **data):
    """Publish until the socket hears it: the server subscribes just after the handshake."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        publish_now(org_id, kind, **data)
        message = ws.receive(timeout=0.3)
        if message and not GREETING.fullmatch(message):
            return message
    raise AssertionError("no realtime message arrived")


def test_a_signed_in_socket_receives_its_organizations_updates(app, live_server):
    member = make_member()
    ws = connect(live_server, session_cookie(app, member))
    try:
        message = receive_after_publishing(ws, member.org_id, "org.updated")
        assert 'id="org-name"' in message and 'hx-swap-oob="true"' in message
        assert member.organization.name in message
    finally:
        ws.close()


def test_a_socket_greets_its_page_with_the_latest_event_number(app, live_server):
    member = make_member()
    seq = publish_now(member.org_id, "org.updated")  # rung before this socket listened
    ws = connect(live_server, session_cookie(app, member))
    try:
        assert ws.receive(timeout=5) == f"<!--seq:{seq}-->"
        message = receive_after_publishing(ws, member.org_id, "org.updated")
        assert re.match(rf"<!--seq:{seq + 1}-->", message)  # each frame names its event
    finally:
        ws.close()


def test_an_anonymous_socket_is_refused_before_the_upgrade(live_server):
    with pytest.raises(simple_websocket.ConnectionError) as err:
        connect(live_server)
    assert err.value.status_code == 401


def test_the_eleventh_socket_of_one_user_is_closed(app, live_server):
    member = make_member()
    cookie = session_cookie(app, member)
    sockets = [connect(live_server, cookie) for _ in range(realtime.MAX_SOCKETS_PER_USER)]
    try:
        receive_after_publishing(sockets[-1], member.org_id, "org.updated")  # all ten admitted
        extra = connect(live_server, cookie)
        with pytest.raises(simple_websocket.ConnectionClosed) as closed:
            extra.receive(timeout=5)
        assert closed.value.reason == 1008
    finally:
        for ws in sockets:
            ws.close()


def test_a_socket_flooding_frames_is_closed(app, live_server):
    member = make_member()
    ws = connect(live_server, session_cookie(app, member))
    with pytest.raises(simple_websocket.ConnectionClosed) as closed:
        for _ in range(realtime.FRAME_BURST + 5):
            ws.send("{}")
            time.sleep(0.01)
        ws.receive(timeout=5)
    assert closed.value.reason == 1008


def closed_code(ws) -> int:
    """The close code the server gives ``ws`` (its frames before that are skipped)."""
    deadline = time.monotonic() + 10
    with pytest.raises(simple_websocket.ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.receive(timeout=0.5)
    return closed.value.reason


def test_a_socket_opened_by_another_sites_page_is_refused(app, live_server):
    member = make_member()
    with pytest.raises(simple_websocket.ConnectionError) as err:
        connect(live_server, session_cookie(app, member), origin="https://evil.example")
    assert err.value.status_code == 403
    with pytest.raises(simple_websocket.ConnectionError) as err:
        connect(live_server, session_cookie(app, member), origin="null")
    assert err.value.status_code == 403


def test_a_frame_bigger_than_the_limit_closes_the_socket(app, live_server):
    member = make_member()
    ws = connect(live_server, session_cookie(app, member))
    receive_after_publishing(ws, member.org_id, "org.updated")
    ws.send("x" * (realtime.MAX_FRAME_BYTES + 1))
    assert closed_code(ws) == 1009


def test_a_role_change_makes_the_members_open_socket_reconnect(app, live_server):
    owner = make_member()
    manager = make_member(Role.MANAGER, org=owner.organization)
    ws = connect(live_server, session_cookie(app, manager))
    receive_after_publishing(ws, owner.org_id, "org.updated")  # listening
    team.change_role(owner, manager.id, Role.AGENT.value)
    db.session.commit()
    assert closed_code(ws) == realtime.CLOSE_RIGHTS_CHANGED  # the page reconnects as an agent


def test_signing_out_closes_that_browsers_open_sockets(app, client, live_server):
    member = make_member()
    cookie = session_cookie(app, member)
    ws = connect(live_server, cookie)
    other_browser = connect(live_server, session_cookie(app, member))
    receive_after_publishing(ws, member.org_id, "org.updated")
    receive_after_publishing(other_browser, member.org_id, "org.updated")
    client.set_cookie("session", cookie)
    client.post("/auth/signout", data={"csrf_token": csrf_token(client, "/home")})
    assert closed_code(ws) == realtime.CLOSE_SIGNED_OUT
    message = receive_after_publishing(other_browser, member.org_id, "org.updated")  # still open
    assert 'id="org-name"' in message
    other_browser.close()


def test_open_sockets_hold_no_database_transaction(app, live_server):
    """A socket lives for hours: it must not keep a connection of the pool idle in a transaction."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("pg_stat_activity shows what each connection holds")
    from sqlalchemy import text

    members = [make_member() for _ in range(3)]
    sockets = [connect(live_server, session_cookie(app, m)) for m in members]
    try:
        for ws, member in zip(sockets, members, strict=True):
            receive_after_publishing(ws, member.org_id, "org.updated")  # each is in its loop
        # A renderer's query is in a transaction for a moment: wait for what is still held after that.
        deadline = time.monotonic() + 5
        while True:
            db.session.commit()  # this test's own connection is not idle in a transaction either
            held = db.session.scalars(text("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND state = 'idle in transaction'")).all()
            if not held or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert held == []
    finally:
        for ws in sockets:
            ws.close()
