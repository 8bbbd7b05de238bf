"""The campaign operations, one by one: who the audience checks leave out and in what order, launch,
changes to a sending campaign, duplicate, delete or archive, adding contacts (never twice),
stopping a sequence, choosing a winner, templates and the do-not-contact list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from app.blueprints.campaigns import audience, dispatcher, message_templates, service, suppression
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStep,
    Enrollment,
    MessageTemplate,
    StepVariant,
    Suppression,
)
from app.blueprints.messaging.models import Message
from app.blueprints.team.models import Role
from app.db_types import utcnow
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from tests.campaigns.kit import ALWAYS, manager
from tests.factories import add_member, make_account, make_chat, make_contact, make_deal

NO_GAP = {"new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0}
WEEKDAYS = {"days": [1, 2, 3, 4, 5], "start": "10:00", "end": "12:00"}


def draft(member, accounts, steps=(("Hello {{first_name}}",),), window=ALWAYS, **fields):
    found = service.create_campaign(member, {
        "name": "Spring", "account_ids": [a.id for a in accounts], "window": window,
        "steps": [{"wait_minutes": 60 * n, "variants": [{"text": t} for t in texts]}
                  for n, texts in enumerate(steps)], **fields})
    db.session.commit()
    return found


def verdict(found, contact):
    [one] = service.launch_review(found).verdicts
    assert one.contact_id == contact.id
    return one.reason, one.detail


def enrollment(found, contact) -> Enrollment:
    return db.session.scalar(select(Enrollment).where(Enrollment.campaign_id == found.id,
                                                      Enrollment.contact_id == contact.id))


def sends_of(found) -> list[CampaignSend]:
    return list(db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)))


def due_now(found):
    db.session.execute(Enrollment.__table__.update().where(Enrollment.campaign_id == found.id,
                                                          Enrollment.status == "waiting")
                       .values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def running_with_a_queued_step(member, contacts, steps=(("Hello",), ("Again",))):
    account = make_account(member.organization, config=NO_GAP)
    found = draft(member, [account], steps=steps)
    service.add_contacts(member, found, contact_ids=[c.id for c in contacts])
    service.launch(member, found)
    db.session.commit()
    due_now(found)
    dispatcher.dispatch_due(utcnow())
    db.session.commit()
    return found, account


# -- the audience checks ---------------------------------------------------------------------------


def test_each_skip_reason_applies_in_its_order_until_the_contact_is_writable():
    member = manager()
    pool, outside = make_account(member.organization), make_account(member.organization)
    contact = make_contact(member, first_name="Vera")
    found = draft(member, [pool], steps=(("Hi {{first_name}}, how is the {{title}} job?",),))
    service.add_contacts(member, found, contact_ids=[contact.id])
    db.session.commit()

    contact.deleted_at = utcnow()
    db.session.commit()
    assert verdict(found, contact) == ("deleted", None)

    contact.deleted_at = None
    db.session.commit()
    assert verdict(found, contact) == ("no_identity", None)

    contact.telegram_username = "vera_w"
    suppression.add_contact(member, contact.id)
    db.session.commit()
    assert verdict(found, contact) == ("suppressed", None)

    suppression.remove_contact(member, contact)
    other = draft(member, [pool], steps=(("Other",),))
    service.add_contacts(member, other, contact_ids=[contact.id])
    service.launch(member, other)
    db.session.commit()
    assert verdict(found, contact) == ("other_campaign", str(other.id))

    theirs = enrollment(other, contact)
    db.session.add(CampaignSend(org_id=member.org_id, campaign_id=other.id, enrollment_id=theirs.id,
                                step_id=other.steps[0].id, position=0, contact_id=contact.id,
                                account_id=pool.id, status="sent"))
    service.stop_enrollment(member, theirs)
    db.session.commit()
    assert verdict(found, contact) == ("frequency_cap", None)

    db.session.execute(CampaignSend.__table__.update().values(created_at=utcnow() - timedelta(days=31)))
    chat = make_chat(outside, contact_id=contact.id)
    assert verdict(found, contact) == ("talks_elsewhere", str(outside.id))

    chat.account_id = pool.id
    db.session.commit()
    assert verdict(found, contact) == ("missing_variable", "title")

    contact.title = "CTO"
    db.session.commit()
    one = service.launch_review(found).verdicts[0]
    assert (one.reason, one.account_id) == (None, pool.id)


def test_a_fallback_fills_a_blank_variable_so_nobody_is_skipped_for_it():
    member = manager()
    account = make_account(member.organization)
    contact = make_contact(member, telegram_username="no_title")
    found = draft(member, [account], steps=(("Hi, {{title|colleague}}",),))
    service.add_contacts(member, found, contact_ids=[contact.id])
    assert verdict(found, contact) == (None, None)


# -- launch ----------------------------------------------------------------------------------------


def test_launch_starts_the_writable_within_the_launch_spread_and_skips_the_rest_with_the_reason():
    """Their first step falls due within a minute of the launch (the dispatcher moves each into
    their window when it first looks at it); the rest are skipped with the reason."""
    member = manager()
    account = make_account(member.organization)
    writable = [make_contact(member, telegram_username=f"lead_{n}") for n in range(3)]
    nobody = make_contact(member)
    found = draft(member, [account], window=WEEKDAYS)
    service.add_contacts(member, found, contact_ids=[c.id for c in [*writable, nobody]])
    db.session.commit()

    review = service.launch(member, found)
    db.session.commit()

    assert (len(review.writable), review.counts()) == (3, {"no_identity": 1})
    db.session.refresh(found)
    assert (found.status, found.launched_at is not None) == ("running", True)
    latest = found.launched_at + timedelta(seconds=service.LAUNCH_SPREAD)
    for contact in writable:
        row = enrollment(found, contact)
        assert (row.status, row.started_at is not None) == ("waiting", True)
        assert found.launched_at <= row.due_at <= latest, row.due_at
    skipped = enrollment(found, nobody)
    assert (skipped.status, skipped.reason, skipped.due_at) == ("skipped", "no_identity", None)


def test_a_launch_for_later_is_scheduled_and_nobody_is_due_before_it():
    member = manager()
    account = make_account(member.organization)
    contact = make_contact(member, telegram_username="later_1")
    found = draft(member, [account])
    service.add_contacts(member, found, contact_ids=[contact.id])
    starts = utcnow() + timedelta(days=2)

    service.launch(member, found, starts_at=starts)
    db.session.commit()

    db.session.refresh(found)
    assert (found.status, found.starts_at) == ("scheduled", starts)
    assert enrollment(found, contact).due_at >= starts


def test_a_launch_with_nobody_to_write_to_finishes_at_once():
    member = manager()
    account = make_account(member.organization)
    found = draft(member, [account])
    service.add_contacts(member, found, contact_ids=[make_contact(member).id])  # no identity

    service.launch(member, found)
    db.session.commit()

    db.session.refresh(found)
    assert (found.status, found.finished_at is not None) == ("finished", True)


def test_only_a_draft_with_steps_and_accounts_launches():
    member = manager()
    account = make_account(member.organization)
    bare = service.create_campaign(member, {"name": "Bare"})
    with pytest.raises(DomainError) as no_steps:
        service.launch(member, bare)
    assert list(no_steps.value.fields) == ["steps"]
    service.update_campaign(member, bare, {"steps": [{"variants": [{"text": "Hi"}]}]})
    with pytest.raises(DomainError) as no_accounts:
        service.launch(member, bare)
    assert list(no_accounts.value.fields) == ["account_ids"]
    found = draft(member, [account])
    service.launch(member, found)
    db.session.commit()
    with pytest.raises(Conflict):
        service.launch(member, found)
    db.session.rollback()
    assert db.session.get(Campaign, bare.id).status == "draft"


def test_an_agent_cannot_build_or_launch():
    member = manager()
    agent = add_member(member.organization, role=Role.AGENT)
    found = draft(member, [make_account(member.organization)])
    with pytest.raises(Forbidden):
        service.create_campaign(agent, {"name": "Mine"})
    with pytest.raises(Forbidden):
        service.launch(agent, found)
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "draft"
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_a_body_error_names_the_field_it_is_in():
    member = manager()
    cases = [
        ({"name": "  "}, "name"),
        ({"name": "X", "steps": [{"variants": [{"text": "Hi"}, {"text": "  "}]}]}, "steps.0.variants.1.text"),
        ({"name": "X", "steps": [{"variants": [{"text": "Hi {{nope}}"}]}]}, "steps.0.variants.0.text"),
        ({"name": "X", "steps": [{"variants": [{"text": "Hi", "weight": 0}]}]}, "steps.0.variants"),
        ({"name": "X", "window": {"days": [1], "start": "12:00", "end": "09:00"}}, "window.end"),
        ({"name": "X", "account_ids": [make_account(manager().organization).id]}, "account_ids"),
    ]
    for body, field in cases:
        with pytest.raises(DomainError) as refused:
            service.create_campaign(member, body)
        db.session.rollback()
        assert field in refused.value.fields, (body, refused.value.fields)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


# -- changing a sending campaign -------------------------------------------------------------------


def test_changing_a_running_campaign_s_steps_needs_confirmation_and_keeps_step_ids_by_position():
    member = manager()
    contact = make_contact(member, telegram_username="sent_one")
    found, _account = running_with_a_queued_step(member, [contact], steps=(("One",), ("Two",), ("Three",)))
    first, second, third = (s.id for s in found.steps)
    assert [s.step_id for s in sends_of(found)] == [first]

    with pytest.raises(service.ConfirmationNeeded):
        service.update_campaign(member, found, {"steps": [{"variants": [{"text": "New one"}]}]})
    db.session.rollback()
    assert [v.text for s in audience.live_steps(db.session.get(Campaign, found.id)) for v in s.variants] == [
        "One", "Two", "Three"]
    service.update_campaign(member, found, {"name": "Renamed"})  # not the sequence: no confirmation

    service.update_campaign(member, found, {"steps": [{"variants": [{"text": "New two"}]}]}, confirmed=True)
    db.session.commit()

    db.session.expire_all()
    kept = db.session.get(CampaignStep, first)
    assert (kept.removed_at, kept.variants[0].text) == (None, "New two")
    assert db.session.get(CampaignStep, second) is None and db.session.get(CampaignStep, third) is None
    assert [s.id for s in audience.live_steps(db.session.get(Campaign, found.id))] == [first]
    assert db.session.get(Campaign, found.id).name == "Renamed"


def test_a_step_shortened_below_a_sent_step_keeps_that_step_as_removed():
    member = manager()
    contact = make_contact(member, telegram_username="sent_step2")
    found, account = running_with_a_queued_step(member, [contact], steps=(("One",), ("Two",)))
    first, second = (s.id for s in found.steps)
    row = enrollment(found, contact)
    db.session.add(CampaignSend(org_id=member.org_id, campaign_id=found.id, enrollment_id=row.id,
                                step_id=second, position=1, contact_id=contact.id, account_id=account.id,
                                status="sent"))
    db.session.commit()

    service.update_campaign(member, found, {"steps": [{"variants": [{"text": "One"}]}]}, confirmed=True)
    db.session.commit()

    db.session.expire_all()
    removed = db.session.get(CampaignStep, second)
    assert removed is not None and removed.removed_at is not None
    assert [s.id for s in audience.live_steps(db.session.get(Campaign, found.id))] == [first]


def test_a_finished_or_archived_campaign_cannot_change():
    member = manager()
    found = draft(member, [make_account(member.organization)])
    service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="arch1").id])
    service.launch(member, found)
    service.delete_campaign(member, found)
    db.session.commit()
    with pytest.raises(Conflict):
        service.update_campaign(member, found, {"name": "Again"})
    db.session.rollback()
    assert db.session.get(Campaign, found.id).name == "Spring"


# -- duplicate, delete, archive --------------------------------------------------------------------


def test_duplicate_copies_steps_accounts_window_and_rules_but_not_the_audience():
    member = manager()
    account = make_account(member.organization)
    found = draft(member, [account], steps=(("A", "B"), ("Later",)), window=WEEKDAYS, stop_scope="all",
                  auto_winner=True, min_sample=50)
    service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="dup1").id])
    db.session.commit()

    copy = service.duplicate_campaign(member, found)
    db.session.commit()

    assert (copy.id != found.id, copy.status, copy.name) == (True, "draft", "Spring (copy)")
    assert copy.account_ids == [account.id] and copy.window == found.window
    assert (copy.stop_scope, copy.auto_winner, copy.min_sample) == ("all", True, 50)
    assert [[v.text for v in s.variants] for s in copy.steps] == [["A", "B"], ["Later"]]
    assert {s.id for s in copy.steps}.isdisjoint({s.id for s in found.steps})
    assert db.session.scalar(select(func.count()).where(Enrollment.campaign_id == copy.id)) == 0


def test_deleting_a_draft_removes_it_with_its_steps_and_audience():
    member = manager()
    found = draft(member, [make_account(member.organization)])
    service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="gone1").id])
    db.session.commit()

    assert service.delete_campaign(member, found) == "deleted"
    db.session.commit()

    assert db.session.get(Campaign, found.id) is None
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
    assert db.session.scalar(select(func.count()).select_from(CampaignStep)) == 0


def test_archiving_a_running_campaign_stops_live_sequences_and_withdraws_queued_steps():
    member = manager()
    contacts = [make_contact(member, telegram_username=f"arch_{n}") for n in range(2)]
    found, _account = running_with_a_queued_step(member, contacts)
    assert {s.status for s in sends_of(found)} == {"queued"}

    assert service.delete_campaign(member, found) == "archived"
    db.session.commit()

    db.session.expire_all()
    assert db.session.get(Campaign, found.id).status == "archived"
    for contact in contacts:
        row = enrollment(found, contact)
        assert (row.status, row.reason) == ("stopped", "campaign_archived")
    assert {m.status for m in db.session.scalars(select(Message))} == {"cancelled"}


# -- adding contacts -------------------------------------------------------------------------------


def test_contacts_added_by_ids_filter_or_stage_never_enroll_twice():
    member = manager()
    found = draft(member, [make_account(member.organization)])
    tagged = [make_contact(member, telegram_username=f"tag_{n}", tags=["vip"]) for n in range(2)]
    deal = make_deal(member)
    deal.contact_id = tagged[0].id
    db.session.commit()
    stage_id = deal.stage_id

    assert service.add_contacts(member, found, contact_ids=[tagged[0].id, tagged[0].id]) == {
        "added": 1, "already": 0, "skipped": {}}
    assert service.add_contacts(member, found, filters={"tag": "vip"}) == {"added": 1, "already": 1,
                                                                           "skipped": {}}
    assert service.add_contacts(member, found, stage_id=stage_id) == {"added": 0, "already": 1, "skipped": {}}
    db.session.commit()
    assert sorted(db.session.scalars(select(Enrollment.contact_id).where(Enrollment.campaign_id == found.id))) \
        == sorted(c.id for c in tagged)


def test_two_concurrent_adds_of_the_same_contact_enroll_them_once(monkeypatch):
    """The other add inserts its row after this one looked for existing ones: the unique key
    decides, and this add counts them as already there."""
    member = manager()
    found = draft(member, [make_account(member.organization)])
    contact = make_contact(member, telegram_username="raced")
    real_now = audience.utcnow

    def the_other_add_lands_first():
        monkeypatch.setattr(audience, "utcnow", real_now)
        db.session.execute(insert(Enrollment).values(org_id=member.org_id, campaign_id=found.id,
                                                     contact_id=contact.id, status="pending", step_index=0,
                                                     enrolled_at=real_now()))
        return real_now()

    monkeypatch.setattr(audience, "utcnow", the_other_add_lands_first)
    assert service.add_contacts(member, found, contact_ids=[contact.id]) == {"added": 0, "already": 1,
                                                                             "skipped": {}}
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Enrollment.campaign_id == found.id)) == 1


def test_contacts_added_to_a_running_campaign_are_checked_and_started_at_once():
    member = manager()
    found = draft(member, [make_account(member.organization)])
    service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="first1").id])
    service.launch(member, found)
    late, nobody = make_contact(member, telegram_username="late1"), make_contact(member)

    result = service.add_contacts(member, found, contact_ids=[late.id, nobody.id])
    db.session.commit()

    assert result == {"added": 2, "already": 0, "skipped": {"no_identity": 1}}
    assert enrollment(found, late).status == "waiting" and enrollment(found, nobody).status == "skipped"


def test_nobody_joins_an_ended_campaign():
    member = manager()
    found = draft(member, [make_account(member.organization)])
    service.delete_campaign(member, service.duplicate_campaign(member, found))
    service.launch(member, found)  # nobody: finished at once
    db.session.commit()
    with pytest.raises(Conflict):
        service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="too_late").id])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


# -- stopping a sequence ---------------------------------------------------------------------------


def test_a_manager_or_the_contact_s_owner_stops_a_sequence_and_nobody_stops_it_twice():
    boss = manager()
    owner = add_member(boss.organization, role=Role.AGENT)
    stranger = add_member(boss.organization, role=Role.AGENT)
    mine = make_contact(owner, telegram_username="owned_by_agent")
    theirs = make_contact(boss, telegram_username="owned_by_boss")
    found = draft(boss, [make_account(boss.organization)])
    service.add_contacts(boss, found, contact_ids=[mine.id, theirs.id])
    service.launch(boss, found)
    db.session.commit()

    with pytest.raises(Forbidden):
        service.stop_enrollment(stranger, enrollment(found, mine))
    db.session.rollback()
    assert enrollment(found, mine).status == "waiting"

    service.stop_enrollment(owner, enrollment(found, mine))
    service.stop_enrollment(boss, enrollment(found, theirs))
    db.session.commit()
    stopped = enrollment(found, mine)
    assert (stopped.status, stopped.reason, stopped.stopped_by_id) == ("stopped", "teammate", owner.user_id)
    with pytest.raises(Conflict):
        service.stop_enrollment(boss, stopped)
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "finished"  # nobody left in it


# -- the winner ------------------------------------------------------------------------------------


def test_the_owner_chooses_a_step_s_winner_and_can_go_back_to_the_split():
    member = manager()
    found = draft(member, [make_account(member.organization)], steps=(("A", "B"), ("Later",)))
    step, later = found.steps
    b = step.variants[1]

    service.choose_winner(member, found, step.id, b.id)
    db.session.commit()
    db.session.refresh(step)
    assert (step.winner_variant_id, step.winner_chosen_by) == (b.id, "owner")

    with pytest.raises(DomainError) as other_step:
        service.choose_winner(member, found, step.id, later.variants[0].id)
    assert list(other_step.value.fields) == ["variant_id"]
    with pytest.raises(NotFound):
        service.choose_winner(member, found, 10**6, None)
    db.session.rollback()

    service.choose_winner(member, found, step.id, None)
    db.session.commit()
    db.session.refresh(step)
    assert (step.winner_variant_id, step.winner_chosen_by) == (None, None)


def test_a_variant_weighted_zero_cannot_win():
    member = manager()
    found = service.create_campaign(member, {"name": "W", "steps": [
        {"variants": [{"text": "A"}, {"text": "B", "weight": 0}]}]})
    db.session.commit()
    step = found.steps[0]
    with pytest.raises(DomainError):
        service.choose_winner(member, found, step.id, step.variants[1].id)
    db.session.rollback()
    assert db.session.get(CampaignStep, step.id).winner_variant_id is None
    assert db.session.scalar(select(func.count()).select_from(StepVariant)) == 2


# -- templates -------------------------------------------------------------------------------------


def test_any_member_keeps_a_template_and_names_are_unique_whatever_their_case():
    member = manager()
    agent = add_member(member.organization, role=Role.AGENT)
    kept = message_templates.create_template(agent, "  Intro  note ", "Hi {{first_name|there}}")
    db.session.commit()
    assert (kept.name, kept.text, kept.created_by_id) == ("Intro note", "Hi {{first_name|there}}", agent.user_id)

    for name, text, field in [("intro NOTE", "x", "name"), ("Other", "Hi {{nope}}", "text"), ("", "x", "name"),
                              ("Other", "   ", "text")]:
        with pytest.raises(DomainError) as refused:
            message_templates.create_template(member, name, text)
        db.session.rollback()
        assert list(refused.value.fields) == [field]
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 1


def test_a_name_taken_meanwhile_is_the_same_refusal_as_one_taken_before(monkeypatch):
    member = manager()
    message_templates.create_template(member, "Intro", "Hello")
    db.session.commit()
    monkeypatch.setattr(message_templates, "_clean", lambda org_id, name, text, exclude=None: (name, text))

    with pytest.raises(DomainError) as refused:
        message_templates.create_template(member, "Intro", "Again")
    assert list(refused.value.fields) == ["name"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 1


def test_only_its_author_or_a_manager_changes_or_deletes_a_template():
    member = manager()
    author = add_member(member.organization, role=Role.AGENT)
    other = add_member(member.organization, role=Role.AGENT)
    kept = message_templates.create_template(author, "Intro", "Hello")
    db.session.commit()

    with pytest.raises(Forbidden):
        message_templates.update_template(other, kept.id, {"text": "Mine now"})
    with pytest.raises(Forbidden):
        message_templates.delete_template(other, kept.id)
    db.session.rollback()
    message_templates.update_template(author, kept.id, {"text": "Hello again"})
    message_templates.update_template(member, kept.id, {"name": "Opening"})
    db.session.commit()
    db.session.refresh(kept)
    assert (kept.name, kept.text) == ("Opening", "Hello again")
    message_templates.delete_template(member, kept.id)
    db.session.commit()
    assert db.session.get(MessageTemplate, kept.id) is None
    with pytest.raises(NotFound):
        message_templates.get_template(member.org_id, kept.id)


# -- the do-not-contact list -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "raw", "stored"), [
    ("username", "@Nina_K", "nina_k"),
    ("username", "https://t.me/Nina_K", "nina_k"),
    ("phone", "+44 20 7946 0000", "+442079460000"),
    ("user_id", "12345678", "12345678"),
])
def test_identities_are_listed_canonically_and_once(kind, raw, stored):
    member = manager()
    entry = suppression.add_identity(member, kind, raw)
    again = suppression.add_identity(member, kind, raw)
    db.session.commit()
    assert (entry.kind, entry.value, again.id) == (kind, stored, entry.id)
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 1


def test_a_value_that_is_no_identity_is_refused_naming_the_value():
    member = manager()
    with pytest.raises(DomainError) as refused:
        suppression.add_identity(member, "phone", "call me")
    assert list(refused.value.fields) == ["value"]
    with pytest.raises(Forbidden):
        suppression.add_identity(add_member(member.organization, role=Role.AGENT), "username", "nina_k")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_a_listed_identity_suppresses_every_contact_that_has_it_and_removing_it_frees_them():
    member = manager()
    contact = make_contact(member, telegram_username="Listed_Person", phone="+442079460001")
    entry = suppression.add_identity(member, "username", "@listed_person")
    db.session.commit()
    assert suppression.is_suppressed(member.org_id, contact)

    listed = suppression.add_contact(member, contact.id)
    db.session.commit()
    assert {(e.kind, e.value) for e in listed} == {("contact", str(contact.id)), ("username", "listed_person"),
                                                   ("phone", "+442079460001")}
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 3  # the username once

    suppression.remove_contact(member, contact)
    db.session.commit()
    assert not suppression.is_suppressed(member.org_id, contact)
    assert db.session.get(Suppression, entry.id) is None


def test_a_phone_without_its_country_code_is_read_in_the_organization_s_country():
    member = manager()
    member.organization.default_country = "RU"
    db.session.commit()
    contact = make_contact(member, phone="8 916 111-22-33")
    entry = suppression.add_identity(member, "phone", "8 (916) 111 22 33")
    db.session.commit()
    assert (entry.value, contact.phone) == ("+79161112233", "+79161112233")
    assert suppression.is_suppressed(member.org_id, contact)
