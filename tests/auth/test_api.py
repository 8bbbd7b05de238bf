"""/api/auth: sign-up, sign-in, refresh, verify and sign-out; bodies outside the document refused
on their field with nothing created, and every status a route can answer."""

import jwt
import pytest
from sqlalchemy import func, select

from app.blueprints.auth.models import RefreshToken, User
from app.extensions import db
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, add_member, make_member
from tests.mailing import mails, work_mail

SIGN_UP = {"email": "api@example.com", "password": "a long enough secret", "name": "Api User",
           "organization": "Api Org"}


def sign_in(client, email, password=PASSWORD):
    return client.post("/api/auth/signin", json={"email": email, "password": password})


def api_sign_up(client, body=None):
    """Sign up through the API and let the job make the account; returns the tokens of a sign-in."""
    response = client.post("/api/auth/signup", json=body or SIGN_UP)
    assert response.status_code == 202, response.get_json()
    work_mail()
    signed_in = sign_in(client, (body or SIGN_UP)["email"], (body or SIGN_UP)["password"])
    assert signed_in.status_code == 200, signed_in.get_json()
    return signed_in.get_json()


def test_sign_up_is_accepted_and_the_new_owner_signs_in(client):
    response = client.post("/api/auth/signup", json=SIGN_UP)
    assert response.status_code == 202 and response.get_json()["status"] == "accepted"
    work_mail()
    body = sign_in(client, SIGN_UP["email"], SIGN_UP["password"]).get_json()
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 15 * 60
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert verify.get_json()["role"] == "owner"
    assert verify.get_json()["organization"]["name"] == "Api Org"
    [mail] = mails(to=SIGN_UP["email"])
    assert mail.template == "auth.verify_email"


def test_sign_up_errors_use_the_envelope_with_fields(client):
    response = client.post("/api/auth/signup", json={**SIGN_UP, "email": "nope"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and error["fields"] == {"email": "An email address."}


def test_a_second_sign_up_with_the_address_is_answered_alike_and_mails_its_owner(client):
    first = client.post("/api/auth/signup", json=SIGN_UP)
    work_mail()
    second = client.post("/api/auth/signup", json={**SIGN_UP, "password": "another long secret"})
    assert first.status_code == second.status_code == 202 and first.get_json() == second.get_json()
    work_mail()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert [m.template for m in mails(to=SIGN_UP["email"])] == ["auth.verify_email", "auth.already_registered"]
    assert sign_in(client, SIGN_UP["email"], "another long secret").status_code == 401


def test_a_body_that_is_not_json_is_400(client):
    response = client.post("/api/auth/signin", data="email=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_wrong_credentials_are_401_with_a_generic_message(client):
    member = make_member()
    response = sign_in(client, member.user.email, "wrong")
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "Email or password is incorrect."


def test_lockout_answers_429(client):
    member = make_member()
    statuses = [sign_in(client, member.user.email, "wrong").status_code for _ in range(5)]
    assert statuses[-1] == 429 and statuses[:4] == [401] * 4


def test_verify_without_or_with_a_bad_token_is_401(client):
    assert client.get("/api/auth/verify").status_code == 401
    bad = client.get("/api/auth/verify", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "unauthorized"


def test_a_refresh_token_is_not_accepted_as_an_access_token(client):
    member = make_member()
    tokens = sign_in(client, member.user.email).get_json()
    response = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert response.status_code == 401


def test_refresh_rotates_and_reusing_a_spent_token_revokes_the_family(client):
    member = make_member()
    first = sign_in(client, member.user.email).get_json()
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]

    reuse = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and "already used" in reuse.get_json()["error"]["message"]
    # The legitimate holder of the newest token is signed out too: the family is burned.
    after = client.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    assert all(t.revoked_at is not None for t in db.session.scalars(select(RefreshToken)))


def test_sign_out_revokes_the_family(client):
    member = make_member()
    tokens = sign_in(client, member.user.email).get_json()
    assert client.post("/api/auth/signout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    again = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_expired_access_token_is_401(client):
    member = make_member()
    token = jwt.encode({"sub": str(member.user_id), "org": member.org_id, "typ": "access", "jti": "x",
                        "exp": 1}, TEST_SECRET, algorithm="HS256")
    response = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and "expired" in response.get_json()["error"]["message"]


def test_a_token_of_a_removed_member_stops_working(client):
    member = make_member()
    tokens = sign_in(client, member.user.email).get_json()
    db.session.delete(member)
    db.session.commit()
    response = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 401


def test_sign_in_is_rate_limited_per_ip(client):
    statuses = [sign_in(client, f"u{i}@example.com", "wrong").status_code for i in range(32)]
    assert 429 in statuses
    limited = sign_in(client, "late@example.com", "wrong")
    assert limited.get_json()["error"]["code"] == "rate_limited"


def test_refresh_is_rate_limited_per_sign_in(client):
    member = make_member()
    tokens = sign_in(client, member.user.email).get_json()
    statuses = []
    for _ in range(12):
        response = client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        statuses.append(response.status_code)
        if response.status_code == 200:
            tokens = response.get_json()
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_sign_up_is_rate_limited_per_email(client):
    statuses = [client.post("/api/auth/signup", json={**SIGN_UP, "password": "short"}).status_code
                for _ in range(6)]
    assert statuses == [422] * 5 + [429]


@pytest.mark.parametrize(("body", "field"), [
    ({**SIGN_UP, "password": "too short"}, "password"),
    ({**SIGN_UP, "password": "x" * 1025}, "password"),
    ({**SIGN_UP, "name": ""}, "name"),
    ({**SIGN_UP, "name": "x" * 121}, "name"),
    ({**SIGN_UP, "organization": "x" * 121}, "organization"),
    ({**SIGN_UP, "email": ["api@example.com"]}, "email"),
    ({k: v for k, v in SIGN_UP.items() if k != "email"}, "email"),
    ({**SIGN_UP, "role": "owner"}, "role"),
])
def test_a_sign_up_outside_the_document_names_its_field_and_creates_no_one(client, body, field):
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == {field}
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_long_name_without_a_team_name_still_signs_up(client):
    name = "N" * 120  # "<name>'s team" would be longer than an organization's name may be
    token = api_sign_up(client, {**SIGN_UP, "name": name, "organization": "  "})["access_token"]
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert verify["organization"]["name"] == name and verify["user"]["name"] == name
    short = api_sign_up(client, {**SIGN_UP, "email": "ann@example.com", "name": "Ann",
                                 "organization": " "})["access_token"]
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {short}"}).get_json()
    assert verify["organization"]["name"] == "Ann's team"


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "a@example.com"}, "password"),
    ({"email": "", "password": "whatever"}, "email"),
    ({"email": "a@example.com", "password": 12345}, "password"),
    ({"email": "a@example.com", "password": "whatever", "organization_id": "1"}, "organization_id"),
    ({"email": "a@example.com", "password": "whatever", "organization_id": 0}, "organization_id"),
])
def test_a_sign_in_outside_the_document_is_no_failed_attempt(client, body, field):
    member = make_member()
    body = {**body, "email": member.user.email} if body["email"] else body
    for _ in range(6):  # more than the lockout allows, had they counted
        response = client.post("/api/auth/signin", json=body)
        assert response.status_code == 422
        assert set(response.get_json()["error"]["fields"]) == {field}
    assert sign_in(client, member.user.email).status_code == 200


def test_sign_in_takes_the_organization_to_act_in(client):
    member = make_member()
    other = make_member(org=None)
    second = add_member(other.organization, user=member.user)
    tokens = client.post("/api/auth/signin", json={"email": member.user.email, "password": PASSWORD,
                                                   "organization_id": second.org_id}).get_json()
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert verify.get_json()["organization"]["id"] == second.org_id


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/signout"])
def test_a_refresh_token_that_is_not_text_is_refused_on_its_field(client, path):
    response = client.post(path, json={"refresh_token": 5})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"refresh_token": "Must be text."}
    assert client.post(path, json={"refresh_token": "not.a.jwt"}).status_code == 401


def test_the_document_states_each_status_of_the_public_routes(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    statuses = {path: set(paths[path]["post"]["responses"]) for path in
                ("/api/auth/signup", "/api/auth/signin", "/api/auth/refresh", "/api/auth/signout")}
    assert statuses["/api/auth/signup"] == {"202", "400", "413", "422", "429"}
    assert statuses["/api/auth/signin"] == {"200", "400", "401", "413", "422", "429"}
    assert statuses["/api/auth/refresh"] == {"200", "400", "401", "413", "422", "429"}
    assert statuses["/api/auth/signout"] == {"204", "400", "401", "413", "422", "429"}
    signup = paths["/api/auth/signup"]["post"]
    password = signup["requestBody"]["content"]["application/json"]["schema"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (10, 1024)
