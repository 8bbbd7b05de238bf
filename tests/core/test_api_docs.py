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
    params = {p["name"]: p for p in spec["paths"]["/api/crm/{entities}/{record_id}"]["get"]["parameters"]}
    assert params["record_id"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert params["entities"]["schema"] == {"type": "string", "enum": ["companies", "contacts", "deals"]}
    assert [p["name"] for p in spec["paths"]["/api/crm/{entities}/{record_id}"]["get"]["parameters"]][:2] == [
        "entities", "record_id"]


def test_protected_operations_declare_bearer_auth_and_401(client):
    spec = client.get("/api/openapi.json").get_json()
    verify = spec["paths"]["/api/auth/verify"]["get"]
    assert verify["security"] == [{"bearer": []}]
    assert "401" in verify["responses"]
    assert "security" not in spec["paths"]["/api/auth/signin"]["post"]
