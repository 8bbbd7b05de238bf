"""An open socket re-checks, while idle, that its session and role still hold."""

from sqlalchemy import delete, select

from app import realtime
from app.blueprints.auth import browser_sessions
from app.blueprints.auth.models import UserSession
from app.blueprints.realtime.routes import _lost_rights
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Role
from app.extensions import db
from app.realtime import Connection
from tests.conftest import open_browser_session
from tests.factories import make_member


def socket_of(member) -> Connection:
    open_browser_session(member.user)
    session_id = db.session.scalar(select(UserSession.id).where(UserSession.user_id == member.user_id))
    return Connection(ws=None, user_id=member.user_id, org_id=member.org_id, role=member.role,
                      socket_id="s", session_id=session_id)


def test_a_socket_keeps_its_rights_while_nothing_changed():
    assert _lost_rights(socket_of(make_member(Role.MANAGER))) is None


def test_a_socket_whose_member_changed_role_must_reconnect():
    manager = make_member(Role.MANAGER)
    conn = socket_of(manager)
    db.session.get(Membership, manager.id).role = Role.AGENT.value
    db.session.commit()
    assert _lost_rights(conn) == realtime.CLOSE_RIGHTS_CHANGED


def test_a_socket_whose_session_ended_or_member_left_is_signed_out():
    member = make_member()
    conn = socket_of(member)
    browser_sessions.end_session(conn.session_id)
    db.session.commit()
    assert _lost_rights(conn) == realtime.CLOSE_SIGNED_OUT
    other = make_member()
    conn = socket_of(other)
    db.session.execute(delete(Membership).where(Membership.id == other.id))
    db.session.commit()
    assert _lost_rights(conn) == realtime.CLOSE_SIGNED_OUT


class ChattySocket:
    """A page that sends a frame every time it is read, and a clock that moves 31 s meanwhile."""

    def __init__(self, clock):
        self.clock, self.closed_with = clock, None

    def receive(self, timeout=None):
        self.clock.append(self.clock[-1] + 31)
        return "{}"

    def close(self, reason=None, message=None):
        self.closed_with = reason


def test_a_socket_that_keeps_sending_is_still_checked(monkeypatch):
    from app.blueprints.realtime import routes

    manager = make_member(Role.MANAGER)
    conn = socket_of(manager)
    clock = [1000.0]
    monkeypatch.setattr(routes.time, "monotonic", lambda: clock[-1])
    conn.ws = ChattySocket(clock)
    db.session.get(Membership, manager.id).role = Role.AGENT.value
    db.session.commit()
    routes._serve(conn)  # returns once the check closes it
    assert conn.ws.closed_with == realtime.CLOSE_RIGHTS_CHANGED
