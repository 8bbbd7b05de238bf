"""``/ws`` on the real web process (gunicorn), through a real websocket client."""

import re
import time

import pytest
import simple_websocket

from app import realtime
from app.realtime import publish_now
from tests.conftest import session_cookie
from tests.factories import make_member

GREETING = re.compile(r"<!--seq:\d+-->")


def connect(live_server, cookie=None):
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    return simple_websocket.Client.connect(live_server.replace("http", "ws") + "/ws", headers=headers)


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
