import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.blueprints.pipeline.models import Pipeline
from app.blueprints.team import service
from app.blueprints.team.events import MemberRoleChanged, OrganizationUpdated
from app.blueprints.team.models import Membership, Organization
from app.blueprints.team.permissions import MATRIX, Permission, Role, can, require
from app.errors import DomainError, Forbidden, NotFound
from app.events import bus
from app.extensions import db
from tests.factories import add_member, make_member, make_org, make_user


@pytest.fixture
def heard():
    """The team events delivered after commits, in order."""
    got: list = []
    bus.subscribe((OrganizationUpdated, MemberRoleChanged), got.append)
    yield got
    bus.unsubscribe(got.append)


def test_every_permission_has_a_row_in_the_matrix_and_owners_hold_them_all():
    assert set(MATRIX) == set(Permission)
    assert all(can(Role.OWNER, p) for p in Permission)


@pytest.mark.parametrize("role,allowed", [(Role.OWNER, True), (Role.ADMIN, True),
                                          (Role.MANAGER, False), (Role.AGENT, False)])
def test_only_owners_and_admins_manage_members(role, allowed):
    member = make_member(role)
    if allowed:
        require(member, Permission.MEMBERS_MANAGE)
    else:
        with pytest.raises(Forbidden, match="manage members"):
            require(member, Permission.MEMBERS_MANAGE)


def test_renaming_the_organization_is_audited_with_the_change():
    owner = make_member(Role.OWNER)
    old = owner.organization.name
    service.update_organization(owner, name="Renamed", timezone="Europe/Berlin")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "org.updated"))
    assert event.detail["changes"]["name"] == [old, "Renamed"]
    assert owner.organization.timezone == "Europe/Berlin"


def test_agents_cannot_change_the_organization_even_bypassing_the_ui():
    agent = make_member(Role.AGENT)
    with pytest.raises(Forbidden):
        service.update_organization(agent, name="Mine now", timezone="UTC")


def test_unknown_timezone_is_a_field_error():
    owner = make_member(Role.OWNER)
    with pytest.raises(DomainError) as err:
        service.update_organization(owner, name="Fine", timezone="Mars/Olympus")
    assert "timezone" in err.value.fields


def test_admin_promotes_an_agent_to_manager_and_it_is_audited():
    admin = make_member(Role.ADMIN)
    agent = add_member(admin.organization, role=Role.AGENT)
    service.change_role(admin, agent.id, "manager")
    assert agent.role == "manager"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.role_changed"))
    assert (event.detail["old"], event.detail["new"]) == ("agent", "manager")


def test_only_an_owner_can_grant_ownership():
    admin = make_member(Role.ADMIN)
    agent = add_member(admin.organization)
    with pytest.raises(Forbidden):
        service.change_role(admin, agent.id, "owner")


def test_admin_cannot_demote_an_owner():
    owner = make_member(Role.OWNER)
    admin = add_member(owner.organization, role=Role.ADMIN)
    with pytest.raises(Forbidden):
        service.change_role(admin, owner.id, "agent")


def test_the_last_owner_cannot_step_down():
    owner = make_member(Role.OWNER)
    with pytest.raises(DomainError, match="at least one owner"):
        service.change_role(owner, owner.id, "admin")


def test_a_member_of_another_organization_is_not_found():
    admin = make_member(Role.ADMIN)
    stranger = make_member(Role.AGENT, org=make_org())
    with pytest.raises(NotFound):
        service.change_role(admin, stranger.id, "manager")


def test_unknown_role_is_refused():
    owner = make_member(Role.OWNER)
    agent = add_member(owner.organization)
    with pytest.raises(DomainError):
        service.change_role(owner, agent.id, "emperor")


def test_a_new_organization_gets_its_first_pipeline_in_the_same_transaction():
    user = make_user()
    membership = service.create_organization(owner=user, name="Fresh Ventures")
    assert [p.name for p in db.session.scalars(select(Pipeline).where(Pipeline.org_id == membership.org_id))] \
        == ["Sales"]  # flushed with the organization, before any commit
    db.session.rollback()
    assert db.session.scalar(select(Pipeline)) is None


def test_a_settings_change_emits_organization_updated_with_the_changes_after_the_commit(heard):
    owner = make_member(Role.OWNER)
    old = owner.organization.name
    service.update_organization(owner, name="Renamed", timezone="Europe/Berlin")
    assert heard == []  # not before the commit
    db.session.commit()
    (event,) = heard
    assert isinstance(event, OrganizationUpdated)
    assert (event.org_id, event.actor_id) == (owner.org_id, owner.user_id)
    assert event.changes == {"name": [old, "Renamed"], "timezone": ["UTC", "Europe/Berlin"]}
    assert db.session.get(Organization, owner.org_id).name == "Renamed"


def test_a_rolled_back_settings_change_emits_nothing(heard):
    owner = make_member(Role.OWNER)
    old = owner.organization.name
    service.update_organization(owner, name="Never saved", timezone="UTC")
    db.session.rollback()
    db.session.commit()
    assert heard == []
    assert db.session.get(Organization, owner.org_id).name == old


def test_saving_the_settings_unchanged_emits_nothing(heard):
    owner = make_member(Role.OWNER)
    service.update_organization(owner, name=owner.organization.name, timezone="UTC")
    db.session.commit()
    assert heard == []


def test_a_role_change_emits_member_role_changed_after_the_commit(heard):
    admin = make_member(Role.ADMIN)
    agent = add_member(admin.organization, role=Role.AGENT)
    service.change_role(admin, agent.id, "manager")
    assert heard == []
    db.session.commit()
    (event,) = heard
    assert isinstance(event, MemberRoleChanged)
    assert (event.org_id, event.actor_id, event.membership_id, event.user_id) == (
        admin.org_id, admin.user_id, agent.id, agent.user_id)
    assert (event.old_role, event.new_role) == ("agent", "manager")


def test_a_rolled_back_role_change_emits_nothing(heard):
    admin = make_member(Role.ADMIN)
    agent = add_member(admin.organization, role=Role.AGENT)
    service.change_role(admin, agent.id, "manager")
    db.session.rollback()
    db.session.commit()
    assert heard == []
    assert db.session.get(Membership, agent.id).role == "agent"


def test_members_and_people_are_listed_by_name_through_the_membership():
    owner = make_member(Role.OWNER)
    owner.user.name = "Mia"
    zed = add_member(owner.organization, user=make_user("Zed"))
    ann = add_member(owner.organization, user=make_user("Ann"))
    make_member(Role.OWNER)  # someone in another organization
    db.session.commit()
    assert [m.id for m in service.list_members(owner)] == [ann.id, owner.id, zed.id]
    assert [u.name for u in service.people(owner.org_id)] == ["Ann", "Mia", "Zed"]


# -- the default country for phone numbers -----------------------------------------------------

def test_the_default_country_is_set_cleared_and_audited():
    owner = make_member(Role.OWNER)
    service.update_organization(owner, name=owner.organization.name, timezone="UTC", default_country="ru")
    db.session.commit()
    assert db.session.get(Organization, owner.org_id).default_country == "RU"
    assert service.phone_region(owner.org_id) == "RU"
    service.update_organization(owner, name=owner.organization.name, timezone="UTC", default_country="")
    db.session.commit()
    assert service.phone_region(owner.org_id) is None
    changes = [e.detail["changes"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "org.updated").order_by(AuditEvent.id))]
    assert changes == [{"default_country": [None, "RU"]}, {"default_country": ["RU", None]}]


def test_leaving_the_default_country_out_keeps_it():
    owner = make_member(Role.OWNER)
    owner.organization.default_country = "RU"
    service.update_organization(owner, name="Renamed", timezone="UTC")
    assert owner.organization.default_country == "RU"


def test_an_unknown_default_country_is_a_field_error_and_changes_nothing():
    owner = make_member(Role.OWNER)
    for bad in ("Russia", "ZZ", "RUS"):
        with pytest.raises(DomainError) as err:
            service.update_organization(owner, name="Renamed", timezone="UTC", default_country=bad)
        assert err.value.fields == {"default_country": "Unknown country."}
    assert owner.organization.default_country is None


def test_a_new_organization_keeps_a_good_country_guess_and_drops_a_bad_one():
    assert service.create_organization(owner=make_user(), name="Moscow Co",
                                       default_country="RU").organization.default_country == "RU"
    assert service.create_organization(owner=make_user(), name="Nowhere Co",
                                       default_country="<script>").organization.default_country is None
    assert service.create_organization(owner=make_user(), name="Plain Co").organization.default_country is None


def test_every_country_in_the_list_has_a_name_and_its_calling_code():
    countries = dict(service.countries())
    assert countries["RU"] == "Russia (+7)" and countries["GB"] == "United Kingdom (+44)"
    assert countries["XK"] == "Kosovo (+383)"
    assert all(not name.startswith(code) for code, name in countries.items())
    assert list(countries.values()) == sorted(countries.values())


def test_a_country_guess_fills_only_an_organization_without_one():
    owner = make_member(Role.OWNER)
    service.adopt_country_guess(owner.organization, "gb")
    assert owner.organization.default_country == "GB"
    service.adopt_country_guess(owner.organization, "RU")  # a guess never overrides a choice
    service.adopt_country_guess(owner.organization, None)
    assert owner.organization.default_country == "GB"
    other = make_member(Role.OWNER)
    service.adopt_country_guess(other.organization, "1; DROP TABLE")
    assert other.organization.default_country is None
