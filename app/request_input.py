"""What a request may carry: JSON that parses without surprises, and text a database can hold.

Installed once by ``init_request_input``, so no route has to think about it:

- ``SafeJSONProvider``: a body nested too deeply for Python's parser (``[`` x 100,000) is a
  ValueError like any other malformed JSON, never a RecursionError; bytes are decoded strictly
  (``json.loads`` alone lets a UTF-8 or UTF-16 encoded lone surrogate through). ``get_json(silent=True)``
  (the rate-limit key functions) therefore answers None for every bad body.
- ``SafeRequest``: a JSON body over MAX_JSON_BYTES is refused (413) unparsed, and a parsed one whose
  strings (keys or values) hold a NUL or an unpaired surrogate is refused (``silent``: None). Such
  text passes every validator and then fails at the database (a NUL on PostgreSQL, a surrogate in
  every driver's UTF-8 encoding), after work was done. A body that does not parse becomes the app's
  own ``BadRequest``, so it reaches the error envelope. The body is parsed and checked once per
  request, however often it is read (the rate-limit keys read it too).
- ``load_json_field``: the same parsing and checks for JSON sent in a form field (the import API's
  ``mapping``), refused on that field.
- ``DatabaseInt``: the ``int`` converter of every route, bounded to what a database holds, and
  the same bound on every integer of a JSON body (422 on its field).
- a ``before_request`` guard: query-string arguments, form fields and uploads' field and file names
  holding a NUL are refused (SQLite's full-text search fails on one; PostgreSQL refuses them in any
  text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from app.canonical import ID_MAX, reads_english
from app.errors import BadRequest, DomainError

# Lazy: read in the caller's language when it is answered.
SEND_JSON_OBJECT = _l("Send a JSON object with Content-Type: application/json.")
DATABASE_INT_MAX = 2**63 - 1  # the largest integer SQLite and PostgreSQL's bigint hold

# The largest JSON body read. The API's biggest legitimate one, a bulk action on MAX_BULK (10,000)
# ids, is about 200 KB even with 19-digit ids; a record's longest text (notes, 20,000 characters)
# is 120 KB written wholly as \u escapes. Parsing costs several times a body's size in memory.
MAX_JSON_BYTES = 1 << 20

# Python's json decodes a valid surrogate pair to one code point, so any code point left in the
# surrogate range was unpaired.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_LONG_NUMBER = re.compile(r"\d{19}")


class TooLarge(DomainError):
    status, code = 413, "too_large"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL, an unpaired surrogate), or None when it can."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return _("Contains a NUL character (\\u0000), which text cannot hold.")
    return _("Contains an unpaired surrogate (\\ud800-\\udfff), which is not valid Unicode.")


def _printable(key: str) -> str:
    return _UNSAFE.sub("\ufffd", key)


def field_path(field: str | None, keys: list[str | int]) -> str:
    """A value's path from its keys (dict keys and list indexes, outermost first): ``proxy.host``,
    ``tags[2]``; the body itself is ``body``. Under a form ``field``: ``mapping.Email``."""
    path = field or ""
    for key in keys:
        if isinstance(key, int):
            path = f"{path or 'body'}[{key}]"
        elif path:
            path = f"{path}.{key}"
        else:
            path = key
    return path or "body"


def _items(container: dict | list) -> Iterator[tuple[str | int, Any]]:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def find_unsafe_text(value: Any, field: str | None = None) -> tuple[str, str] | None:
    """(field path, problem) of the first string (in the body's order) of a parsed JSON ``value``
    that cannot be stored, or None. Paths are as ``field_path`` makes them, under ``field`` if given."""
    return _first_refused(value, field, text=True, ints=False)


def int_problem(value: int) -> str | None:
    """Why an integer cannot be an id or a count the database holds (outside signed 64 bits)."""
    if -DATABASE_INT_MAX - 1 <= value <= DATABASE_INT_MAX:
        return None
    return _("A whole number from %(low)s to %(high)s.", low=-DATABASE_INT_MAX - 1, high=DATABASE_INT_MAX)


def _scalar_problem(child: Any, text: bool, ints: bool) -> str | None:
    if text and isinstance(child, str):
        return text_problem(child)
    if ints and isinstance(child, int) and not isinstance(child, bool):
        return int_problem(child)
    return None


def _first_refused(value: Any, field: str | None, *, text: bool, ints: bool) -> tuple[str, str] | None:
    """(field path, problem) of the first string that cannot be stored (``text``) or integer out of
    the database's range (``ints``), in the body's order.

    Walked with a stack rather than recursion (a body may be as deep as the parser allows), holding
    one iterator per open container and the keys leading to it: memory follows the depth, not the
    width, and a path is built only for the value refused.
    """
    if not isinstance(value, (dict, list)):
        problem = _scalar_problem(value, text, ints)
        return (field_path(field, []), problem) if problem else None
    keys: list[str | int] = []  # the keys leading to the container of frames[-1] (frames[0]: none)
    frames = [_items(value)]
    while frames:
        for key, child in frames[-1]:
            if text and isinstance(key, str) and (problem := text_problem(key)):
                name = field_path(field, [*keys, _printable(key)])
                lowered = problem[0].lower() + problem[1:]
                return name, _("This field's name: %(problem)s", problem=lowered)
            if isinstance(child, (dict, list)):
                if child:
                    keys.append(key)
                    frames.append(_items(child))
                    break  # the child first; this container's iterator resumes after it
            elif problem := _scalar_problem(child, text, ints):
                return field_path(field, [*keys, key]), problem
        else:
            frames.pop()
            if keys:
                keys.pop()
    return None


class UnsafeText(ValueError):
    """A parsed body holds text that cannot be stored, or an integer no column holds (handed to
    ``on_json_loading_failed`` as a parse failure is)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class NestedTooDeeply(ValueError):
    """The JSON nests deeper than the parser can follow."""


class BodyTooLarge(ValueError):
    """The body is over MAX_JSON_BYTES; it was not parsed."""


def _decoded(raw: str | bytes | bytearray) -> str:
    """JSON text from ``raw``: bytes decoded in the encoding ``json`` would find, but strictly
    (UnicodeDecodeError, a ValueError). ``json.loads`` decodes with surrogatepass, so an encoded
    lone surrogate (``\\xed\\xa0\\x80`` in UTF-8) would come through as one."""
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode(json.detect_encoding(raw))
    return raw


def safe_loads(raw: str | bytes | bytearray, **kwargs: Any) -> Any:
    """``json.loads``, raising ValueError for every bad document (NestedTooDeeply where Python's
    parser would raise RecursionError, UnicodeDecodeError for bytes that are not text)."""
    text = _decoded(raw)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise NestedTooDeeply("the JSON is nested too deeply") from None


def _may_hold_unsafe_text(text: str) -> bool:
    """Whether parsing ``text`` can give a string with a NUL or a lone surrogate. Python's json
    refuses a raw control character in a string, and bytes are decoded strictly, so from a body
    such a character can only come as a ``\\u`` escape; text handed in as ``str`` may hold one raw."""
    return "\\u" in text or _UNSAFE.search(text) is not None


def parse_json(raw: str | bytes | bytearray, field: str | None = None) -> Any:
    """``raw`` parsed by ``safe_loads`` and checked for text that cannot be stored and integers
    outside signed 64 bits (an id or a count beyond what any column holds fails in the driver).

    Raises ValueError (as ``safe_loads``), or UnsafeText with the path (under ``field``) of the
    first such value. The parsed value is walked only when the text may hold one.
    """
    text = _decoded(raw)
    value = safe_loads(text)
    # Only a number of 19 digits or more can be out of range: one scan of the text, in C, finds
    # whether the parsed value needs walking for one (a string of such digits costs a walk, no more).
    huge = _LONG_NUMBER.search(text) is not None
    unsafe_text = isinstance(value, (str, dict, list)) and _may_hold_unsafe_text(text)
    if unsafe_text or huge:
        found = _first_refused(value, field, text=unsafe_text, ints=huge)
        if found is not None:
            raise UnsafeText(*found)
    return value


def load_json_field(name: str, raw: str) -> Any:
    """The JSON sent in the form field ``name``, parsed and checked as a body is (a form field is at
    most Flask's MAX_FORM_MEMORY_SIZE, 500 KB). Raises DomainError (422) on ``name`` when it is
    malformed or nested too deeply (a bad value of a field, as the field's other checks answer),
    or on the path inside it (``mapping.Email``) of text that cannot be stored."""
    try:
        return parse_json(raw, name)
    except UnsafeText as e:
        raise DomainError(_("Some values cannot be stored: %(field)s.", field=e.path),
                          {e.path: e.problem}) from None
    except NestedTooDeeply:
        raise DomainError(_("%(field)s: the JSON is nested too deeply.", field=name),
                          {name: _("The JSON is nested too deeply.")}) from None
    except ValueError as e:
        raise DomainError(_("%(field)s is not valid JSON: %(reason)s.", field=name, reason=_reason(e)),
                          {name: _("Not valid JSON: %(reason)s.", reason=_reason(e))}) from None


class SafeJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Flask's ``loads``, as ``safe_loads``."""
        return safe_loads(s, **kwargs)


class SafeRequest(Request):
    _checked_json: tuple[Any, ValueError | None] | None = None  # (value, refusal), once read

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The parsed body, as Flask's, with its size and strings checked (``silent``: None instead
        of any refusal). The body is parsed and checked on the first call and the outcome kept for
        the request (``cache`` is accepted for Flask's signature only). Raises BadRequest, TooLarge
        or DomainError, from ``on_json_loading_failed``."""
        if not (force or self.is_json):
            return None if silent else self.on_json_loading_failed(None)
        if self._checked_json is None:
            self._checked_json = self._parse_body()
        value, refusal = self._checked_json
        if refusal is None:
            return value
        return None if silent else self.on_json_loading_failed(refusal)

    def _parse_body(self) -> tuple[Any, ValueError | None]:
        if (self.content_length or 0) > MAX_JSON_BYTES:
            return None, BodyTooLarge()  # not even read
        data = self.get_data(cache=True)
        if len(data) > MAX_JSON_BYTES:  # no Content-Length (a chunked body)
            return None, BodyTooLarge()
        try:
            return parse_json(data), None
        except ValueError as e:
            return None, e

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """Raises BadRequest (not JSON, malformed, nested too deeply; with the reason), TooLarge
        (413) or DomainError (422) on the field whose text cannot be stored."""
        if isinstance(e, UnsafeText):
            raise DomainError(_("Some values cannot be stored: %(field)s.", field=e.path),
                              {e.path: e.problem})
        if isinstance(e, BodyTooLarge):
            raise TooLarge(_("The JSON body is larger than %(size)s MB.", size=MAX_JSON_BYTES // (1 << 20)))
        if e is None:
            raise BadRequest(str(SEND_JSON_OBJECT))
        if isinstance(e, NestedTooDeeply):
            raise BadRequest(_("The JSON body is nested too deeply."))
        if isinstance(e, UnicodeDecodeError):
            raise BadRequest(_("The JSON body is not UTF-8 text."))
        raise BadRequest(_("The body is not valid JSON: %(reason)s.", reason=_reason(e)))


def _reason(error: ValueError) -> str:
    """Why JSON did not parse: the parser's own words for an English reader (it writes English
    only), where it stopped for any other."""
    if reads_english():
        return str(error)
    if isinstance(error, json.JSONDecodeError):
        return _("line %(line)s, column %(column)s", line=error.lineno, column=error.colno)
    if isinstance(error, UnicodeDecodeError):
        return _("the bytes are not UTF-8 text")
    return _("it cannot be read")


def _refuse_nul(name: str, file_name: bool = False) -> None:
    printable = name.replace("\x00", "\ufffd")
    message = (_("%(field)s: a file name may not contain a NUL character.", field=printable) if file_name
               else _("%(field)s: text may not contain a NUL character.", field=printable))
    raise BadRequest(message, {printable: text_problem("\x00")})


def refuse_nul_in_text() -> None:
    """Raises BadRequest naming the first query-string argument, form field or upload holding a NUL
    (in its field name or its file name, which an import stores). Werkzeug decodes invalid UTF-8
    there to U+FFFD, so a NUL is the one character left that no column can hold."""
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                _refuse_nul(key)
    for key, upload in request.files.items(multi=True):
        if "\x00" in key:
            _refuse_nul(key)
        if "\x00" in (upload.filename or ""):
            _refuse_nul(key, file_name=True)


class DatabaseInt(IntegerConverter):
    """``<int:...>`` as every route uses it: a number larger than any id (``canonical.ID_MAX``, what
    PostgreSQL's INTEGER holds) names nothing, so it is a 404 for every method, rather than a query
    the database refuses (a 500).

    Raised here rather than by refusing the match: Werkzeug counts a route whose method differs
    before it converts, so a refused match on ``PATCH /x/<huge>`` would answer 405 (``GET /x/<id>``
    exists) instead of 404.
    """

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > ID_MAX:
            raise NotFound()
        return number


def init_request_input(app: Flask) -> None:
    """The JSON provider and request class above, the bounded ``int`` converter for every route
    (registered before any blueprint adds one), and the NUL guard on every request."""
    app.url_map.converters["int"] = DatabaseInt
    app.json = SafeJSONProvider(app)
    app.request_class = SafeRequest
    app.before_request(refuse_nul_in_text)
