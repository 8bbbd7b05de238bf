"""What a request may carry: JSON that parses without surprises, and text a database can hold.

Installed once by ``init_request_input``, so no route has to think about it:

- ``SafeJSONProvider``: a body nested too deeply for Python's parser (``[`` x 100,000) is a
  ValueError like any other malformed JSON, never a RecursionError. ``get_json(silent=True)``
  (the rate-limit key functions) therefore answers None for every bad body.
- ``SafeRequest``: a parsed JSON body whose strings (keys or values) hold a NUL or an unpaired
  surrogate is refused (``silent``: None). Such text passes every validator and then fails at
  the database (a NUL on PostgreSQL, a surrogate in every driver's UTF-8 encoding), after work
  was done. A body that does not parse becomes the app's own ``BadRequest``, so it reaches the
  error envelope.
- a ``before_request`` guard: query-string arguments and form fields holding a NUL are refused
  (SQLite's full-text search fails on one; PostgreSQL refuses them in any text).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider

from app.errors import BadRequest, DomainError

SEND_JSON_OBJECT = "Send a JSON object with Content-Type: application/json."

# Python's json decodes a valid surrogate pair to one code point, so any code point left in the
# surrogate range was unpaired.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL, an unpaired surrogate), or None when it can."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Contains a NUL character (\\u0000), which text cannot hold."
    return "Contains an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode."


def _printable(key: str) -> str:
    return _UNSAFE.sub("\ufffd", key)


def find_unsafe_text(value: Any) -> tuple[str, str] | None:
    """(field path, problem) of the first string in a parsed JSON ``value`` that cannot be stored,
    or None. Paths read ``proxy.host``, ``tags[2]``; the body itself is ``body``. Walked with a
    stack rather than recursion: a body may be as deep as the parser allows."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return path or "body", problem
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    name = f"{path}.{_printable(key)}" if path else _printable(key)
                    return name, f"This field's name: {problem[0].lower()}{problem[1:]}"
                children.append((f"{path}.{key}" if path else key, child))
            stack.extend(reversed(children))  # reported in the body's own order
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path or 'body'}[{i}]", child) for i, child in enumerate(item)]))
    return None


class UnsafeText(ValueError):
    """A parsed body holds text that cannot be stored (handed to ``on_json_loading_failed`` as
    a parse failure is)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class NestedTooDeeply(ValueError):
    """The JSON nests deeper than the parser can follow."""


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Flask's ``loads``. Raises ValueError for every bad document (NestedTooDeeply where
        Python's parser would raise RecursionError)."""
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise NestedTooDeeply("the JSON is nested too deeply") from None


class SafeRequest(Request):
    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The parsed body, as Flask's, with its strings checked (``silent``: None instead of any
        refusal). Raises BadRequest or DomainError, from ``on_json_loading_failed``."""
        value = super().get_json(force=force, silent=silent, cache=cache)
        found = find_unsafe_text(value) if value is not None else None
        if found is None:
            return value
        return None if silent else self.on_json_loading_failed(UnsafeText(*found))

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """Raises BadRequest (not JSON, malformed, nested too deeply; with the reason), or
        DomainError (422) on the field whose text cannot be stored."""
        if isinstance(e, UnsafeText):
            raise DomainError(f"Some text cannot be stored: {e.path}.", {e.path: e.problem})
        if e is None:
            raise BadRequest(SEND_JSON_OBJECT)
        if isinstance(e, NestedTooDeeply):
            raise BadRequest("The JSON body is nested too deeply.")
        if isinstance(e, UnicodeDecodeError):
            raise BadRequest("The JSON body is not UTF-8 text.")
        raise BadRequest(f"The body is not valid JSON: {e}.")


def refuse_nul_in_text() -> None:
    """Raises BadRequest naming the first query-string argument or form field holding a NUL.
    (Werkzeug decodes invalid UTF-8 there to U+FFFD, so a NUL is the one character left that no
    column can hold.)"""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                name = key.replace("\x00", "\ufffd")
                problem = text_problem("\x00")
                raise BadRequest(f"{name}: text may not contain a NUL character.", {name: problem})


def init_request_input(app: Flask) -> None:
    """The JSON provider and request class above, and the NUL guard on every request."""
    app.json = SafeJSONProvider(app)
    app.request_class = SafeRequest
    app.before_request(refuse_nul_in_text)
