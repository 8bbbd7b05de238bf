"""The team's realtime: committed changes ring the organization's doorbell from team.live's
subscribers, with the kinds and data the pages' renderers read; nothing rings for a change that
was refused or rolled back."""

import pytest

from app import realtime
from app.blueprints.team import service
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.realtime import Connection, Hub
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_member


@pytest.fixture
def doorbell():
    """``listen(org_id)`` subscribes to the organization's channel; it returns ``rung()``, the
    raw messages published on it since (waiting briefly for each)."""
    pubsubs = []

    def listen(org_id: int):
        pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(f"{realtime.CHANNEL_PREFIX}{org_id}")
        pubsub.get_message(timeout=1)  # the subscription's confirmation
        pubsubs.append(pubsub)

        def rung() -> list[bytes]:
            raws = []
            while (message := pubsub.get_message(timeout=0.3)) is not None:
                raws.append(message["data"])
            return raws

        return rung

    yield listen
    for pubsub in pubsubs:
        pubsub.close()


def events(raws: list[bytes]) -> list[dict]:
    return [realtime.read_event(raw)[1] for raw in raws]


def socket(member) -> Connection:
    class Recording:
        def __init__(self):
            self.sent = []

        def send(self, text):
            self.sent.append(text)

    return Connection(ws=Recording(), user_id=member.user_id, org_id=member.org_id, role=member.role,
                      socket_id=f"socket-{member.id}")


def rename(client, name: str):
    token = csrf_token(client, "/settings/organization")
    return client.post("/settings/organization", data={"csrf_token": token, "name": name, "timezone": "UTC"})


def test_renaming_the_organization_rings_org_updated_once_it_committed(app, owner_client, owner, doorbell):
    rung = doorbell(owner.org_id)
    assert rename(owner_client, "Renamed Live Co").status_code == 302
    raws = rung()
    assert events(raws) == [{"kind": "org.updated", "data": {}, "user_ids": None}]
    assert realtime.read_event(raws[0])[0] == realtime.current_seq(owner.org_id) == 1
    hub, watcher = Hub(), socket(add_member(owner.organization, role=Role.AGENT))
    assert hub.admit(watcher)
    assert hub.dispatch(app, f"{realtime.CHANNEL_PREFIX}{owner.org_id}", raws[0]) == 1
    assert watcher.ws.sent == ['<!--seq:1--><span hx-swap-oob="true" id="org-name" class="org-name">'
                               'Renamed Live Co</span>']


def test_a_refused_or_unchanged_save_of_the_settings_rings_nothing(client, owner_client, owner, doorbell):
    rung = doorbell(owner.org_id)
    assert rename(owner_client, "  ").status_code == 422
    assert rename(owner_client, owner.organization.name).status_code == 302  # nothing changed
    agent = add_member(owner.organization, role=Role.AGENT)
    sign_in_as(client, agent)
    assert rename(client, "Hijacked").status_code == 403
    assert rung() == []
    assert realtime.current_seq(owner.org_id) == 0


def test_a_rolled_back_rename_rings_nothing(owner, doorbell):
    rung = doorbell(owner.org_id)
    service.update_organization(owner, name="Never saved", timezone="UTC")
    db.session.rollback()
    db.session.commit()
    assert rung() == []


def test_a_role_change_rings_member_updated_and_the_fragment_skips_the_actor(app, owner_client, owner,
                                                                              doorbell):
    agent = add_member(owner.organization, role=Role.AGENT)
    admin = add_member(owner.organization, role=Role.ADMIN)
    rung = doorbell(owner.org_id)
    token = csrf_token(owner_client, "/settings/members")
    response = owner_client.post(f"/settings/members/{agent.id}/role", data={"role": "manager"},
                                 headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    raws = rung()
    assert events(raws) == [{"kind": "member.updated", "user_ids": None,
                             "data": {"membership_id": agent.id, "actor_id": owner.user_id}}]
    hub, actor, watcher = Hub(), socket(owner), socket(admin)
    assert hub.admit(actor) and hub.admit(watcher)
    assert hub.dispatch(app, f"{realtime.CHANNEL_PREFIX}{owner.org_id}", raws[0]) == 1
    assert actor.ws.sent == []  # their page has the answer
    (fragment,) = watcher.ws.sent
    assert f'id="member-role-{agent.id}"' in fragment and 'value="manager" selected' in fragment


def test_a_refused_role_change_rings_nothing(client, doorbell):
    admin = make_member(Role.ADMIN)
    owner = add_member(admin.organization, role=Role.OWNER)
    sign_in_as(client, admin)
    rung = doorbell(admin.org_id)
    token = csrf_token(client, "/settings/members")
    response = client.post(f"/settings/members/{owner.id}/role", data={"role": "agent"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 403
    assert rung() == []
    assert owner.role == "owner"
