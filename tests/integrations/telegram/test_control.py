"""Web-to-telegram control calls over Redis: a wait longer than the client's socket timeout."""

import threading
import time

import pytest
import redis

from app.integrations.telegram import control


@pytest.fixture
def impatient_redis(redis_url):
    """A client whose socket gives up after 0.3 s, as redis-py's default (5 s) does later."""
    client = redis.Redis.from_url(redis_url, socket_timeout=0.3)
    yield client
    client.close()


def test_a_reply_slower_than_the_socket_timeout_still_arrives(impatient_redis):
    def telegram_process():
        request = control.next_request(impatient_redis, "w1", timeout=0.2)
        while request is None:
            request = control.next_request(impatient_redis, "w1", timeout=0.2)
        time.sleep(0.8)  # longer than the socket timeout
        control.answer(impatient_redis, request, {"pong": True})

    worker = threading.Thread(target=telegram_process)
    worker.start()
    assert control.call(impatient_redis, "ping", timeout=3) == {"pong": True}
    worker.join()


def test_no_process_answering_is_unavailable_not_a_socket_error(impatient_redis):
    with pytest.raises(control.Unavailable):
        control.call(impatient_redis, "ping", timeout=1)


def test_a_request_no_process_takes_is_withdrawn_and_answered_unavailable_soon(impatient_redis, monkeypatch):
    monkeypatch.setattr(control, "PICKUP_SECONDS", 0.5)
    with pytest.raises(control.Unavailable):
        control.call(impatient_redis, "ping", timeout=20)
    # Withdrawn at the pickup time (a wait to the deadline would leave it queued), so no process
    # that starts later runs a request its caller was told had failed.
    assert impatient_redis.llen(control.request_list(control.ANY)) == 0
