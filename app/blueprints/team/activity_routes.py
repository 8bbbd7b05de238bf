"""The activity log page (owners and admins): every member's actions, filtered, a page at a time,
and the same as CSV."""

from __future__ import annotations

from flask import Response, g, request, stream_with_context

from app.blueprints.team import activity, bp, service
from app.blueprints.team.permissions import Permission, require
from app.db_types import utcnow
from app.errors import DomainError
from app.htmx import render


def _team() -> dict[int, str]:
    return {u.id: u.name for u in service.people(g.membership.org_id)}


@bp.get("/activity")
def activity_log():
    """The filter form's HTMX requests get the ``activity_results`` block; bad filters are a 422
    naming them."""
    require(g.membership, Permission.AUDIT_VIEW)
    names = _team()
    try:
        query = activity.activity_query(g.membership.org_id, request.args, names)
    except DomainError as err:
        return _page(activity.ActivityQuery(org_id=g.membership.org_id), activity.ActivityPage(), names, err)
    return _page(query, activity.activity(g.membership, query), names)


def _page(query, page, names, err: DomainError | None = None):
    return render("team/activity.html", block="activity_results", status=422 if err else 200, query=query,
                  page=page, values=request.args, errors=err.fields if err else {},
                  error=err.message if err else None, team=sorted(names.items(), key=lambda pair: pair[1]),
                  names=names, groups=activity.GROUPS)


@bp.get("/activity.csv")
def activity_export():
    require(g.membership, Permission.AUDIT_VIEW)
    names = _team()
    query = activity.activity_query(g.membership.org_id, request.args, names)
    rows = activity.activity_csv(g.membership, query, names)

    def chunks():
        yield "\ufeff"  # spreadsheet programs read UTF-8 CSV right only with a byte-order mark
        yield from rows

    return Response(stream_with_context(chunks()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="activity-{utcnow():%Y-%m-%d}.csv"'})
