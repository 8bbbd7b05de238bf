import re

# <name>, <int:name>, <any(a,b):name> -> {name}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


def test_openapi_document_describes_every_api_route(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    api_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    undocumented = [r.rule for r in api_rules
                    if not hasattr(app.view_functions[r.endpoint], "__openapi__")]
    assert undocumented == []
    for rule in api_rules:
        path = _ARGUMENT.sub(r"{\1}", rule.rule)
        assert "<" not in path and ":" not in path, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (method, path)


def test_path_parameters_are_typed_and_any_converters_become_enums(client):
    spec = client.get("/api/openapi.json").get_json()
    read = spec["paths"]["/api/crm/contacts/{record_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["schema"]) for p in read] == [
        ("record_id", "path", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1})]
    upload = spec["paths"]["/api/crm/{entities}/import"]["post"]["parameters"]
    assert [(p["name"], p["schema"]) for p in upload] == [
        ("entities", {"type": "string", "enum": ["companies", "contacts", "deals"]})]


def test_protected_operations_declare_bearer_auth_and_401(client):
    spec = client.get("/api/openapi.json").get_json()
    verify = spec["paths"]["/api/auth/verify"]["get"]
    assert verify["security"] == [{"bearer": []}]
    assert "401" in verify["responses"]
    assert "security" not in spec["paths"]["/api/auth/signin"]["post"]
