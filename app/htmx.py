"""One page, named blocks: a whole page, or just the block an HTMX request targets."""

from __future__ import annotations

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_block

from app.errors import toast_header


def is_partial_request() -> bool:
    """An HTMX request that wants a fragment (boosted navigation wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render(template: str, block: str | None = None, status: int = 200, toast: str | None = None,
           **context) -> Response:
    """Render ``template``; for a non-boosted HTMX request and a named ``block``, only that block.

    ``toast`` shows a success message (HTMX requests; a full page gets it as a flash instead).
    """
    if block and is_partial_request():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    if toast:
        response.headers["HX-Trigger"] = toast_header(toast, "success")
    return response
