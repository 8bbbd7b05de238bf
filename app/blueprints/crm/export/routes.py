"""CSV export of a filtered list, for signed-in browsers (the API has its own route)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_plus

from flask import Blueprint, Response, request, stream_with_context
from flask_babel import gettext as _
from flask_login import login_required

from app import audit
from app.blueprints.auth.public import require_verified
from app.blueprints.crm.export.service import export_csv
from app.blueprints.crm.records.queries import ListQuery
from app.blueprints.team.public import Membership
from app.db_types import utcnow
from app.errors import NotFound
from app.extensions import db
from app.tenancy import current_membership

bp = Blueprint("crm_export", __name__, url_prefix="/export")

ENTITIES = {"contacts": "contact", "companies": "company", "deals": "deal"}
# Spreadsheet programs read UTF-8 CSV correctly only with a byte-order mark; importers skip it.
BOM = "\ufeff"


@bp.before_request
@login_required
def signed_in() -> None:
    """Exports need a signed-in member."""


def csv_response(membership: Membership, entities: str, query: ListQuery) -> Response:
    """A streamed ``text/csv`` download of every record ``query`` matches (pagination ignored).
    Exports take the CRM out of the app: the member must have confirmed their address, and each
    one is audited (who, which records, which filters). Raises Forbidden otherwise."""
    require_verified(membership.user)
    org_id = membership.org_id
    audit.record("export.downloaded", org_id=org_id, actor_id=membership.user_id, ip=request.remote_addr,
                 entity=ENTITIES[entities], filters=unquote_plus(request.query_string.decode())[:300] or None)
    db.session.commit()

    def chunks() -> Iterator[bytes]:
        yield BOM.encode()
        for text in export_csv(org_id, ENTITIES[entities], query):
            yield text.encode()

    filename = f"{entities}-{utcnow():%Y-%m-%d}.csv"
    return Response(stream_with_context(chunks()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
    })


@bp.get("/<any(contacts,companies,deals):entities>")
def export(entities: str):
    membership = current_membership()
    if membership is None:
        raise NotFound(_("No organization selected."))
    return csv_response(membership, entities, ListQuery.from_args(request.args))
