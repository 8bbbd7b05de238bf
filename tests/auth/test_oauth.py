"""Google (OpenID Connect) and GitHub sign-in through Authlib, against providers of the tests' own:
local HTTP servers that Authlib talks to over HTTP, one issuing RS256 ID tokens from a JWK set."""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.blueprints.auth.models import OAuthIdentity, User
from app.blueprints.auth.oauth_routes import init_oauth
from app.blueprints.team.models import Membership
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import PASSWORD, give_totp, make_member, make_user

CLIENT_ID, CLIENT_SECRET = "relay-test-client", "relay-test-secret"


class Provider:
    """A local OAuth provider: ``issue_code(...)`` stands for the person approving at /authorize
    (the test handles that page), then /token, /jwks, /userinfo (OIDC) or /user, /user/emails
    (GitHub) answer as the real ones do."""

    def __init__(self) -> None:
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_key = self.key  # a test may sign with another key
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def issue_code(self, answer: dict) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = answer
        return code

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def id_token(self, claims: dict) -> str:
        now = int(time.time())
        return jwt.encode({"iss": self.base, "aud": CLIENT_ID, "iat": now, "exp": now + 300, **claims},
                          self.signing_key, algorithm="RS256", headers={"kid": "test-key"})

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _bearer(self) -> dict | None:
                scheme, _, token = self.headers.get("Authorization", "").partition(" ")
                return provider.tokens.get(token) if scheme.lower() in ("bearer", "token") else None

            def do_GET(self):
                path = urlsplit(self.path).path
                if path == "/.well-known/openid-configuration":
                    return self._json({
                        "issuer": provider.base, "authorization_endpoint": f"{provider.base}/authorize",
                        "token_endpoint": f"{provider.base}/token", "jwks_uri": f"{provider.base}/jwks",
                        "userinfo_endpoint": f"{provider.base}/userinfo", "response_types_supported": ["code"],
                        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]})
                if path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    return self._json({"keys": [{**jwk, "kid": "test-key", "alg": "RS256", "use": "sig"}]})
                answer = self._bearer()
                if answer is None:
                    return self._json({"message": "Bad credentials"}, 401)
                if path == "/userinfo":
                    return self._json(answer["claims"])
                if path == "/user":
                    return self._json(answer["user"])
                if path == "/user/emails":
                    return self._json(answer["emails"])
                return self._json({"error": "not found"}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                answer = provider.codes.pop(form.get("code", ""), None)
                if answer is None:
                    return self._json({"error": "invalid_grant"}, 400)
                access = secrets.token_urlsafe(12)
                provider.tokens[access] = answer
                body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
                if "claims" in answer:
                    body["id_token"] = provider.id_token(answer["claims"])
                return self._json(body)

        return Handler


@pytest.fixture
def providers(app, settings):
    """Google and GitHub configured, each pointing at a local provider; unconfigured afterwards."""
    google, github = Provider(), Provider()
    configured = dataclasses.replace(
        settings, google_client_id=CLIENT_ID, google_client_secret=CLIENT_SECRET,
        google_metadata_url=f"{google.base}/.well-known/openid-configuration",
        github_client_id=CLIENT_ID, github_client_secret=CLIENT_SECRET, github_oauth_url=github.base,
        github_api_url=github.base)
    app.config["SETTINGS"] = configured
    init_oauth(app, configured)
    yield {"google": google, "github": github}
    app.config["SETTINGS"] = settings
    init_oauth(app, settings)
    google.stop()
    github.stop()


def start(client, provider: str, path: str | None = None, **kwargs) -> dict:
    """Begin a sign-in (or, with ``path``, a link); the provider's /authorize query."""
    response = client.post(path, **kwargs) if path else client.get(f"/auth/oauth/{provider}", **kwargs)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/authorize" in response.location
    return {k: v[0] for k, v in parse_qs(urlsplit(response.location).query).items()}


def google_sign_in(client, google, *, sub="g-100", email="ann@example.com", verified=True, name="Ann Lee",
                   next_url=None):
    asked = start(client, "google", query_string={"next": next_url} if next_url else None)
    assert asked["client_id"] == CLIENT_ID and "openid" in asked["scope"]
    code = google.issue_code({"claims": {"sub": sub, "email": email, "email_verified": verified, "name": name,
                                         "nonce": asked["nonce"]}})
    return client.get("/auth/oauth/google/callback", query_string={"code": code, "state": asked["state"]})


def github_answer(*, id=42, login="octo", email="octo@example.com", verified=True, primary=True):
    return {"user": {"id": id, "login": login, "name": "Octo Cat"},
            "emails": [{"email": "old@example.com", "primary": False, "verified": True},
                       {"email": email, "primary": primary, "verified": verified}]}


def github_sign_in(client, github, **answer):
    asked = start(client, "github")
    code = github.issue_code(github_answer(**answer))
    return client.get("/auth/oauth/github/callback", query_string={"code": code, "state": asked["state"]})


def signed_in_user(client) -> int | None:
    with client.session_transaction() as session:
        token = session.get("_user_id")
    return int(token.split(":")[0]) if token else None


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


# -- shown only when configured ----------------------------------------------------------------------

def test_unconfigured_providers_are_not_offered_nor_reachable(client):
    page = client.get("/auth/signin").get_data(as_text=True)
    assert "Continue with" not in page and 'id="sign-in-providers"' not in page
    for path in ("/auth/oauth/google", "/auth/oauth/github/callback?code=x&state=y"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/auth/signin")


def test_configured_providers_are_offered_on_the_sign_in_page(client, providers):
    page = client.get("/auth/signin").get_data(as_text=True)
    assert "Continue with Google" in page and "Continue with GitHub" in page
    assert "Continue with Telegram" not in page


# -- Google (OpenID Connect) ----------------------------------------------------------------------------

def test_a_verified_google_address_nobody_has_makes_an_account_with_its_organization(client, providers):
    response = google_sign_in(client, providers["google"], next_url="/pipeline/")
    assert response.status_code == 302 and response.location.endswith("/pipeline/")
    user = db.session.scalar(select(User).where(User.email == "ann@example.com"))
    assert user.email_verified_at is not None and user.name == "Ann Lee"
    assert user.password_hash.startswith("!")  # no password: signs in with Google only
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership.role == "owner" and membership.organization.name == "Ann Lee's team"
    identity = db.session.scalar(select(OAuthIdentity))
    assert (identity.provider, identity.subject, identity.user_id) == ("google", "g-100", user.id)
    assert signed_in_user(client) == user.id and client.get("/home").status_code == 200
    signed_up = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.sign_up"))
    assert signed_up.detail == {"method": "google"}


def test_a_verified_address_links_to_its_existing_user_and_then_the_identity_signs_in(app, client, providers):
    member = make_member()
    member.user.email_verified_at = None  # never proven: whoever set the password may not own it
    db.session.commit()
    response = google_sign_in(client, providers["google"], email=member.user.email.upper())
    assert response.status_code == 302
    assert signed_in_user(client) == member.user_id and users() == 1
    db.session.expire_all()
    user = db.session.get(User, member.user_id)
    assert user.email_verified_at is not None and user.password_hash.startswith("!")
    assert [a for (a,) in db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id))] == [
        "auth.identity_linked", "auth.sign_in"]
    # The identity, not the address, signs in from now on: the address there may change.
    other = app.test_client()
    google_sign_in(other, providers["google"], email="renamed@example.com")
    assert signed_in_user(other) == member.user_id and users() == 1


def test_an_unverified_google_address_links_to_nobody_and_creates_nobody(client, providers):
    member = make_member()
    response = google_sign_in(client, providers["google"], email=member.user.email, verified=False)
    assert response.status_code == 302 and response.location.endswith("/auth/signin")
    assert signed_in_user(client) is None
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0
    assert "has not confirmed that this email address is yours" in client.get("/auth/signin").get_data(as_text=True)
    google_sign_in(client, providers["google"], email="nobody@example.com", verified=False)
    assert users() == 1


def test_an_id_token_not_signed_by_the_providers_keys_is_refused(client, providers):
    google = providers["google"]
    google.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = google_sign_in(client, google)
    assert response.status_code == 302 and response.location.endswith("/auth/signin")
    assert users() == 0 and signed_in_user(client) is None


def test_a_callback_for_a_sign_in_this_browser_did_not_start_is_refused(app, client, providers):
    asked = start(app.test_client(), "google")  # another browser started it
    code = providers["google"].issue_code({"claims": {"sub": "g-1", "email": "eve@example.com",
                                                      "email_verified": True, "nonce": asked["nonce"]}})
    response = client.get("/auth/oauth/google/callback", query_string={"code": code, "state": asked["state"]})
    assert response.status_code == 302 and response.location.endswith("/auth/signin")
    assert users() == 0


def test_a_google_sign_in_of_a_user_with_mfa_asks_for_the_code(client, providers):
    member = make_member()
    give_totp(member.user)
    response = google_sign_in(client, providers["google"], email=member.user.email)
    assert response.location.endswith("/auth/mfa")
    assert signed_in_user(client) is None and client.get("/home").status_code == 302


# -- GitHub ------------------------------------------------------------------------------------------

def test_github_links_by_the_primary_verified_address(client, providers):
    user = make_user(email="octo@example.com")
    make_member()  # someone else, to be sure the right one signs in
    response = github_sign_in(client, providers["github"])
    assert response.status_code == 302
    assert signed_in_user(client) == user.id
    identity = db.session.scalar(select(OAuthIdentity))
    assert (identity.provider, identity.subject, identity.display_name) == ("github", "42", "@octo")


def test_an_unverified_primary_github_address_signs_nobody_in(client, providers):
    make_user(email="octo@example.com")
    response = github_sign_in(client, providers["github"], verified=False)
    assert response.location.endswith("/auth/signin") and signed_in_user(client) is None
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0


# -- linking and unlinking on the profile page -------------------------------------------------------

def test_linking_github_from_the_profile_page(client, providers):
    member = make_member()
    sign_in_as(client, member)
    token = csrf_token(client, "/settings/profile")
    asked = start(client, "github", path="/settings/profile/link/github", data={"csrf_token": token})
    code = providers["github"].issue_code(github_answer(email="different@example.com", verified=False))
    response = client.get("/auth/oauth/github/callback", query_string={"code": code, "state": asked["state"]})
    assert response.status_code == 302 and response.location.endswith("/settings/profile")
    identity = db.session.scalar(select(OAuthIdentity))
    assert identity.user_id == member.user_id  # signed in: the person controls both accounts
    page = client.get("/settings/profile").get_data(as_text=True)
    assert "Linked: @octo" in page and "/settings/profile/unlink/github" in page


def test_an_identity_linked_to_someone_else_is_not_linked_again(client, providers):
    first, second = make_member(), make_member()
    db.session.add(OAuthIdentity(user_id=first.user_id, provider="github", subject="42"))
    db.session.commit()
    sign_in_as(client, second)
    token = csrf_token(client, "/settings/profile")
    asked = start(client, "github", path="/settings/profile/link/github", data={"csrf_token": token})
    code = providers["github"].issue_code(github_answer())
    client.get("/auth/oauth/github/callback", query_string={"code": code, "state": asked["state"]})
    rows = db.session.execute(select(OAuthIdentity.user_id, OAuthIdentity.subject)).all()
    assert rows == [(first.user_id, "42")]


def test_the_last_way_to_sign_in_cannot_be_unlinked(client, providers):
    google_sign_in(client, providers["google"])  # a new account: Google is its only way in
    token = csrf_token(client, "/settings/profile")
    response = client.post("/settings/profile/unlink/google", data={"csrf_token": token})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 1
    assert "/settings/profile/unlink/google" not in client.get("/settings/profile").get_data(as_text=True)


def test_with_a_password_an_identity_can_be_unlinked(client, providers):
    member = make_member()
    db.session.add(OAuthIdentity(user_id=member.user_id, provider="google", subject="g-9"))
    db.session.commit()
    sign_in_as(client, member)
    token = csrf_token(client, "/settings/profile")
    assert client.post("/settings/profile/unlink/google", data={"csrf_token": token}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0
    unlinked = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.identity_unlinked"))
    assert unlinked.detail == {"provider": "google"}
    assert client.post("/auth/signin", data={"csrf_token": token, "email": member.user.email,
                                             "password": PASSWORD}).status_code == 302
