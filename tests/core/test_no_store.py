"""Nothing with a person's data or a secret in it may be kept by a browser or proxy cache."""

from tests.conftest import bearer
from tests.factories import PASSWORD, make_member


def test_token_responses_are_never_stored(client):
    member = make_member()
    response = client.post("/api/auth/signin", json={"email": member.user.email, "password": PASSWORD})
    assert response.status_code == 200 and "access_token" in response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": response.get_json()["refresh_token"]})
    assert refreshed.headers["Cache-Control"] == "no-store"


def test_signed_in_pages_fragments_and_api_answers_are_never_stored(owner_client, owner):
    for path, headers in (("/home", {}), ("/contacts", {"HX-Request": "true"}), ("/auth/sessions", {}),
                          ("/api/crm/contacts", bearer(owner))):
        response = owner_client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_the_sign_in_page_with_its_csrf_token_is_not_stored(client):
    assert client.get("/auth/signin").headers["Cache-Control"] == "no-store"


def test_static_files_keep_their_own_caching(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    response.close()
