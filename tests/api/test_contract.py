"""One declaration, two uses: what ``@documented`` publishes is what it enforces."""

import re

import pytest
from flask import Flask, g, jsonify

from app.api import validation
from app.api.docs import ID, NULL_ID, documented, integer, obj, openapi_document, string, whole_numbers_to
from app.errors import register_error_handlers
from app.i18n import init_i18n
from app.request_input import init_request_input

LIMIT = {"name": "limit", "in": "query", "required": False, "schema": integer(minimum=1, maximum=100)}
SORT = {"name": "sort", "in": "query", "required": False, "schema": string(enum=["name", "created"])}
ONLY = {"name": "only", "in": "query", "required": False, "schema": {"type": "boolean"}}
TAG = {"name": "tag", "in": "query", "required": True, "schema": string(maxLength=5)}
OWNER = {"name": "owner", "in": "query", "required": False, "schema": string(pattern="^(none|[0-9]+)$")}
BODY = obj(["name"], name=string(minLength=1, maxLength=10), owner_id=NULL_ID,
           tags={"type": "array", "items": string(), "maxItems": 2},
           proxy={"oneOf": [obj(["host"], host=string(), port=integer(minimum=1, maximum=65535)),
                            {"type": "null"}]})


@pytest.fixture
def contract_app():
    app = Flask(__name__)
    init_i18n(app)  # the messages are in the caller's language, as in the app
    init_request_input(app)
    register_error_handlers(app)

    @app.get("/api/things")
    @documented("List things", tag="t", params=[LIMIT, SORT, ONLY, TAG, OWNER])
    def things():
        return jsonify(g.args)

    @app.post("/api/things/<int:thing_id>")
    @documented("Change a thing", tag="t", body=BODY, responses={200: "Changed"})
    def change(thing_id):
        from flask import request
        return jsonify(request.get_json())

    return app


def error(response, status=422):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()["error"]
    return body["code"], body["fields"]


def test_query_values_arrive_converted_to_their_declared_types(contract_app):
    answer = contract_app.test_client().get("/api/things?limit=7&sort=name&only=true&tag=vip&owner=5&other=x")
    assert answer.get_json() == {"limit": 7, "sort": "name", "only": True, "tag": "vip", "owner": "5"}


def test_a_whole_number_written_with_a_zero_fraction_is_the_integer_json_schema_says_it_is(contract_app):
    assert contract_app.test_client().get("/api/things?tag=a&limit=7.0").get_json()["limit"] == 7
    assert error(contract_app.test_client().get("/api/things?tag=a&limit=7.5")) == \
        ("invalid_request", {"limit": "A whole number."})


@pytest.mark.parametrize(("query", "fields"), [
    ("tag=a&limit=0", {"limit": "At least 1."}),
    ("tag=a&limit=101", {"limit": "At most 100."}),
    ("tag=a&limit=ten", {"limit": "A whole number."}),
    ("tag=a&limit=", {"limit": "A whole number."}),
    ("tag=a&limit=1&limit=2", {"limit": "Give it once."}),
    ("tag=a&sort=colour", {"sort": "One of: name, created."}),
    ("tag=a&only=yes", {"only": "true or false."}),
    ("tag=toolong", {"tag": "At most 5 characters."}),
    ("tag=a&owner=5%0A", {"owner": "Not in the expected form."}),  # $ ends the text, as in JSON Schema
    ("tag=a&owner=nones", {"owner": "Not in the expected form."}),
    ("", {"tag": "Required."}),
    ("limit=0&sort=x", {"limit": "At least 1.", "sort": "One of: name, created.", "tag": "Required."}),
])
def test_a_query_outside_its_declaration_is_refused_naming_each_parameter(contract_app, query, fields):
    assert error(contract_app.test_client().get(f"/api/things?{query}")) == ("invalid_request", fields)


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name": "Required."}),
    ({"name": ""}, {"name": "Required."}),
    ({"name": "x" * 11}, {"name": "At most 10 characters."}),
    ({"name": 5}, {"name": "Must be text."}),
    ({"name": "a", "colour": "red", "size": 1}, {"colour": "Unknown field.", "size": "Unknown field."}),
    ({"name": "a", "owner_id": 0}, {"owner_id": "At least 1."}),
    ({"name": "a", "owner_id": 2**31}, {"owner_id": f"At most {2**31 - 1}."}),
    ({"name": "a", "owner_id": True}, {"owner_id": "Must be a whole number or null."}),
    ({"name": "a", "tags": ["x", 2]}, {"tags[1]": "Must be text."}),
    ({"name": "a", "tags": ["x", "y", "z"]}, {"tags": "At most 2 items."}),
    ({"name": "a", "proxy": {"host": "h", "port": 0}}, {"proxy.port": "At least 1."}),
    ({"name": "a", "proxy": {"host": "h", "user": "u"}}, {"proxy.user": "Unknown field."}),
    ({"name": "a", "proxy": "socks5://h"}, {"proxy": "Must be an object or null."}),
])
def test_a_body_outside_its_schema_is_refused_naming_each_field(contract_app, body, fields):
    answer = contract_app.test_client().post("/api/things/1", json=body)
    assert error(answer) == ("invalid_request", fields)


def test_a_body_inside_its_schema_reaches_the_view_as_sent(contract_app):
    body = {"name": "a", "owner_id": None, "tags": ["x"], "proxy": {"host": "h", "port": 1080}}
    assert contract_app.test_client().post("/api/things/1", json=body).get_json() == body


def test_a_body_that_is_no_json_object_is_a_400_before_any_field_check(contract_app):
    assert error(contract_app.test_client().post("/api/things/1", data="[1]", content_type="application/json"),
                 400)[0] == "bad_request"


def test_the_document_publishes_the_schemas_it_enforces_and_the_statuses_it_answers(contract_app):
    with contract_app.app_context():
        paths = openapi_document(contract_app)["paths"]
    listing, change = paths["/api/things"]["get"], paths["/api/things/{thing_id}"]["post"]
    assert [p["name"] for p in listing["parameters"]] == ["limit", "sort", "only", "tag", "owner"]
    assert set(listing["responses"]) == {"200", "400", "401", "422", "429"}
    schema = change["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False  # strict, as enforced
    assert schema["properties"]["proxy"]["oneOf"][0]["additionalProperties"] is False
    assert set(change["responses"]) == {"200", "400", "401", "404", "413", "422", "429"}
    assert change["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    assert listing["operationId"] == "things" and change["operationId"] == "change"


def test_an_id_schema_is_what_a_database_id_column_holds():
    assert (ID["minimum"], ID["maximum"]) == (1, 2**31 - 1)


def test_a_body_missing_every_one_of_its_alternatives_says_which_to_give():
    either = validation.validator({"type": "object", "anyOf": [{"required": ["ids"]}, {"required": ["all"]}]})
    with pytest.raises(validation.InvalidRequest) as refused:
        validation.check_body(either, {})
    assert refused.value.fields == {"body": "Give ids or all."}


@pytest.mark.parametrize("limit", [7, 10, 500, 2**31 - 1])
def test_the_whole_numbers_pattern_takes_exactly_1_to_its_limit(limit):
    exact = re.compile(f"^({whole_numbers_to(limit)})$")
    for number in {1, 9, 10, 99, 100, limit - 1, limit} - {0}:
        assert (exact.match(str(number)) is not None) == (1 <= number <= limit), number
    for text in ("0", "01", str(limit + 1), "-1", "1.0", ""):
        assert exact.match(text) is None, text


RU = {"Accept-Language": "ru"}


@pytest.mark.parametrize(("query", "fields"), [
    ("tag=a&limit=0", {"limit": "Не меньше 1."}),
    ("tag=a&limit=ten", {"limit": "Целое число."}),
    ("tag=a&limit=1&limit=2", {"limit": "Укажите один раз."}),
    ("tag=a&sort=colour", {"sort": "Одно из: name, created."}),  # the values as the document writes them
    ("tag=toolong", {"tag": "Не больше 5 символов."}),
    ("", {"tag": "Обязательно."}),
])
def test_a_refused_query_is_explained_in_the_callers_language(contract_app, query, fields):
    answer = contract_app.test_client().get(f"/api/things?{query}", headers=RU)
    assert error(answer) == ("invalid_request", fields)


@pytest.mark.parametrize(("body", "fields"), [
    ({"name": 5}, {"name": "Должно быть текстом."}),
    ({"name": "a", "colour": "red"}, {"colour": "Неизвестное поле."}),
    ({"name": "a", "owner_id": True}, {"owner_id": "Должно быть целым числом или null."}),
    ({"name": "a", "tags": ["x", "y", "z"]}, {"tags": "Не больше 2 элементов."}),
    ({"name": "a", "proxy": "socks5://h"}, {"proxy": "Должно быть объектом или null."}),
])
def test_a_refused_body_is_explained_in_the_callers_language(contract_app, body, fields):
    answer = contract_app.test_client().post("/api/things/1", json=body, headers=RU)
    assert error(answer) == ("invalid_request", fields)


def test_the_summary_message_is_in_the_callers_language_too(contract_app):
    client = contract_app.test_client()
    one = client.post("/api/things/1", json={"name": 5}, headers=RU).get_json()["error"]["message"]
    many = client.post("/api/things/1", json={"name": 5, "x": 1}, headers=RU).get_json()["error"]["message"]
    assert one == "name: должно быть текстом."
    assert many == "Некоторые поля заполнены неверно: x, name."  # in the order the checks find them
    assert client.post("/api/things/1", json={"name": 5}).get_json()["error"]["message"] == "name: must be text."


@pytest.mark.parametrize(("size", "words"), [(1, "1 элемента"), (2, "2 элементов"), (5, "5 элементов"),
                                             (11, "11 элементов"), (21, "21 элемента"), (22, "22 элементов")])
def test_counts_in_field_messages_take_the_russian_form_of_their_number(contract_app, size, words):
    from flask_babel import force_locale

    at_most = validation.validator({"type": "array", "maxItems": size})
    with contract_app.app_context(), force_locale("ru"), pytest.raises(validation.InvalidRequest) as refused:
        validation.check_body(at_most, list(range(size + 1)))
    assert refused.value.fields == {"body": f"Не больше {words}."}
