from __future__ import annotations

from collections.abc import Callable
from copy import copy
from typing import Any

from flask import Blueprint
from flask.sansio.blueprints import BlueprintSetupState

bp = Blueprint("auth", __name__, url_prefix="/auth")


def settings_route(rule: str, **options: Any) -> Callable:
    """Like ``bp.route``, at ``/settings<rule>`` instead of ``/auth<rule>``: the pages about your
    own organizations sit among the settings, where their addresses have always been, though
    which organization a session is in is auth's concern. The endpoint is still ``auth.<view>``."""

    def decorator(view: Callable) -> Callable:
        endpoint = options.pop("endpoint", view.__name__)

        def register(state: BlueprintSetupState) -> None:
            at_settings = copy(state)
            at_settings.url_prefix = "/settings"
            at_settings.add_url_rule(rule, endpoint, view, **options)

        bp.record(register)
        return view

    return decorator
