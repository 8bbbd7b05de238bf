"""Tests run in order here: the second proves nothing of the first survived."""

from sqlalchemy import func, select

from app.blueprints.auth.models import User
from app.extensions import db, redis_store
from tests.factories import make_user


def test_a_test_may_write_rows_and_redis_keys():
    make_user(email="leftover@example.com")
    redis_store.client.set("leftover", "1")
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_the_next_test_starts_from_an_empty_database_and_redis():
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert redis_store.client.get("leftover") is None


def test_ids_restart_or_at_least_do_not_collide_with_deleted_rows():
    user = make_user(email="fresh@example.com")
    assert db.session.get(User, user.id).email == "fresh@example.com"
