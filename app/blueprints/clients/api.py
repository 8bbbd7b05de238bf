"""``/api/team/clients``: handing contacts, deals and chats to a member at once, and the contacts
shared with a member. The same services and rights as the pages: reassigning records needs
RECORDS_EDIT_ALL, chats CHATS_ASSIGN; what is shared with another member, RECORDS_SHARE_ANY."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, url_for

from app.api.auth import json_body, per_member_limit, protect
from app.api.docs import ID, always, documented, integer, obj, query, string
from app.blueprints.clients import service
from app.blueprints.crm import public as crm
from app.extensions import db

bp = protect(Blueprint("clients_api", __name__, url_prefix="/api/team/clients"))

per_user = per_member_limit("clients_api")

MAX_PAGE = 10_000
MAX_PER_PAGE = 200


def _ids(what: str) -> dict:
    return {"type": "array", "items": ID, "maxItems": service.MAX_IDS,
            "description": f"{what} (at most {service.MAX_IDS:,})"}


ASSIGNED = always(contacts=integer(minimum=0), deals=integer(minimum=0), chats=integer(minimum=0))
SHARED = always(contact=crm.schema(crm.Entity.CONTACT),
                shared_by={"anyOf": [always(id=integer(), name=string()), {"type": "null"}],
                           "description": "who shared it (null: no longer a user)"},
                shared_at=string(format="date-time"))
NULL_TEXT = {"type": ["string", "null"]}
PAGE = always(items={"type": "array", "items": SHARED}, total=integer(minimum=0), page=integer(minimum=1),
              per_page=integer(minimum=1), pages=integer(minimum=1),
              links=always(self=string(), next=NULL_TEXT, prev=NULL_TEXT))


@bp.post("/assign")
@per_user
@documented("Hand contacts and deals (their owner) and chats (their assignee) to a member, all or "
            "nothing: one id that is not in your organization, or that you may not reassign, fails "
            "the request naming it and changes nothing", tag="team",
            body=obj(["user_id"], user_id={**ID, "description": "the member who gets them"},
                     contact_ids=_ids("contacts to own"), deal_ids=_ids("deals to own"),
                     chat_ids=_ids("chats to be assigned")),
            responses={200: {"description": "How many of each changed hands (those the member had "
                                            "already are not counted)", "schema": ASSIGNED},
                       403: "Your role may not reassign records (RECORDS_EDIT_ALL) or chats (CHATS_ASSIGN)",
                       404: "An id names no live record or chat of yours to see (the error's fields name it)",
                       422: "Nothing named, or user_id is not a member of your organization (code invalid)"})
def assign():
    data = json_body()
    done = service.assign_clients(g.membership, data["user_id"], data.get("contact_ids", []),
                                  data.get("deal_ids", []), data.get("chat_ids", []))
    db.session.commit()
    return jsonify({"contacts": done.contacts, "deals": done.deals, "chats": done.chats})


@bp.get("/shared")
@per_user
@documented("The contacts shared with you (with user_id, managers and above: with that member), the "
            "latest shared first, page by page", tag="team",
            params=[query("user_id", "another member (needs RECORDS_SHARE_ANY)", ID),
                    query("page", f"1-based page number, at most {MAX_PAGE:,}",
                          integer(minimum=1, maximum=MAX_PAGE)),
                    query("per_page", f"page size, 1-{MAX_PER_PAGE} (default 50)",
                          integer(minimum=1, maximum=MAX_PER_PAGE))],
            responses={200: {"description": "One page and links to its neighbours", "schema": PAGE,
                             "links": {"SharedBy": {"operationId": "clients_api.shared", "parameters": {
                                 "user_id": "$response.body#/items/0/shared_by/id"}}}},
                       403: "Another member's, and your role may not see it",
                       404: "user_id is not a member of your organization"})
def shared():
    user_id = g.args.get("user_id", g.membership.user_id)
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    rows, total = crm.shared_with(g.membership, user_id, page, per_page)
    pages = max(1, -(-total // per_page))
    args = {"user_id": g.args["user_id"]} if "user_id" in g.args else {}

    def link(number: int) -> str | None:
        if not 1 <= number <= min(pages, MAX_PAGE):
            return None
        return url_for("clients_api.shared", **args, page=number, per_page=per_page, _external=True)

    return jsonify({
        "items": [{"contact": crm.record_json(crm.Entity.CONTACT, row.contact),
                   "shared_by": _person(row.shared_by), "shared_at": row.shared_at.isoformat()}
                  for row in rows],
        "total": total, "page": page, "per_page": per_page, "pages": pages,
        "links": {"self": url_for("clients_api.shared", **args, page=page, per_page=per_page, _external=True),
                  "next": link(page + 1), "prev": link(page - 1)},
    })


def _person(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None
