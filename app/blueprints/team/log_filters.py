"""The filters the audit log and the activity log share: a member of the organization and a range
of UTC days, read from query-string arguments, each bad one named in ``errors``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

from flask_babel import gettext as _

from app import canonical
from app.errors import DomainError


def text_of(args: Mapping[str, str], key: str) -> str:
    return str(args.get(key) or "").strip()


def member_of(args: Mapping[str, str], members: Collection[int], errors: dict[str, str]) -> int | None:
    """``member``: a user id among ``members``, or None for blank (any). A bad one goes in ``errors``."""
    member = text_of(args, "member")
    if not member:
        return None
    actor_id = int(member) if member.isdigit() and len(member) <= 10 else None
    if actor_id not in members:
        errors["member"] = _("Pick a member of this organization from the list.")
    return actor_id


def days_of(args: Mapping[str, str], errors: dict[str, str]) -> tuple[date | None, date | None]:
    """``from`` and ``to``: YYYY-MM-DD, inclusive, blank for any. Bad ones go in ``errors``."""
    days: dict[str, date | None] = {}
    for key in ("from", "to"):
        try:
            days[key] = canonical.iso_date(text_of(args, key)) if text_of(args, key) else None
        except ValueError:
            days[key] = None
            errors[key] = _("Write the date as YYYY-MM-DD.")
    if days["from"] and days["to"] and days["from"] > days["to"]:
        errors["to"] = _("The end date is before the start date.")
    return days["from"], days["to"]


def refuse(errors: dict[str, str]) -> None:
    """Raises the DomainError naming every bad filter, if any."""
    if errors:
        raise DomainError(_("Check the filters: %(problems)s", problems=" ".join(errors.values())), errors)
