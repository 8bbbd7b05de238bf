"""A file sent to many people is stored once: every message file names the organization's one copy
of those bytes (``StoredBlob``), the outbox and the media route read it through the file, and the
nightly purge deletes only copies no message file names any more."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from app.blueprints.messaging import blobs, service, store
from app.blueprints.messaging.models import Message, MessageFile, StoredBlob
from app.extensions import db
from tests.factories import make_account, make_chat, make_member, make_message
from workers.clock import build_scheduler

DECK = service.Attachment("deck.pdf", "application/pdf", b"%PDF-1.4 the deck" * 100)
PHOTO = service.Attachment("shot.png", "image/png", b"\x89PNG photo")


@pytest.fixture
def account(owner):
    return make_account(owner.organization)


def outreach(account, attachment, **fields) -> Message:
    chat = make_chat(account)
    message = service.queue_outreach(org_id=account.org_id, account_id=account.id, origin="campaign",
                                     text="Hello", chat_id=chat.id, attachment=attachment, **fields)
    db.session.commit()
    return message


def blob_rows() -> list[tuple[int, str, int]]:
    return [tuple(r) for r in db.session.execute(
        select(StoredBlob.org_id, StoredBlob.sha256, StoredBlob.size).order_by(StoredBlob.id)).all()]


def test_outreach_messages_with_the_same_file_share_one_stored_copy(owner, account):
    first, second = outreach(account, DECK), outreach(account, DECK)
    other = outreach(account, PHOTO)

    assert blob_rows() == [(account.org_id, hashlib.sha256(DECK.data).hexdigest(), len(DECK.data)),
                           (account.org_id, hashlib.sha256(PHOTO.data).hexdigest(), len(PHOTO.data))]
    files = {f.message_id: f for f in db.session.scalars(select(MessageFile))}
    assert files[first.id].blob_id == files[second.id].blob_id != files[other.id].blob_id
    assert [files[m.id].own_data for m in (first, second, other)] == [None, None, None]
    assert (files[second.id].data, files[second.id].file_name, files[second.id].mime_type) == (
        DECK.data, "deck.pdf", "application/pdf")


def test_another_organization_sending_the_same_bytes_has_its_own_copy(account):
    theirs = make_account(make_member().organization)
    outreach(account, DECK)
    outreach(theirs, DECK)
    assert sorted(org for org, _, _ in blob_rows()) == sorted([account.org_id, theirs.org_id])


def test_a_message_typed_in_the_inbox_shares_the_copy_too(owner, account):
    service.queue_message(owner, make_chat(account), "", PHOTO)
    service.queue_message(owner, make_chat(account), "again", PHOTO)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(StoredBlob)) == 1
    assert db.session.scalar(select(func.count()).select_from(MessageFile)) == 2


def test_the_send_plan_hands_the_runtime_the_shared_bytes(account):
    messages = [outreach(account, DECK), outreach(account, DECK)]
    db.session.expire_all()
    plans = [store.send_plan(m.id) for m in messages]
    assert [p.file for p in plans] == [(DECK.data, "application/pdf", "deck.pdf")] * 2


def test_the_media_route_serves_a_shared_file_and_a_file_holding_its_own_bytes(owner_client, account):
    shared = outreach(account, PHOTO)
    chat = make_chat(account)
    fetched = make_message(chat, media={"kind": "photo", "mime_type": "image/png"})
    db.session.add(MessageFile(org_id=chat.org_id, message_id=fetched.id, data=b"from telegram",
                               mime_type="image/png"))
    db.session.commit()

    image = owner_client.get(f"/inbox/messages/{shared.id}/file")
    assert (image.status_code, image.mimetype, image.data) == (200, "image/png", PHOTO.data)
    own = owner_client.get(f"/inbox/messages/{fetched.id}/file")
    assert (own.status_code, own.data) == (200, b"from telegram")
    assert db.session.get(MessageFile, fetched.id).blob_id is None


def test_the_purge_deletes_only_copies_no_message_file_names(account):
    first, second = outreach(account, DECK), outreach(account, DECK)
    photo = outreach(account, PHOTO)
    chat = make_chat(account)
    fetched = make_message(chat, media={"kind": "photo", "mime_type": "image/png"})
    db.session.add(MessageFile(org_id=chat.org_id, message_id=fetched.id, data=b"own", mime_type="image/png"))
    db.session.commit()
    deck_digest = hashlib.sha256(DECK.data).hexdigest()
    photo_digest = hashlib.sha256(PHOTO.data).hexdigest()

    db.session.delete(db.session.get(Message, first.id))  # the second still names the deck
    db.session.delete(db.session.get(Message, photo.id))
    db.session.commit()
    assert blobs.purge_unused_blobs() == 1
    assert [digest for _, digest, _ in blob_rows()] == [deck_digest]
    assert db.session.get(MessageFile, second.id).data == DECK.data
    assert db.session.get(MessageFile, fetched.id).data == b"own"

    db.session.delete(db.session.get(Message, second.id))
    db.session.commit()
    assert blobs.purge_unused_blobs() == 1
    assert blob_rows() == []
    assert blobs.purge_unused_blobs() == 0

    again = outreach(account, PHOTO)  # a purged copy is simply made again
    assert [digest for _, digest, _ in blob_rows()] == [photo_digest]
    assert db.session.get(MessageFile, again.id).data == PHOTO.data


def test_a_copy_stored_by_a_concurrent_writer_is_taken_not_duplicated(account, monkeypatch):
    """The unique key settles the race: the loser's insert fails in its savepoint and it reads theirs."""
    theirs = StoredBlob(org_id=account.org_id, sha256=hashlib.sha256(DECK.data).hexdigest(),
                        size=len(DECK.data), data=DECK.data)
    db.session.add(theirs)
    db.session.commit()
    looked = []
    real = blobs._found

    def found_nothing_first(org_id, digest):
        looked.append(digest)
        return None if len(looked) == 1 else real(org_id, digest)  # ours looked before theirs landed

    monkeypatch.setattr(blobs, "_found", found_nothing_first)
    message = outreach(account, DECK)
    assert len(looked) == 2
    assert db.session.get(MessageFile, message.id).blob_id == theirs.id
    assert db.session.scalar(select(func.count()).select_from(StoredBlob)) == 1


def test_the_clock_runs_the_purge_nightly():
    jobs = {job.func_name: job for job in build_scheduler()._cron_jobs}
    assert jobs["app.blueprints.messaging.blobs.purge_unused_blobs"].cron == "57 4 * * *"
