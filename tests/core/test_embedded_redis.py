"""The embedded Redis of `make run`: stopped when its processes stop, unless something still uses it."""

import redis

from app.embedded_redis import _alive, ensure_embedded_redis, stop_if_unused


def test_it_is_stopped_once_nothing_else_is_connected(tmp_path):
    url = ensure_embedded_redis(tmp_path)
    still_working = redis.Redis.from_url(url)
    still_working.ping()  # another process of the checkout (a second make run, a shell)

    assert stop_if_unused(tmp_path) is False
    assert _alive(url)

    still_working.close()
    assert stop_if_unused(tmp_path) is True
    assert not _alive(url)
    assert stop_if_unused(tmp_path) is False  # nothing left to stop
