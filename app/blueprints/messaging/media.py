"""A message's files: an upload taken from a request, and serving a stored file (from
``MessageFile``, fetched from Telegram on demand when missing).

Only images Telegram sends as photos are shown inline; anything else is a download (a file from a
stranger must never render as a page of ours).
"""

from __future__ import annotations

from io import BytesIO

from flask import Response, send_file
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app.blueprints.accounts.public import Ask, TelegramRefused
from app.blueprints.messaging.models import Message, MessageFile
from app.blueprints.messaging.service import IMAGE_TYPES, MAX_ATTACHMENT_BYTES, Attachment
from app.errors import NotFound
from app.extensions import db
from app.integrations.telegram.control import ControlError


def attachment_from(files: MultiDict) -> Attachment | None:
    """The ``file`` of an upload (read one byte past the limit, so the service can refuse it)."""
    upload = files.get("file")
    if upload is None or not upload.filename:
        return None
    return Attachment(file_name=upload.filename, mime_type=upload.mimetype or "application/octet-stream",
                      data=upload.read(MAX_ATTACHMENT_BYTES + 1))


def stored_file(message: Message, ask: Ask) -> MessageFile:
    """The message's bytes; asks the telegram process to fetch them when they are not stored.

    Raises NotFound (no media) or TelegramRefused (the process could not fetch them).
    """
    if not message.media:
        raise NotFound(_("This message has no file."))
    found = db.session.get(MessageFile, message.id)
    if found is not None:
        return found
    message_id, account_id = message.id, message.account_id
    try:
        ask("media.fetch", account_id=account_id, message_id=message_id)
    except ControlError as err:
        raise TelegramRefused(err.code, err.message) from None
    db.session.rollback()  # end this request's snapshot: the process has just stored the file
    found = db.session.get(MessageFile, message_id)
    if found is None:
        raise NotFound(_("Telegram did not hand over this file."))
    return found


def serve(message: Message, ask: Ask) -> Response:
    found = stored_file(message, ask)
    mime = found.mime_type or "application/octet-stream"
    inline = mime in IMAGE_TYPES
    name = found.file_name or f"file-{found.message_id}"
    response = send_file(BytesIO(found.data), mimetype=mime if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=name, max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
