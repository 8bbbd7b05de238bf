import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.blueprints.auth import lockout, service
from app.blueprints.auth.passwords import hash_password, verify_password
from app.errors import Conflict, DomainError, TooManyAttempts, Unauthorized
from app.extensions import db
from tests.factories import PASSWORD, make_user


def actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_sign_up_creates_user_organization_and_owner_membership():
    result = service.sign_up(email="  Ada@Example.COM ", password="a long enough secret",
                             name="Ada Lovelace", organization_name="Engines Ltd")
    db.session.commit()
    assert result.user.email == "ada@example.com"
    assert result.membership.role == "owner"
    assert result.membership.organization.name == "Engines Ltd"
    assert actions() == ["org.created", "auth.sign_up"]


def test_passwords_are_hashed_with_argon2id_owasp_parameters():
    hashed = hash_password("a long enough secret")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password(hashed, "a long enough secret")
    assert not verify_password(hashed, "another secret")


@pytest.mark.parametrize("email,password,field", [
    ("not-an-email", "a long enough secret", "email"),
    ("ok@example.com", "short", "password"),
    ("ok@example.com", "ok@example.com", "password"),
])
def test_sign_up_rejects_bad_fields_with_field_messages(email, password, field):
    with pytest.raises(DomainError) as err:
        service.sign_up(email=email, password=password, name="X", organization_name="Y")
    assert field in err.value.fields


def test_sign_up_refuses_an_email_already_registered_in_any_case():
    make_user(email="taken@example.com")
    with pytest.raises(Conflict):
        service.sign_up(email="TAKEN@example.com", password="a long enough secret", name="X",
                        organization_name="Y")


def test_authenticate_accepts_the_right_password_case_insensitively_on_email():
    user = make_user(email="bob@example.com")
    assert service.authenticate(email="Bob@Example.com", password=PASSWORD) == user
    assert "auth.sign_in" in actions()


def test_wrong_password_and_unknown_email_get_the_same_message():
    make_user(email="bob@example.com")
    with pytest.raises(Unauthorized) as wrong:
        service.authenticate(email="bob@example.com", password="nope")
    with pytest.raises(Unauthorized) as unknown:
        service.authenticate(email="nobody@example.com", password="nope")
    assert wrong.value.message == unknown.value.message == service.BAD_CREDENTIALS
    assert actions() == ["auth.sign_in_failed", "auth.sign_in_failed"]


def test_five_failures_in_fifteen_minutes_lock_the_account_even_for_the_right_password():
    make_user(email="bob@example.com")
    for _ in range(lockout.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            service.authenticate(email="bob@example.com", password="wrong")
    with pytest.raises(TooManyAttempts) as locked:
        service.authenticate(email="bob@example.com", password="wrong")
    assert "locked for 15" in locked.value.message
    with pytest.raises(TooManyAttempts):
        service.authenticate(email="bob@example.com", password=PASSWORD)
    assert actions().count("auth.locked_out") == 1


def test_unknown_emails_lock_out_the_same_way_so_lockout_reveals_nothing():
    for _ in range(lockout.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            service.authenticate(email="ghost@example.com", password="wrong")
    with pytest.raises(TooManyAttempts):
        service.authenticate(email="ghost@example.com", password="wrong")


def test_a_success_clears_earlier_failures():
    make_user(email="bob@example.com")
    for _ in range(lockout.MAX_FAILURES - 1):
        with pytest.raises(Unauthorized):
            service.authenticate(email="bob@example.com", password="wrong")
    service.authenticate(email="bob@example.com", password=PASSWORD)
    with pytest.raises(Unauthorized):
        service.authenticate(email="bob@example.com", password="wrong")


def test_failed_sign_ins_to_a_member_account_show_in_its_organizations_audit_log():
    from tests.factories import make_member

    member = make_member()
    with pytest.raises(Unauthorized):
        service.authenticate(email=member.user.email, password="wrong")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed"))
    assert event.org_id == member.org_id and event.actor_id == member.user_id
