"""Settings → Do not contact: the organization's do-not-contact list, paged; an identity added by
hand (a username, a phone number, a Telegram user id) or many from a CSV file; an entry removed.
Everyone sees the list; managers and above change it (``suppression``'s rule)."""

from __future__ import annotations

import csv
import re

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import select

from app.blueprints.campaigns import suppression
from app.blueprints.campaigns.models import SuppressionKind
from app.blueprints.crm.public import Contact
from app.blueprints.team.public import Permission, can, people, require
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import render

bp = Blueprint("campaign_suppressions", __name__, url_prefix="/settings/do-not-contact")
PAGE = "campaigns/suppressions.html"
PER_PAGE = 50
MAX_FILE_BYTES = 1024 * 1024
MAX_LINES = 5000
SHOWN_PROBLEMS = 10

REASONS = {
    "manual": _l("Added by a teammate"),
    "opt_out": _l("Asked not to be written to"),
    "import": _l("Imported from a file"),
    "api": _l("Added through the API"),
}
KINDS = {
    SuppressionKind.USERNAME: _l("Telegram username"),
    SuppressionKind.PHONE: _l("Phone number"),
    SuppressionKind.USER_ID: _l("Telegram user id"),
    SuppressionKind.CONTACT: _l("Contact"),
}
TYPED = (SuppressionKind.USERNAME, SuppressionKind.PHONE, SuppressionKind.USER_ID)
# A CSV column's heading -> the kind of identity it holds.
HEADINGS = {"username": SuppressionKind.USERNAME, "telegram": SuppressionKind.USERNAME,
            "telegram_username": SuppressionKind.USERNAME, "telegram username": SuppressionKind.USERNAME,
            "phone": SuppressionKind.PHONE, "phone number": SuppressionKind.PHONE,
            "телефон": SuppressionKind.PHONE, "user_id": SuppressionKind.USER_ID,
            "user id": SuppressionKind.USER_ID, "telegram_id": SuppressionKind.USER_ID,
            "telegram id": SuppressionKind.USER_ID, "telegram_user_id": SuppressionKind.USER_ID}
_PHONE_MARKS = re.compile(r"[\s()\-.]")


@bp.before_request
@login_required
def signed_in() -> None:
    """Every do-not-contact page needs a signed-in member."""


def _page_number() -> int:
    raw = request.args.get("page", "")
    return max(1, int(raw)) if raw.isdigit() else 1


def _page(status: int = 200, **extra):
    org_id = g.membership.org_id
    page = _page_number()
    rows, total = suppression.entries(org_id, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    contact_ids = {r.contact_id for r in rows if r.contact_id} | {
        int(r.value) for r in rows if r.kind == SuppressionKind.CONTACT and r.value.isdigit()}
    contacts = ({c.id: c for c in db.session.scalars(select(Contact).where(
        Contact.org_id == org_id, Contact.id.in_(contact_ids)))} if contact_ids else {})
    return render(PAGE, status=status, entries=rows, total=total, page=page,
                  pages=max(1, -(-total // PER_PAGE)), contacts=contacts, reasons=REASONS, kinds=KINDS,
                  typed=TYPED, authors={u.id: u.name for u in people(org_id)},
                  can_manage=can(g.membership.role, Permission.CAMPAIGNS_MANAGE), **extra)


@bp.get("", endpoint="index")
def index():
    return _page()


@bp.post("")
def add():
    form = request.form
    try:
        entry = suppression.add_identity(g.membership, form.get("kind", ""), form.get("value", ""),
                                         note=(form.get("note") or "").strip()[:200] or None)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        return _page(status=422, errors=err.fields, error=None if err.fields else err.message, values=form)
    db.session.commit()
    flash(_("%(value)s is on the do-not-contact list.", value=entry.value), "success")
    return redirect(url_for(".index"))


def _kind_of(value: str) -> str:
    """What a bare value in a file is: @name or letters a username, +digits or a written number a
    phone, digits alone a Telegram user id."""
    if value.startswith("+") or value.startswith("00") or (
            _PHONE_MARKS.search(value) and _PHONE_MARKS.sub("", value).lstrip("+").isdigit()):
        return SuppressionKind.PHONE
    if value.isdigit():
        return SuppressionKind.USER_ID
    return SuppressionKind.USERNAME


def read_identities(text: str) -> list[tuple[int, str, str]]:
    """(line, kind, value) of each identity in a file: one per line, or the columns of a CSV whose
    headings name them (username, phone, user_id)."""
    lines = text.splitlines()[: MAX_LINES + 1]
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    if not rows:
        return []
    columns = {n: HEADINGS[cell.strip().lower()] for n, cell in enumerate(rows[0])
               if cell.strip().lower() in HEADINGS}
    found = []
    if columns:
        for number, row in enumerate(rows[1:], start=2):
            for n, kind in columns.items():
                if n < len(row) and row[n].strip():
                    found.append((number, kind, row[n].strip()))
    else:
        for number, row in enumerate(rows, start=1):
            value = next((cell.strip() for cell in row if cell.strip()), "")
            if value:
                found.append((number, _kind_of(value), value))
    return found[:MAX_LINES]


@bp.post("/import")
def import_file():
    """Many identities at once (reason "import"): how many were added, already listed, not understood."""
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    upload = request.files.get("file")
    data = upload.read(MAX_FILE_BYTES + 1) if upload else b""
    if not data:
        return _page(status=422, errors={"file": _("Choose a CSV or text file.")})
    if len(data) > MAX_FILE_BYTES:
        return _page(status=422, errors={"file": _("The file is larger than 1 MB.")})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1251", errors="replace")
    identities = read_identities(text)
    if not identities:
        message = _("The file names nobody: one username, phone number or user id a line.")
        return _page(status=422, errors={"file": message})
    _rows, before = suppression.entries(g.membership.org_id, limit=0)
    bad: list[int] = []
    for line, kind, value in identities:
        try:
            suppression.add_identity(g.membership, kind, value, reason="import")
        except DomainError:
            bad.append(line)
    _rows, after = suppression.entries(g.membership.org_id, limit=0)
    db.session.commit()
    added = after - before
    parts = [ngettext("%(num)d added to the list.", "%(num)d added to the list.", added)]
    already = len(identities) - len(bad) - added
    if already:
        parts.append(ngettext("%(num)d was listed already.", "%(num)d were listed already.", already))
    if bad:
        lines = ", ".join(str(n) for n in bad[:SHOWN_PROBLEMS]) + ("…" if len(bad) > SHOWN_PROBLEMS else "")
        parts.append(ngettext("%(num)d not understood (line %(lines)s).",
                              "%(num)d not understood (lines %(lines)s).", len(bad), lines=lines))
    flash(" ".join(parts), "success" if added or already else "error")
    return redirect(url_for(".index"))


@bp.post("/<int:suppression_id>/delete")
def remove(suppression_id: int):
    suppression.remove(g.membership, suppression_id)
    db.session.commit()
    flash(_("Taken off the do-not-contact list."), "success")
    return redirect(url_for(".index", page=request.form.get("page") or None))
