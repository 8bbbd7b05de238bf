"""Organization scoping. Every tenant row carries ``org_id``; every lookup goes through here.

Another organization's id is a 404, never a 403: we do not confirm that a row exists elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Select, select
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.errors import NotFound
from app.extensions import db

if TYPE_CHECKING:
    from app.blueprints.team.models import Membership, Organization

T = TypeVar("T")


class OrgScoped:
    """Mixin for tenant rows. A model whose composite indexes all lead with ``org_id`` sets
    ``org_id_index = False``: a lone ``org_id`` index would only cost writes (the CSV import)."""

    org_id_index = True

    @declared_attr
    def org_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy declared_attr takes the class
        return mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=cls.org_id_index)


def current_membership() -> Membership | None:
    """The membership the request acts through (session or API token), set by the auth layer."""
    return g.get("membership")


def current_org() -> Organization:
    membership = current_membership()
    if membership is None:
        raise NotFound(_("No organization selected."))
    return membership.organization


def scoped(model: type[T], org_id: int) -> Select:
    return select(model).where(model.org_id == org_id)


# "X not found." as whole sentences (Russian agrees the verb with the noun's gender: «Сделка не
# найдена», «Этап не найден»), by the ``what`` callers pass; another ``what`` says it generically.
NOT_FOUND = {
    "Member": _l("Member not found."),
    "Pipeline": _l("Pipeline not found."),
    "Stage": _l("Stage not found."),
    "Import": _l("Import not found."),
    "Custom field": _l("Custom field not found."),
}


def get_in_org(model: type[T], row_id: int, org_id: int, what: str | None = None) -> T:
    """Load ``model`` ``row_id`` inside ``org_id``. Raises NotFound for a missing or foreign id,
    saying "<what> not found." (``NOT_FOUND`` holds each ``what`` as a whole sentence to translate)."""
    row = db.session.scalar(scoped(model, org_id).where(model.id == row_id))
    if row is None:
        name = what or model.__name__
        message = NOT_FOUND.get(name)
        raise NotFound(str(message) if message is not None else _("%(what)s not found.", what=name))
    return row
