"""OpenAPI 3.1 generated from the routes themselves: each API view carries its own description.

``@documented(...)`` attaches the summary, the request body schema and the responses to the view;
``openapi_document(app)`` walks the URL map, so a route cannot exist without appearing here (a
test fails for an API route with no ``@documented``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.canonical import ID_MAX

ERROR = {"$ref": "#/components/schemas/Error"}


def documented(summary: str, *, tag: str, body: dict | None = None,
               responses: dict[int, dict | str] | None = None, public: bool = False,
               params: list[dict] | None = None, body_type: str = "application/json") -> Callable:
    def attach(view: Callable) -> Callable:
        view.__openapi__ = {"summary": summary, "tag": tag, "body": body,
                            "responses": responses or {200: "OK"}, "public": public,
                            "params": params or [], "body_type": body_type}
        return view

    return attach


def obj(required: list[str] | None = None, **properties: Any) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


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
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, meta)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Telegram BD CRM API", "version": "1"},
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
    if meta["body"] is not None:
        body_type = meta.get("body_type", "application/json")  # e.g. multipart/form-data for uploads
        op["requestBody"] = {"required": True, "content": {body_type: {"schema": meta["body"]}}}
    if not meta["public"]:
        op["security"] = [{"bearer": []}]
        meta["responses"].setdefault(401, {"description": "Missing or invalid token", "schema": ERROR})
    for status, spec in sorted(meta["responses"].items()):
        if isinstance(spec, str):
            spec = {"description": spec}
        response: dict[str, Any] = {"description": spec.get("description", "")}
        schema = spec.get("schema", ERROR if status >= 400 else None)
        if "content" in spec:  # a non-JSON body, e.g. {"text/csv": {"schema": string()}}
            response["content"] = spec["content"]
        elif schema is not None:
            response["content"] = {"application/json": {"schema": schema}}
        op["responses"][str(status)] = response
    return op


def _path_schema(converter) -> dict:
    kind = converter.__class__.__name__
    if isinstance(converter, IntegerConverter):  # the app's DatabaseInt: what an id can be
        return integer(minimum=0, maximum=ID_MAX)
    if kind == "AnyConverter":  # one rule serving several names: an enum, not one path per name
        return string(enum=sorted(converter.items))
    return string()
