"""CRM pages: the lists of contacts, companies and deals, and their trash.

The other pages of the ``crm`` blueprint live next door: record_routes (detail, forms, inline edit,
notes, delete/restore), share_routes (a contact's sharing), bulk_routes (bulk actions, merge),
custom_field_routes (settings).
"""

from __future__ import annotations

from flask import g, request, session
from flask_login import login_required

from app.blueprints.crm import bp
from app.blueprints.crm.records import queries
from app.blueprints.crm.records.page_context import list_context
from app.blueprints.crm.records.queries import ListQuery
from app.htmx import render

ENTITY_PATH = "<any(contacts,companies,deals):entities>"


@bp.before_request
@login_required
def signed_in() -> None:
    """Every CRM page needs a signed-in member."""


@bp.get("/contacts")
def contacts():
    return list_page("contacts")


@bp.get("/companies")
def companies():
    return list_page("companies")


@bp.get("/deals")
def deals():
    return list_page("deals")


@bp.get(f"/{ENTITY_PATH}/trash")
def trash(entities: str):
    return list_page(entities, trashed=True)


@bp.get("/companies/names")
def company_suggestions():
    """Company names for the company filter's suggestions, as <option>s."""
    from markupsafe import escape

    names = queries.company_names_like(g.membership.org_id, request.args.get("company", ""))
    return "".join(f'<option value="{escape(name)}"></option>' for name in names)


def list_page(entities: str, trashed: bool = False):
    """The list (or the trash); an HTMX search, filter, sort or page request gets only ``results``."""
    query = ListQuery.from_args(request.args)
    query.trashed = trashed
    undo = session.get("crm_undo")
    if undo and undo.get("entities") == entities:
        session.pop("crm_undo")
    else:
        undo = None
    return render("crm/list.html", block="results", undo=undo,
                  **list_context(g.membership.org_id, entities, query))


from app.blueprints.crm.bulk import routes as bulk_routes  # noqa: E402, F401
from app.blueprints.crm.custom_fields import routes as custom_field_routes  # noqa: E402, F401
from app.blueprints.crm.records import record_routes, share_routes  # noqa: E402, F401
