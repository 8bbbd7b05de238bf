from tests.conftest import sign_in_as
from tests.factories import make_member


def test_each_test_request_starts_with_fresh_request_globals(client):
    member = make_member()
    sign_in_as(client, member)
    assert client.get("/home").status_code == 200
    with client.session_transaction() as session:
        session.clear()
    assert client.get("/home").status_code == 302  # no signed-in user left over from the last request
