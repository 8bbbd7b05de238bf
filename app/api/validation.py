"""The API's requests checked against the schemas its OpenAPI document publishes.

A route's ``@documented(...)`` declaration is the one source of its contract: the document shows
its query parameters and body schema, and ``check_query`` / ``check_body`` enforce the very same
schemas (JSON Schema 2020-12, the dialect of OpenAPI 3.1, with the ``jsonschema`` library), so
the two cannot disagree. A request outside them is a 422 with code ``invalid_request`` naming
every field at fault; a request inside them that the domain still refuses (a stage that does not
exist, a phone that is not one) keeps code ``invalid``. The fuzzer in CI holds the server to this:
a request generated from the document must never come back ``invalid_request``.

Query strings are text; each parameter is converted by its declared type first (a whole number,
true/false) and given at most once.

The messages are in the caller's language (``Accept-Language``); codes, field paths and the
schema's own values (enum members, ``true``/``false``, ``null``) stay as the document writes them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.validators import extend
from werkzeug.datastructures import MultiDict

from app.errors import DomainError
from app.request_input import field_path

INVALID_REQUEST = "invalid_request"
# Longer runs are no id or count (the schema's bounds refuse them); a zero fraction ("7.0") is an
# integer to JSON Schema, so the document allows it and so do we.
_INTEGER = re.compile(r"(-?\d{1,30})(?:\.0{1,30})?")
_BOOLEANS = {"true": True, "false": False}
_FORMATS = FormatChecker(("date", "email"))
_KINDS = {"string": _l("text"), "integer": _l("a whole number"), "number": _l("a number"),
          "boolean": _l("true or false"), "object": _l("an object"), "array": _l("a list"), "null": "null"}


class InvalidRequest(DomainError):
    """The request is outside the operation's documented schema."""

    code = INVALID_REQUEST


def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` as JSON Schema means it (ECMA-262): a ``$`` outside a character class ends the
    text, where Python's would also match before a final newline (``^[0-9]+$`` taking "5\\n")."""
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator, pattern: str, instance: Any, schema: dict):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_compiled = functools.cache(ecma_pattern)
_Validator = extend(Draft202012Validator, {"pattern": _pattern})


def validator(schema: dict) -> Draft202012Validator:
    """A validator of ``schema`` (checked once, when a route is declared)."""
    Draft202012Validator.check_schema(schema)
    return _Validator(schema, format_checker=_FORMATS)


def check_body(check: Draft202012Validator, body: Any, field: str | None = None) -> None:
    """Raises InvalidRequest naming each field of ``body`` outside the schema."""
    problems: dict[str, str] = {}
    for error in sorted(check.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        for path, message in _described(error, field):
            problems.setdefault(path, message)
    if problems:
        raise _refusal(problems)


def check_query(params: Iterable[tuple[dict, Draft202012Validator]], args: MultiDict) -> dict[str, Any]:
    """The declared query parameters of ``args``, converted to their types (absent ones left out).
    Raises InvalidRequest naming each parameter given twice, missing, or outside its schema."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for param, check in params:
        name, schema = param["name"], param.get("schema", {})
        given = args.getlist(name)
        if not given:
            if param.get("required"):
                problems[name] = _("Required.")
            continue
        if len(given) > 1:
            problems[name] = _("Give it once.")
            continue
        value, problem = _converted(given[0], schema)
        if problem is None:
            for error in check.iter_errors(value):
                problem = _described(error, None)[0][1]
                break
        if problem is None:
            values[name] = value
        else:
            problems[name] = problem
    if problems:
        raise _refusal(problems)
    return values


def _converted(raw: str, schema: dict) -> tuple[Any, str | None]:
    kinds = _types(schema)
    if "integer" in kinds:
        if whole := _INTEGER.fullmatch(raw):
            return int(whole.group(1)), None
        return raw, _("A whole number.")
    if "boolean" in kinds:
        if raw in _BOOLEANS:
            return _BOOLEANS[raw], None
        return raw, _("true or false.")
    return raw, None


def _types(schema: dict) -> set[str]:
    kind = schema.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


def _refusal(problems: dict[str, str]) -> InvalidRequest:
    if len(problems) == 1:
        (path, message), = problems.items()
        problem = f"{message[0].lower()}{message[1:]}"
        return InvalidRequest(_("%(field)s: %(problem)s", field=path, problem=problem), problems)
    return InvalidRequest(_("Some fields are not valid: %(fields)s.", fields=", ".join(problems)), problems)


def _described(error: ValidationError, field: str | None) -> list[tuple[str, str]]:
    """(field path, what is wrong) for one schema error; ``required`` and ``additionalProperties``
    name the missing or unknown fields themselves."""
    keys = list(error.absolute_path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = [name for name in expected if isinstance(instance, dict) and name not in instance]
        return [(field_path(field, [*keys, name]), _("Required.")) for name in missing]
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        unknown = [k for k in instance if k not in known and not any(p.search(k) for p in patterns)]
        return [(field_path(field, [*keys, name]), _("Unknown field.")) for name in unknown]
    if kind in ("oneOf", "anyOf") and error.context:
        fitting = _option_of_the_right_type(error)
        if fitting:  # the one option of the value's type says what is wrong inside it
            return [found for inner in fitting for found in _described(inner, field)]
    return [(field_path(field, keys), _message(error))]


def _option_of_the_right_type(error: ValidationError) -> list[ValidationError]:
    """The errors of the single option of a oneOf/anyOf whose type is the value's ({"type":
    "object"} for an object sent where an object or null may go), or none."""
    options = error.validator_value
    fitting = [i for i, option in enumerate(options) if _json_type(error.instance) in _types(option)]
    if len(fitting) != 1:
        return []
    return [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == fitting[0]]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", dict: "object", list: "array"}.get(type(value), "")


def _either(kinds: list[str]) -> str:
    """"a whole number or null": the kinds in words, joined by the viewer's "or"."""
    return _or([str(_KINDS.get(k, k)) for k in kinds])


def _message(error: ValidationError) -> str:
    kind, expected = error.validator, error.validator_value
    if kind == "type":
        return _("Must be %(kinds)s.", kinds=_either(expected if isinstance(expected, list) else [expected]))
    if kind in ("minimum", "exclusiveMinimum"):
        return _("At least %(low)s.", low=expected if kind == "minimum" else expected + 1)
    if kind in ("maximum", "exclusiveMaximum"):
        return _("At most %(high)s.", high=expected if kind == "maximum" else expected - 1)
    if kind == "minLength":
        return _("Required.") if expected == 1 else ngettext(
            "At least %(num)d character.", "At least %(num)d characters.", expected)
    if kind == "maxLength":
        return ngettext("At most %(count)s character.", "At most %(count)s characters.", expected,
                        count=format_number(expected))
    if kind == "minItems":
        return ngettext("At least %(num)d item.", "At least %(num)d items.", expected)
    if kind == "maxItems":
        return ngettext("At most %(count)s item.", "At most %(count)s items.", expected,
                        count=format_number(expected))
    if kind == "uniqueItems":
        return _("Each item once.")
    if kind == "enum":
        return _("One of: %(values)s.", values=", ".join("null" if v is None else str(v) for v in expected))
    if kind == "const":
        return _("Must be %(value)s.", value=expected)
    if kind == "format":
        formats = {"date": _("A date written YYYY-MM-DD."), "email": _("An email address.")}
        return formats.get(expected, _("Not valid."))
    if kind == "pattern":
        return str(error.schema.get("x-pattern-message", _("Not in the expected form.")))  # may be lazy
    if kind in ("oneOf", "anyOf") and all(set(option) == {"required"} for option in expected):
        names = [name for option in expected for name in option["required"]]
        return _("Give %(fields)s.", fields=_or(list(dict.fromkeys(names))))
    if kind in ("oneOf", "anyOf"):
        kinds = [k for option in expected for k in _types(option)]
        if kinds:
            return _("Must be %(kinds)s.", kinds=_either(list(dict.fromkeys(kinds))))
    return _("Not valid.")


def _or(words: list[str]) -> str:
    """"a or b or c" in the viewer's language (field names and kinds alike)."""
    joined = words[0]
    for word in words[1:]:
        joined = _("%(some)s or %(last)s", some=joined, last=word)
    return joined
