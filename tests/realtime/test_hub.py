"""The hub's fan-out, with recording sockets standing in for browsers."""

import json
import threading

from app import realtime
from app.extensions import db
from app.realtime import Connection, Hub, oob, publish
from tests.factories import make_member


class RecordingSocket:
    def __init__(self, fail=False):
        self.sent, self.fail = [], fail

    def send(self, text):
        if self.fail:
            raise ConnectionError("gone")
        self.sent.append(text)


def conn(member, **kwargs):
    return Connection(ws=RecordingSocket(**kwargs), user_id=member.user_id, org_id=member.org_id,
                      role=member.role, socket_id=f"s{id(kwargs)}{member.id}")


def event(kind, seq=1, **data):
    return f'{seq} {json.dumps({"kind": kind, "data": data, "user_ids": None})}'


def test_oob_marks_the_outer_element_only():
    assert oob('<span id="a"><b>x</b></span>') == '<span hx-swap-oob="true" id="a"><b>x</b></span>'


def test_an_event_reaches_every_socket_of_its_organization_and_no_other(app):
    hub = Hub()
    a, b = make_member(), make_member()
    mine, theirs = conn(a), conn(b)
    assert hub.admit(mine) and hub.admit(theirs)
    sent = hub.dispatch(app, f"rt:org:{a.org_id}", event("org.updated"))
    assert sent == 1
    assert mine.ws.sent[0].startswith("<!--seq:1-->")  # the page learns the event's number
    assert 'id="org-name"' in mine.ws.sent[0] and 'hx-swap-oob="true"' in mine.ws.sent[0]
    assert a.organization.name in mine.ws.sent[0]
    assert theirs.ws.sent == []


def test_audience_narrows_an_event_to_listed_users(app):
    hub = Hub()
    a = make_member()
    from tests.factories import add_member

    b = add_member(a.organization)
    ca, cb = conn(a), conn(b)
    hub.admit(ca)
    hub.admit(cb)
    raw = "1 " + json.dumps({"kind": "org.updated", "data": {}, "user_ids": [b.user_id]})
    assert hub.dispatch(app, f"rt:org:{a.org_id}", raw) == 1
    assert ca.ws.sent == [] and len(cb.ws.sent) == 1


def test_a_dead_socket_does_not_stop_the_others(app):
    hub = Hub()
    a = make_member()
    dead, alive = conn(a, fail=True), conn(a)
    alive.socket_id = "other"
    hub.admit(dead)
    hub.admit(alive)
    assert hub.dispatch(app, f"rt:org:{a.org_id}", event("org.updated")) == 1


def test_at_most_ten_sockets_per_user():
    hub = Hub()
    a = make_member()
    admitted = []
    for i in range(realtime.MAX_SOCKETS_PER_USER + 1):
        c = conn(a)
        c.socket_id = f"tab{i}"
        admitted.append(hub.admit(c))
    assert admitted == [True] * realtime.MAX_SOCKETS_PER_USER + [False]
    hub.release(c)


def test_inbound_frames_are_rate_limited():
    c = Connection(ws=RecordingSocket(), user_id=1, org_id=1, role="agent", socket_id="x")
    allowed = [c.allow_frame(100.0 + i * 0.01) for i in range(realtime.FRAME_BURST + 1)]
    assert allowed[-1] is False and all(allowed[:-1])
    assert c.allow_frame(100.0 + realtime.FRAME_WINDOW + 1)


def test_sends_on_one_socket_are_serialized():
    active, peak = [0], [0]
    lock = threading.Lock()

    class SlowSocket:
        def send(self, text):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            threading.Event().wait(0.005)
            with lock:
                active[0] -= 1

    c = Connection(ws=SlowSocket(), user_id=1, org_id=1, role="agent", socket_id="x")
    threads = [threading.Thread(target=c.send, args=("x",)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1


def test_publish_waits_for_the_commit_and_vanishes_on_rollback(app):
    from app.extensions import redis_store

    a = make_member()
    pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"rt:org:{a.org_id}")
    pubsub.get_message(timeout=1)
    publish(a.org_id, "org.updated")
    assert pubsub.get_message(timeout=0.2) is None  # not before the commit
    db.session.rollback()
    publish(a.org_id, "org.updated", note="kept")
    db.session.commit()
    message = pubsub.get_message(timeout=2)
    seq, event = realtime.read_event(message["data"])
    assert event["data"] == {"note": "kept"} and seq == realtime.current_seq(a.org_id)
    assert pubsub.get_message(timeout=0.2) is None  # the rolled-back one never left


def test_events_are_numbered_per_organization_in_order(app):
    a, b = make_member(), make_member()
    before = realtime.current_seq(a.org_id)
    first = realtime.publish_now(a.org_id, "org.updated")
    second = realtime.publish_now(a.org_id, "org.updated")
    assert (first, second) == (before + 1, before + 2) and realtime.current_seq(a.org_id) == second
    assert realtime.current_seq(b.org_id) == 0  # another organization counts its own


def test_a_full_page_carries_the_number_it_was_rendered_at(app, client):
    from tests.conftest import sign_in_as

    member = make_member()
    sign_in_as(client, member)
    seq = realtime.publish_now(member.org_id, "org.updated")
    page = client.get("/contacts").get_data(as_text=True)
    assert f'id="live-seq" data-seq="{seq}"' in page
    boosted = client.get("/contacts", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert f'data-seq="{seq}"' in boosted.get_data(as_text=True)


class ClosableSocket(RecordingSocket):
    def __init__(self):
        super().__init__()
        self.closed_with = None

    def close(self, reason=None, message=None):
        self.closed_with = reason


def test_a_close_order_closes_only_the_named_users_sockets_of_the_named_session(app):
    hub = Hub()
    a, b = make_member(), make_member()
    laptop, phone, other = (Connection(ws=ClosableSocket(), user_id=m.user_id, org_id=m.org_id, role=m.role,
                                       socket_id=name, session_id=sid)
                            for m, name, sid in ((a, "laptop", 1), (a, "phone", 2), (b, "other", 3)))
    for c in (laptop, phone, other):
        assert hub.admit(c)
    closed = hub.close_matching({"user_id": a.user_id, "session_id": 1, "org_id": None,
                                 "code": realtime.CLOSE_SIGNED_OUT})
    assert closed == 1 and laptop.ws.closed_with == realtime.CLOSE_SIGNED_OUT
    assert phone.ws.closed_with is None and other.ws.closed_with is None
    assert hub.close_matching({"user_id": a.user_id, "session_id": None, "org_id": b.org_id,
                               "code": realtime.CLOSE_RIGHTS_CHANGED}) == 0  # a is not in b's org
    assert hub.close_matching({"user_id": a.user_id, "session_id": None, "org_id": a.org_id,
                               "code": realtime.CLOSE_RIGHTS_CHANGED}) == 2
    assert phone.ws.closed_with == realtime.CLOSE_RIGHTS_CHANGED


def test_a_role_change_reaches_the_members_page_as_a_fragment_with_working_links(app):
    from app.blueprints.team.permissions import Role
    from tests.factories import add_member

    hub = Hub()
    owner = make_member()
    agent = add_member(owner.organization, role=Role.AGENT)
    watching = conn(owner)
    assert hub.admit(watching)
    sent = hub.dispatch(app, f"rt:org:{owner.org_id}", event("member.updated", membership_id=agent.id))
    assert sent == 1
    assert f'id="member-role-{agent.id}"' in watching.ws.sent[0]
    assert f'hx-post="/settings/members/{agent.id}/role"' in watching.ws.sent[0]
    # whoever made the change has the answer on their page: a push would replace its form mid-request
    assert hub.dispatch(app, f"rt:org:{owner.org_id}", event("member.updated", membership_id=agent.id,
                                                             actor_id=owner.user_id)) == 0


def test_each_viewer_gets_the_fragment_in_their_own_language(app):
    from flask_babel import gettext

    realtime.renderer("test.greeting")(lambda data, viewer: f'<p id="nav">{gettext("Inbox")}</p>')
    hub = Hub()
    a = make_member()
    russian = Connection(ws=RecordingSocket(), user_id=a.user_id, org_id=a.org_id, role=a.role,
                         socket_id="ru-tab", language="ru")
    english = conn(a)  # the same person's other tab, answered in English
    assert hub.admit(russian) and hub.admit(english)
    assert hub.dispatch(app, f"rt:org:{a.org_id}", event("test.greeting")) == 2
    assert "Входящие" in russian.ws.sent[0] and "Inbox" in english.ws.sent[0]
