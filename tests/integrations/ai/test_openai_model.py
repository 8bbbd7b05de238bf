"""The OpenAI-backed model through the real SDK against an endpoint of the tests' own: answers,
refusals, streams, and every failure mapped to an AIError of its kind (nothing of the SDK leaks)."""

from __future__ import annotations

import pytest

from app.i18n import in_words, is_said
from app.integrations.ai import AIError, Completion, Delta
from tests.integrations.ai.endpoint import STALL, Answer, chunk, completion

MESSAGES = [{"role": "system", "content": "You draft replies."}, {"role": "user", "content": "Hi!"}]


def drain(stream) -> list[Delta]:
    return list(stream)


def test_a_completion_carries_text_model_usage_and_finish_reason(endpoint):
    endpoint.answers(Answer(body=completion("Hello Anna.", model="test-model-2024")))

    answer = endpoint.model().complete(MESSAGES, max_tokens=120, temperature=0.2, user="member-7")

    assert answer == Completion(text="Hello Anna.", model="test-model-2024", prompt_tokens=12,
                                completion_tokens=3, finish_reason="stop")
    assert not answer.refused and answer.total_tokens == 15
    sent = endpoint.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer sk-test"
    assert sent["json"] == {"model": "test-model", "messages": MESSAGES, "max_tokens": 120,
                            "temperature": 0.2, "user": "member-7"}


def test_a_refusal_is_an_answer_with_the_models_reason(endpoint):
    endpoint.answers(Answer(body=completion(None, refusal="I can't help with that request.")))

    answer = endpoint.model().complete(MESSAGES, max_tokens=50)

    assert answer.refused
    assert answer.refusal == "I can't help with that request."
    assert answer.text == ""


def test_a_content_filter_stop_counts_as_refused(endpoint):
    endpoint.answers(Answer(body=completion("", finish_reason="content_filter")))

    answer = endpoint.model().complete(MESSAGES, max_tokens=50)

    assert answer.refused and answer.refusal is None and answer.finish_reason == "content_filter"


def test_an_endpoint_that_reports_no_usage_gets_an_estimate(endpoint):
    endpoint.answers(Answer(body=completion("Three words here.", usage=False)))

    answer = endpoint.model().complete(MESSAGES, max_tokens=50)

    assert answer.tokens_estimated
    assert answer.completion_tokens == 4  # three words and a full stop
    assert answer.prompt_tokens > 0


def test_a_stream_yields_its_pieces_then_the_whole_answer_with_usage(endpoint):
    endpoint.answers(Answer(events=[
        chunk("", role=True), chunk("Hello "), chunk("Anna, "), chunk("see you."),
        chunk(finish_reason="stop"), chunk(usage={"prompt_tokens": 20, "completion_tokens": 5,
                                                  "total_tokens": 25}), "[DONE]"]))

    deltas = drain(endpoint.model().stream(MESSAGES, max_tokens=50))

    assert [d.text for d in deltas[:-1]] == ["Hello ", "Anna, ", "see you."]
    assert deltas[-1].text == "" and deltas[-1].completion == Completion(
        text="Hello Anna, see you.", model="test-model", prompt_tokens=20, completion_tokens=5,
        finish_reason="stop")
    assert endpoint.requests[0]["json"]["stream"] is True
    assert endpoint.requests[0]["json"]["stream_options"] == {"include_usage": True}


def test_a_streamed_refusal_arrives_as_refusal_pieces(endpoint):
    endpoint.answers(Answer(events=[
        chunk(role=True, refusal=""), chunk(refusal="I can't "), chunk(refusal="write that."),
        chunk(finish_reason="stop"), "[DONE]"]))

    deltas = drain(endpoint.model().stream(MESSAGES, max_tokens=50))

    assert "".join(d.refusal for d in deltas) == "I can't write that."
    whole = deltas[-1].completion
    assert whole.refused and whole.refusal == "I can't write that." and whole.text == ""
    assert whole.tokens_estimated  # this endpoint sent no usage chunk


def test_rate_limited_after_the_configured_retries(endpoint):
    endpoint.answers(Answer(429, {"error": {"message": "Rate limit reached", "type": "requests",
                                            "code": "rate_limit_exceeded"}},
                            headers={"retry-after-ms": "1"}))

    with pytest.raises(AIError) as raised:
        endpoint.model(max_retries=2).complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "rate_limited" and raised.value.transient
    assert raised.value.status == 429 and raised.value.retry_after == 0.001
    assert len(endpoint.requests) == 3  # the first attempt and two retries


def test_a_retry_that_succeeds_is_an_answer(endpoint):
    endpoint.answers(Answer(429, {"error": {"message": "slow down"}}, headers={"retry-after-ms": "1"}),
                     Answer(body=completion("Second time lucky.")))

    answer = endpoint.model(max_retries=2).complete(MESSAGES, max_tokens=50)

    assert answer.text == "Second time lucky." and len(endpoint.requests) == 2


def test_a_used_up_quota_is_rate_limited_with_its_own_message(endpoint):
    endpoint.answers(Answer(429, {"error": {"message": "You exceeded your current quota",
                                            "type": "insufficient_quota", "code": "insufficient_quota"}}))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "rate_limited"
    assert "quota" in in_words(raised.value.message)


def test_a_server_error_is_unavailable_after_the_retries(endpoint):
    endpoint.answers(Answer(500, {"error": {"message": "The server had an error"}},
                            headers={"retry-after-ms": "1"}))

    with pytest.raises(AIError) as raised:
        endpoint.model(max_retries=1).complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "unavailable" and raised.value.status == 500
    assert len(endpoint.requests) == 2


def test_a_rejected_key_is_auth_and_is_not_retried(endpoint):
    endpoint.answers(Answer(401, {"error": {"message": "Incorrect API key provided",
                                            "code": "invalid_api_key"}}))

    with pytest.raises(AIError) as raised:
        endpoint.model(max_retries=2).complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "auth" and not raised.value.transient
    assert len(endpoint.requests) == 1
    assert "OPENAI_API_KEY" in in_words(raised.value.message)
    assert "Incorrect API key" in raised.value.detail


def test_a_forbidden_model_is_auth(endpoint):
    endpoint.answers(Answer(403, {"error": {"message": "not allowed"}}))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "auth" and "test-model" in in_words(raised.value.message)


def test_an_unknown_model_is_a_bad_request_naming_it(endpoint):
    endpoint.answers(Answer(404, {"error": {"message": "The model `test-model` does not exist",
                                            "code": "model_not_found"}}))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "bad_request"
    assert in_words(raised.value.message) == "The AI endpoint has no model named test-model. Check AI_MODEL."


def test_a_bad_request_says_the_endpoints_reason(endpoint):
    endpoint.answers(Answer(400, {"error": {"message": "max_tokens is too large", "type": "invalid_request_error",
                                            "param": "max_tokens", "code": None}}))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=10 ** 7)

    assert raised.value.kind == "bad_request" and raised.value.status == 400
    assert in_words(raised.value.message) == "The AI endpoint refused the request: max_tokens is too large"


def test_a_content_filter_rejection_is_refused(endpoint):
    endpoint.answers(Answer(400, {"error": {"message": "The prompt was filtered", "code": "content_filter"}}))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "refused"


def test_an_endpoint_that_does_not_answer_in_time_is_a_timeout(endpoint):
    endpoint.answers(Answer(hang=True))

    with pytest.raises(AIError) as raised:
        endpoint.model(timeout=0.3).complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "timeout" and raised.value.transient
    assert len(endpoint.requests) == 1  # max_retries=0: one attempt


def test_a_call_may_set_its_own_timeout(endpoint):
    endpoint.answers(Answer(hang=True))

    with pytest.raises(AIError) as raised:
        drain(endpoint.model(timeout=30).stream(MESSAGES, max_tokens=50, timeout=0.3))

    assert raised.value.kind == "timeout"


def test_a_stream_that_stalls_after_its_first_pieces_is_a_timeout(endpoint):
    endpoint.answers(Answer(events=[chunk("Hello ", role=True), STALL]))
    pieces = []

    with pytest.raises(AIError) as raised:
        for delta in endpoint.model(timeout=0.3, max_retries=2).stream(MESSAGES, max_tokens=50):
            pieces.append(delta.text)

    assert raised.value.kind == "timeout" and pieces == ["Hello "]
    assert len(endpoint.requests) == 1  # a stream under way is not retried


def test_a_timeout_is_retried_as_configured(endpoint):
    endpoint.answers(Answer(hang=True), Answer(body=completion("Made it.")))

    answer = endpoint.model(timeout=0.3, max_retries=1).complete(MESSAGES, max_tokens=50)

    assert answer.text == "Made it." and len(endpoint.requests) == 2


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"choices": "nope"}', b'{"choices": []}'])
def test_malformed_json_is_unavailable(endpoint, body):
    endpoint.answers(Answer(body=body))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "unavailable"
    assert "OPENAI_BASE_URL" in in_words(raised.value.message)


def test_a_malformed_chunk_in_a_stream_is_unavailable(endpoint):
    endpoint.answers(Answer(events=[chunk("Hel", role=True), "{broken", "[DONE]"]))
    pieces = []

    with pytest.raises(AIError) as raised:
        for delta in endpoint.model().stream(MESSAGES, max_tokens=50):
            pieces.append(delta.text)

    assert raised.value.kind == "unavailable" and pieces == ["Hel"]


def test_an_error_event_inside_a_stream_is_unavailable(endpoint):
    endpoint.answers(Answer(events=[chunk("Hel", role=True), {"error": {"message": "overloaded"}}]))

    with pytest.raises(AIError) as raised:
        drain(endpoint.model().stream(MESSAGES, max_tokens=50))

    assert raised.value.kind == "unavailable" and "overloaded" in raised.value.detail


def test_a_stream_refused_before_it_starts_maps_like_a_completion(endpoint):
    endpoint.answers(Answer(401, {"error": {"message": "bad key"}}))

    with pytest.raises(AIError) as raised:
        drain(endpoint.model().stream(MESSAGES, max_tokens=50))

    assert raised.value.kind == "auth"


def test_an_endpoint_nobody_listens_on_is_unavailable(endpoint):
    url = endpoint.base_url
    endpoint.stop()
    model = endpoint.model(base_url=url)

    with pytest.raises(AIError) as raised:
        model.complete(MESSAGES, max_tokens=50)

    assert raised.value.kind == "unavailable" and raised.value.status is None


def test_the_message_waits_for_its_reader_and_the_log_line_is_english(endpoint):
    endpoint.answers(Answer(401, {"error": {"message": "bad key"}}))

    with pytest.raises(AIError) as raised:
        endpoint.model().complete(MESSAGES, max_tokens=50)

    assert is_said(raised.value.message)
    assert str(raised.value) == ("auth: The AI endpoint did not accept the key. Check OPENAI_API_KEY. "
                                 f"({raised.value.detail})")


def test_models_lists_what_the_endpoint_offers(endpoint):
    endpoint.answers(Answer(body={"object": "list", "data": [
        {"id": "test-model", "object": "model", "created": 1, "owned_by": "tests"},
        {"id": "other", "object": "model", "created": 1, "owned_by": "tests"}]}))

    assert endpoint.model().models() == ["test-model", "other"]
    assert endpoint.requests[0]["method"] == "GET" and endpoint.requests[0]["path"] == "/v1/models"
