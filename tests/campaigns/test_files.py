"""A step's file: kept for the organization, named by the step, moved with its text in the editor,
refused when it is another organization's, held to the caption limit, shared by a duplicate, sent
with the step by the dispatcher (or the step stopped when its text grows past the limit), deleted a
day after no step names it, and carried over from the step's own columns by the migration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import MultiDict

from app.blueprints.campaigns import forms, housekeeping, service
from app.blueprints.campaigns.models import Campaign, CampaignFile, CampaignSend, CampaignStep, Enrollment
from app.blueprints.messaging.models import Message, MessageFile
from app.blueprints.messaging.public import MAX_ATTACHMENT_BYTES, MAX_CAPTION, Attachment
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from tests.campaigns.kit import ALWAYS, campaign, dispatch, launch, manager
from tests.campaigns.test_crash_trials import ROOMY
from tests.factories import make_account, make_contact

SOON = timedelta(minutes=16)  # past a step's jitter inside an always-open window
DECK = Attachment("deck.pdf", "application/pdf", b"%PDF-1.4 the deck")


def kept(member, attachment=DECK) -> CampaignFile:
    found = service.store_file(member, attachment)
    db.session.commit()
    return found


def steps_of(found) -> list[CampaignStep]:
    db.session.expire_all()
    return [s for s in db.session.get(Campaign, found.id).steps if s.removed_at is None]


def files_of(found) -> list[tuple[str, int | None]]:
    return [(s.variants[0].text, s.file_id) for s in steps_of(found)]


def count_files() -> int:
    return db.session.scalar(select(func.count()).select_from(CampaignFile))


# -- keeping a file ----------------------------------------------------------------------------


def test_a_file_is_kept_for_the_organization_with_a_safe_name_and_type():
    member = manager()
    found = kept(member, Attachment("C:\\slides\\../deck\x00 v2.pdf", "Application/PDF", b"%PDF"))
    db.session.expire_all()
    row = db.session.get(CampaignFile, found.id)
    assert (row.org_id, row.file_name, row.mime_type, row.size, row.data, row.created_by_id) == (
        member.org_id, "deck v2.pdf", "application/pdf", 4, b"%PDF", member.user_id)
    odd = kept(member, Attachment("notes", "not a type", b"x"))
    assert db.session.get(CampaignFile, odd.id).mime_type == "application/octet-stream"


@pytest.mark.parametrize("data, message", [
    (b"", "That file is empty."),
    (b"x" * (MAX_ATTACHMENT_BYTES + 1), "Files can be at most 10 MB."),
])
def test_an_empty_or_too_large_file_is_refused_and_nothing_is_kept(data, message):
    member = manager()
    with pytest.raises(DomainError) as refused:
        service.store_file(member, Attachment("big.bin", "application/octet-stream", data))
    assert refused.value.fields == {"file": message}
    db.session.rollback()
    assert count_files() == 0


# -- steps name their file ---------------------------------------------------------------------


def test_moving_a_step_in_the_editor_takes_its_file_along():
    member = manager()
    account = make_account(member.organization)
    deck = kept(member)
    found = campaign(member, [account], [(0, ["First"]), (60, ["Second"])])
    service.update_campaign(member, found, {"steps": [
        {"wait_minutes": 0, "variants": [{"text": "First"}], "file_id": None},
        {"wait_minutes": 60, "variants": [{"text": "Second"}], "file_id": deck.id}]})
    db.session.commit()
    state = forms.from_campaign(found, steps_of(found))
    assert [s.file_id for s in state.steps] == [None, deck.id]

    # the page sends the form; the second step goes up: its file goes with its text
    form = MultiDict({"name": "Outreach", "min_sample": "100", "start": "00:00", "end": "24:00"})
    form.setlist("days", [str(d) for d in ALWAYS["days"]])
    for n, step in enumerate(state.steps):
        form.update({f"steps-{n}-wait_amount": step.wait_amount, f"steps-{n}-wait_unit": step.wait_unit,
                     f"steps-{n}-variants-0-text": step.variants[0].text, f"steps-{n}-variants-0-weight": "1"})
        if step.file_id:
            form[f"steps-{n}-file_id"] = str(step.file_id)
    moved = forms.apply_op(forms.from_form(form), "up:1")
    service.update_campaign(member, found, forms.body(moved))
    db.session.commit()
    assert files_of(found) == [("Second", deck.id), ("First", None)]

    gone = forms.apply_op(moved, "remove_file:0")
    service.update_campaign(member, found, forms.body(gone))
    db.session.commit()
    assert files_of(found) == [("Second", None), ("First", None)]


def test_another_organization_s_file_is_refused_naming_the_step_and_the_row_stays():
    member, stranger = manager(), manager()
    account = make_account(member.organization)
    mine, theirs = kept(member), kept(stranger)
    found = campaign(member, [account], [(0, ["First"]), (60, ["Second"])])
    service.update_campaign(member, found, {"steps": [
        {"variants": [{"text": "First"}], "file_id": mine.id}, {"variants": [{"text": "Second"}]}]})
    db.session.commit()

    for file_id in (theirs.id, theirs.id + 1000):  # theirs, and one that is nobody's
        with pytest.raises(DomainError) as refused:
            service.update_campaign(member, found, {"steps": [
                {"variants": [{"text": "Changed"}], "file_id": mine.id},
                {"variants": [{"text": "Second"}], "file_id": file_id}]})
        assert set(refused.value.fields) == {"steps.1.file_id"}
        db.session.rollback()
        assert files_of(found) == [("First", mine.id), ("Second", None)]


def test_with_a_file_every_variant_must_fit_a_caption():
    member = manager()
    account = make_account(member.organization)
    deck = kept(member)
    long = "x" * (MAX_CAPTION + 1)
    found = campaign(member, [account], [(0, ["Short"])])

    with pytest.raises(DomainError) as refused:
        service.update_campaign(member, found, {"steps": [
            {"variants": [{"text": "Fine"}, {"text": long}], "file_id": deck.id}]})
    assert refused.value.fields == {
        "steps.0.variants.1.text": "With a file, the message is its caption: at most 1,024 characters."}
    db.session.rollback()
    assert files_of(found) == [("Short", None)]

    service.update_campaign(member, found, {"steps": [{"variants": [{"text": long}], "file_id": None}]})
    db.session.commit()
    assert files_of(found) == [(long, None)]  # without a file it is a message, up to 4,096


def test_a_step_without_the_file_key_keeps_the_file_at_its_place():
    member = manager()
    account = make_account(member.organization)
    deck = kept(member)
    found = service.create_campaign(member, {"name": "Files", "account_ids": [account.id], "window": ALWAYS,
                                             "steps": [{"variants": [{"text": "One"}], "file_id": deck.id}]})
    db.session.commit()
    service.update_campaign(member, found, {"steps": [{"variants": [{"text": "One, again"}]},
                                                      {"variants": [{"text": "Two"}]}]})
    db.session.commit()
    assert files_of(found) == [("One, again", deck.id), ("Two", None)]

    with pytest.raises(DomainError) as refused:  # the kept file makes the text a caption
        service.update_campaign(member, found, {"steps": [{"variants": [{"text": "y" * 2000}]}]})
    assert set(refused.value.fields) == {"steps.0.variants.0.text"}


def test_a_duplicate_s_steps_share_the_original_s_files():
    member = manager()
    account = make_account(member.organization)
    deck = kept(member)
    found = campaign(member, [account], [(0, ["One"]), (60, ["Two"])])
    service.update_campaign(member, found, {"steps": [{"variants": [{"text": "One"}], "file_id": deck.id},
                                                      {"variants": [{"text": "Two"}], "file_id": None}]})
    db.session.commit()
    copy = service.duplicate_campaign(member, found)
    db.session.commit()
    assert files_of(copy) == [("One", deck.id), ("Two", None)]
    assert count_files() == 1


# -- the dispatcher sends it -------------------------------------------------------------------


def test_the_dispatcher_queues_the_step_with_its_file_and_the_rendered_caption():
    member = manager()
    accounts = [make_account(member.organization, config=ROOMY) for _ in range(2)]  # a first message each
    deck = kept(member)
    contacts = [make_contact(member, first_name=f"Anna{n}", telegram_username=f"anna_files{n}") for n in range(2)]
    found = campaign(member, accounts, [(0, ["Hi {{first_name}}, the deck"])])
    service.update_campaign(member, found, {"steps": [
        {"variants": [{"text": "Hi {{first_name}}, the deck"}], "file_id": deck.id}]})
    db.session.commit()
    launch(member, found, contacts)

    assert dispatch(utcnow() + SOON) == 2

    sends = db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)).all()
    assert len(sends) == 2
    for send in sends:
        message = db.session.get(Message, send.message_id)
        stored = db.session.get(MessageFile, message.id)
        assert message.text.startswith("Hi Anna") and message.text.endswith(", the deck")
        assert message.media == {"kind": "document", "mime_type": "application/pdf",
                                 "size": len(DECK.data), "file_name": "deck.pdf"}
        assert (stored.data, stored.file_name) == (DECK.data, "deck.pdf")


def test_a_caption_its_values_make_too_long_stops_the_sequence_instead_of_sending():
    member = manager()
    accounts = [make_account(member.organization, config=ROOMY) for _ in range(2)]
    deck = kept(member)
    short = make_contact(member, first_name="Al", telegram_username="al_files")
    lengthy = make_contact(member, first_name="Bartholomew-Maximilian", telegram_username="bart_files")
    body = "y" * (MAX_CAPTION - len("{{first_name}}") - 6) + " {{first_name}}"  # fits with a short name
    found = campaign(member, accounts, [(0, [body])])
    service.update_campaign(member, found, {"steps": [{"variants": [{"text": body}], "file_id": deck.id}]})
    db.session.commit()
    launch(member, found, [short, lengthy])

    dispatch(utcnow() + SOON)

    def ended(contact):
        row = db.session.scalar(select(Enrollment).where(Enrollment.contact_id == contact.id))
        return row.status, row.reason

    assert ended(short) == ("sending", None)
    assert ended(lengthy) == ("stopped", "too_long")
    assert [s.contact_id for s in db.session.scalars(select(CampaignSend))] == [short.id]


# -- housekeeping ------------------------------------------------------------------------------


def test_files_no_step_names_go_a_day_after_they_came():
    member = manager()
    account = make_account(member.organization)
    named, stale, fresh = kept(member), kept(member), kept(member)
    found = campaign(member, [account], [(0, ["One"])])
    service.update_campaign(member, found, {"steps": [{"variants": [{"text": "One"}], "file_id": named.id}]})
    for row in (named, stale):
        row.created_at = utcnow() - timedelta(days=2)
    db.session.commit()

    housekeeping.keep_house(utcnow())
    db.session.commit()

    assert set(db.session.scalars(select(CampaignFile.id))) == {named.id, fresh.id}
    db.session.delete(db.session.get(Campaign, found.id))  # its steps go, and the file is unused
    db.session.commit()
    assert housekeeping.purge_unused_files(utcnow()) == 1
    db.session.commit()
    assert set(db.session.scalars(select(CampaignFile.id))) == {fresh.id}


# -- the migration -----------------------------------------------------------------------------


def test_a_file_held_in_a_step_s_own_columns_is_carried_over_and_back(app):
    """The migration moves a step's attachment columns into a campaign_file row, and back."""
    from flask_migrate import downgrade, upgrade

    member = manager()
    account = make_account(member.organization)
    found = campaign(member, [account], [(0, ["One", "Uno"]), (60, ["Two"])])
    contact = make_contact(member, telegram_username="carried_over")
    launch(member, found, [contact])
    dispatch(utcnow() + SOON)
    first, second = (s.id for s in steps_of(found))
    variants = db.session.scalar(select(func.count()).select_from(CampaignStep).join(CampaignStep.variants))
    db.session.commit()

    downgrade(revision="6aa9951cf051")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE campaign_step SET attachment_name = 'deck.pdf', attachment_type = "
                          "'application/pdf', attachment_data = :data WHERE id = :id"),
                     {"data": b"%PDF old", "id": second})
    upgrade()
    db.session.expire_all()

    [carried] = db.session.scalars(select(CampaignFile)).all()
    assert (carried.org_id, carried.file_name, carried.mime_type, carried.size, carried.data) == (
        member.org_id, "deck.pdf", "application/pdf", 8, b"%PDF old")
    assert [(s.id, s.file_id) for s in steps_of(found)] == [(first, None), (second, carried.id)]
    # rebuilding the step table on SQLite kept its variants and what it sent
    assert db.session.scalar(select(func.count()).select_from(CampaignStep).join(CampaignStep.variants)) == variants
    assert db.session.scalar(select(func.count()).select_from(CampaignSend)) == 1
    db.session.commit()

    downgrade(revision="6aa9951cf051")
    with db.engine.connect() as conn:
        back = conn.execute(text("SELECT id, attachment_name, attachment_data FROM campaign_step "
                                 "ORDER BY id")).all()
        sends = conn.execute(text("SELECT count(*) FROM campaign_send")).scalar()
    upgrade()
    assert [(i, name, bytes(data) if data else None) for i, name, data in back] == [
        (first, None, None), (second, "deck.pdf", b"%PDF old")]
    assert sends == 1
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
