"""Each API route's contract, declared once with ``@documented(...)``: the OpenAPI 3.1 document
is generated from it, and the same declaration validates every request (``validation.py``).

``@documented`` attaches the summary, the query parameters, the request body schema and the
responses to the view, and wraps the view so a request outside them is refused (422
``invalid_request``) before it runs; the view reads the converted query values from ``g.args``.
Bodies are strict: an object schema that does not say otherwise refuses unknown keys
(``additionalProperties: false``), in the document and in the check alike. The statuses the
machinery itself answers are added to every operation that can get them: 400 and 413 for a body,
404 for a path with parameters, 401 for a token, 422 for any input, 429 for the rate limits.
``openapi_document(app)`` walks the URL map, so a route cannot exist without appearing there (a
test fails for an API route with no ``@documented``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, g, request
from werkzeug.routing import IntegerConverter

from app.api import validation
from app.canonical import ID_MAX

ERROR = {"$ref": "#/components/schemas/Error"}
JSON = "application/json"
MULTIPART = "multipart/form-data"
_GIVEN = {400: "A NUL character in the query or a form, or a body that is not a JSON object (or is "
               "malformed)", 401: "Missing or invalid token",
          404: "Nothing at this path in your organization", 413: "The body is too large",
          422: "Some input is not valid (code invalid_request: outside this document; invalid: "
               "refused by the data, e.g. a reference that names nothing). fields names each",
          429: "Rate limited: wait and try again (Retry-After)"}


def documented(summary: str, *, tag: str, body: dict | None = None,
               responses: dict[int, dict | str] | None = None, public: bool = False,
               params: list[dict] | None = None, body_type: str = JSON,
               bodies: dict[str, dict] | None = None) -> Callable:
    """The contract of an API view. ``body`` is the schema of a ``body_type`` body; ``bodies``
    (content type -> schema) a body that may come in several types, the first the default."""
    bodies = {k: strict(v) for k, v in (bodies or ({body_type: body} if body is not None else {})).items()}
    params = params or []
    query = [(p, validation.validator(p.get("schema", {}))) for p in params
             if p["in"] == "query" and "<" not in p["name"]]
    checks = {kind: validation.validator(schema) for kind, schema in bodies.items()}

    def attach(view: Callable) -> Callable:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            g.args = validation.check_query(query, request.args)
            if checks:
                kind = request.mimetype if request.mimetype in checks else next(iter(checks))
                validation.check_body(checks[kind], _body(kind))
            return view(*args, **kwargs)

        checked.__openapi__ = {"summary": summary, "tag": tag, "bodies": bodies,
                               "responses": responses or {200: "OK"}, "public": public, "params": params}
        return checked

    return attach


def _body(body_type: str) -> Any:
    """The body to check: the JSON object (400 when there is none), or a form's fields (each
    given once) with its files standing as their names."""
    from app.api.auth import json_body

    if body_type == JSON:
        return json_body()
    form: dict[str, Any] = {}
    for key in {*request.form, *request.files}:
        given = [*request.form.getlist(key), *(f.filename or key for f in request.files.getlist(key))]
        form[key] = given[0] if len(given) == 1 else given
    return form


def strict(schema: dict) -> dict:
    """``schema`` with every object schema that lists properties and says nothing of others
    refusing unknown keys (a copy)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if "properties" in node and "additionalProperties" not in node and "patternProperties" not in node:
            node["additionalProperties"] = False
        stack.extend(node.get("properties", {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                stack.append(node[key])
        for key in ("oneOf", "anyOf", "allOf"):
            stack.extend(node.get(key, []))
    return schema


def obj(required: list[str] | None = None, **properties: Any) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def always(**properties: Any) -> dict:
    """An object schema whose every property is always sent (a response's shape)."""
    return obj(list(properties), **properties)


def whole_numbers_to(limit: int) -> str:
    """A regular expression of the whole numbers 1 to ``limit`` as plain digits (no sign, no leading
    zero): any shorter number, or one of ``limit``'s length below it from some digit on. For a text
    parameter that is an id or a word ("none"), which one declared type cannot say."""
    digits = str(limit)
    shorter = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    below = [f"{digits[:i]}[{int(i == 0)}-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
             for i, d in enumerate(digits) if int(d) > int(i == 0)]
    return "|".join([*shorter, *below, digits])


def query(name: str, description: str, schema: dict, *, required: bool = False) -> dict:
    """A query parameter of ``@documented(params=...)``."""
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def text(max_length: int, **extra: Any) -> dict:
    """Text of at most ``max_length`` characters, without the NUL the app refuses anyway."""
    return string(maxLength=max_length, pattern=NO_NUL, **extra)


def string(**extra: Any) -> dict:
    return {"type": "string", **extra}


def integer(**extra: Any) -> dict:
    return {"type": "integer", **extra}


# <name>, <int:name>, <any(a,b,c):name>: the converter (and its arguments) drops out of the path.
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def openapi_document(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "__openapi__", None)
        if meta is None:
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            op = _operation(rule, meta)
            op["operationId"] = rule.endpoint if len(methods) == 1 else f"{rule.endpoint}.{method.lower()}"
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Relay CRM API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": obj(
                ["error"],
                error=obj(["code", "message", "fields"], code=string(), message=string(),
                          fields={"type": "object", "additionalProperties": {"type": "string"}}),
            )},
        },
    }


def _operation(rule, meta: dict) -> dict:
    op: dict[str, Any] = {"summary": meta["summary"], "tags": [meta["tag"]], "responses": {}}
    params = [{"name": name, "in": "path", "required": True,
               "schema": _path_schema(rule._converters.get(name))} for name in _CONVERTER.findall(rule.rule)]
    params += meta["params"]
    if params:
        op["parameters"] = params
    if meta["bodies"]:  # application/json, multipart/form-data for uploads
        op["requestBody"] = {"required": True,
                             "content": {kind: {"schema": schema} for kind, schema in meta["bodies"].items()}}
    if not meta["public"]:
        op["security"] = [{"bearer": []}]
    for status, spec in sorted({**_machinery_statuses(meta, params), **meta["responses"]}.items()):
        if isinstance(spec, str):
            spec = {"description": spec}
        response: dict[str, Any] = {"description": spec.get("description", "")}
        schema = spec.get("schema", ERROR if status >= 400 else None)
        if "content" in spec:  # a non-JSON body, e.g. {"text/csv": {"schema": string()}}
            response["content"] = spec["content"]
        elif schema is not None:
            response["content"] = {"application/json": {"schema": schema}}
        for key in ("headers", "links"):  # e.g. Location; OpenAPI links to the operations that follow
            if key in spec:
                response[key] = spec[key]
        op["responses"][str(status)] = response
    return op


def _machinery_statuses(meta: dict, params: list[dict]) -> dict[int, str]:
    """What the API answers on its own, before the view runs or whatever it does."""
    statuses = [400, 429]  # 400: a NUL anywhere in the query string is refused before any route
    if not meta["public"]:
        statuses.append(401)
    if any(p["in"] == "path" for p in params):
        statuses.append(404)
    if meta["bodies"]:
        statuses += [413, 422]
    if any(p["in"] == "query" for p in params):
        statuses.append(422)
    return {status: _GIVEN[status] for status in statuses}


def _path_schema(converter) -> dict:
    kind = converter.__class__.__name__
    if isinstance(converter, IntegerConverter):  # the app's DatabaseInt: what an id can be
        return integer(minimum=0, maximum=ID_MAX)
    if kind == "AnyConverter":  # one rule serving several names: an enum, not one path per name
        return string(enum=sorted(converter.items))
    return string()


# Text without a NUL: the app refuses one in any query string or form field before the contract
# check (400, request_input), so the document says so of every such text parameter.
NO_NUL = r"^[^\u0000]*$"
ID = integer(minimum=1, maximum=ID_MAX, description="an id (1 to 2^31 - 1)")
NULL_ID = {"type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX}
