"""Pages and API answers are never stored by browsers or proxies.

Signed-in pages show people's data and carry CSRF tokens; the API answers with tokens and records.
A shared or back-button cache must hold none of it, so every response says ``no-store`` unless its
route chose otherwise (static files, a chat's photos: ``private`` with a lifetime).
"""

from __future__ import annotations

from flask import Flask, Response


def init_no_store(app: Flask) -> None:
    @app.after_request
    def forbid_storing(response: Response) -> Response:
        if "Cache-Control" not in response.headers:  # static files say no-cache (revalidate) themselves
            response.headers["Cache-Control"] = "no-store"
        return response
