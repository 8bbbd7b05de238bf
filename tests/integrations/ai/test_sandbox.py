"""The sandbox model through the real OpenAI SDK against the endpoint this process serves: drafts in
the prospect's language from the CRM context, streamed pieces that join to the whole, usage."""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.request

import pytest

from app.config import Settings
from app.integrations.ai import AIError, OpenAIChatModel, configured, model_for, rough_tokens, sandbox
from tests.integrations.ai.endpoint import Answer, completion

CONTEXT = """You write short replies for a sales team, for a person to approve.
Task: reply
Contact: Anna Smirnova
Company: Acme
Deal: Website redesign
Stage: Negotiation
Product: Relay CRM
Instructions: Be friendly and brief. Never promise discounts.
Last messages:
Us: Hi Anna, here is the proposal we discussed.
Them: {last}"""


def context(last: str, **changes: str) -> list[dict]:
    text = CONTEXT.format(last=last)
    for label, value in changes.items():
        text = re.sub(rf"(?m)^{label.capitalize()}: .*$", f"{label.capitalize()}: {value}", text)
    return [{"role": "system", "content": text}]


@pytest.fixture
def model(settings):
    return model_for(settings)


def test_without_an_endpoint_the_app_talks_to_the_sandbox_model(settings, model):
    assert not configured(settings)
    assert isinstance(model, OpenAIChatModel) and model.sandbox
    assert model.model == sandbox.MODEL == "sandbox-drafter-1"
    assert model.base_url == sandbox.url() and model.base_url.startswith("http://127.0.0.1:")
    assert model.models() == ["sandbox-drafter-1"]
    assert model_for(settings) is model  # one client per endpoint and process


def test_a_russian_message_gets_a_russian_draft_by_first_name(model):
    answer = model.complete(context("Сколько это будет стоить для команды из 10 человек?"), max_tokens=200)

    assert answer.model == "sandbox-drafter-1" and answer.finish_reason == "stop" and not answer.refused
    assert answer.text.splitlines()[0] in {"Здравствуйте, Anna!", "Добрый день, Anna!"}
    assert re.search(r"[Сс]тоимость|цен", answer.text)  # it answers the question about price
    assert not re.search(r"\b(Hi|Hello|Thanks)\b", answer.text)
    assert len(re.findall(r"[.!?](\s|$)", answer.text)) <= 6  # a few sentences


def test_an_english_message_gets_an_english_draft_by_first_name(model):
    answer = model.complete(context("Could we do a call next week to go through it?"), max_tokens=200)

    assert answer.text.splitlines()[0] in {"Hi Anna,", "Hello Anna,"}
    assert "call" in answer.text
    assert not re.search(r"[А-Яа-я]", answer.text)


@pytest.mark.parametrize(("last", "confirmed"), [("Could we talk on Friday?", "Friday works for me"),
                                                 ("Можно созвониться в среду?", "В среду мне удобно")])
def test_a_day_the_prospect_names_is_the_day_the_draft_confirms(model, last, confirmed):
    assert confirmed in model.complete(context(last), max_tokens=200).text


def test_the_same_context_gives_the_same_draft(model):
    messages = context("What would it cost us?")

    assert model.complete(messages, max_tokens=200).text == model.complete(messages, max_tokens=200).text


def test_the_deals_stage_shapes_a_follow_up(model):
    answer = model.complete(context("Thanks, we will look at it.", task="follow_up", stage="Proposal"),
                            max_tokens=200)

    assert "Website redesign" in answer.text and "proposal" in answer.text


def test_a_prospect_who_says_no_gets_no_pitch(model):
    answer = model.complete(context("Не интересно, больше не пишите."), max_tokens=200)

    assert "не буду беспокоить" in answer.text
    assert "Relay CRM" not in answer.text


def test_a_first_message_follows_the_contacts_language_and_names_the_product(model):
    answer = model.complete([{"role": "user", "content": "Task: first_message\nContact: Иван Петров\n"
                                                         "Company: Ромашка\nProduct: Relay CRM"}], max_tokens=200)

    assert answer.text.startswith(("Здравствуйте, Иван!", "Добрый день, Иван!"))
    assert "«Relay CRM»" in answer.text and "«Ромашка»" in answer.text


def test_a_template_speaks_in_campaign_variables(model):
    answer = model.complete([{"role": "user", "content": "Task: template\nCampaign: Spring webinar\n"
                                                         "Company: Acme\nProduct: Relay CRM\nLanguage: en"}],
                            max_tokens=200)

    assert "{{first_name}}" in answer.text and "{{company.name}}" in answer.text
    assert "Acme" not in answer.text


def test_a_plain_user_message_is_what_the_prospect_wrote(model):
    answer = model.complete([{"role": "system", "content": "Contact: Oleg Ivanov"},
                             {"role": "user", "content": "Привет! Когда можно начать?"}], max_tokens=200)

    assert answer.text.startswith(("Здравствуйте, Oleg!", "Добрый день, Oleg!"))


def test_with_nothing_to_write_from_the_model_refuses(model):
    answer = model.complete([{"role": "system", "content": "You write replies."}], max_tokens=200)

    assert answer.refused and answer.text == ""
    assert answer.refusal.startswith("I can't draft this message")


def test_usage_counts_the_prompt_and_the_draft(model):
    messages = context("How much is it?")

    answer = model.complete(messages, max_tokens=200)

    assert not answer.tokens_estimated
    assert answer.completion_tokens == rough_tokens(answer.text)
    assert answer.prompt_tokens == rough_tokens(messages[0]["content"]) + 3


def test_max_tokens_cuts_the_draft(model):
    answer = model.complete(context("How much is it?"), max_tokens=5)

    assert answer.finish_reason == "length" and answer.completion_tokens == 5
    assert rough_tokens(answer.text) == 5


def test_streamed_pieces_join_to_the_whole_draft_with_usage(model):
    messages = context("Можно созвониться в четверг?")

    deltas = list(model.stream(messages, max_tokens=200))

    pieces = [d.text for d in deltas[:-1]]
    assert len(pieces) > 3 and all(pieces)
    whole = deltas[-1].completion
    assert "".join(pieces) == whole.text == model.complete(messages, max_tokens=200).text
    assert whole.finish_reason == "stop" and not whole.tokens_estimated
    assert whole.completion_tokens == rough_tokens(whole.text) and whole.prompt_tokens > 0


def test_a_streamed_refusal_comes_as_refusal_pieces(model):
    deltas = list(model.stream([{"role": "system", "content": "Nothing here."}], max_tokens=200))

    assert "".join(d.refusal for d in deltas).startswith("I can't draft this message")
    assert deltas[-1].completion.refused


def test_a_model_the_sandbox_does_not_have_is_a_bad_request():
    other = OpenAIChatModel(base_url=sandbox.url(), api_key="sandbox", model="gpt-imaginary", max_retries=0)

    with pytest.raises(AIError) as raised:
        other.complete(context("Hi"), max_tokens=50)

    assert raised.value.kind == "bad_request" and raised.value.status == 404


def test_the_endpoint_streams_server_sent_events_ending_with_done():
    request = urllib.request.Request(
        sandbox.url() + "/chat/completions", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"model": sandbox.MODEL, "messages": context("Hello!"), "stream": True,
                         "stream_options": {"include_usage": True}}).encode())

    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        events = [line[6:] for line in response.read().decode().splitlines() if line.startswith("data: ")]

    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_the_endpoint_answers_bad_json_with_an_openai_error():
    request = urllib.request.Request(sandbox.url() + "/chat/completions", method="POST", data=b"{oops",
                                     headers={"Content-Type": "application/json"})

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)

    assert raised.value.code == 400
    assert json.loads(raised.value.read())["error"]["type"] == "invalid_request_error"


def test_a_configured_endpoint_is_used_with_its_key_and_model(settings, endpoint):
    endpoint.answers(Answer(body=completion("From the real endpoint.", model="llama-3-70b")))
    configured_settings = dataclasses.replace(settings, openai_base_url=endpoint.base_url,
                                              openai_api_key="sk-live-key", ai_model="llama-3-70b")

    model = model_for(configured_settings)
    answer = model.complete(context("Hi"), max_tokens=50)

    assert not model.sandbox and model.model == "llama-3-70b"
    assert answer.text == "From the real endpoint."
    assert endpoint.requests[0]["headers"]["authorization"] == "Bearer sk-live-key"
    assert endpoint.requests[0]["json"]["model"] == "llama-3-70b"


def test_settings_read_the_endpoint_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://llm.internal:8000/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("AI_MODEL", "qwen-2.5")

    settings = Settings.from_env()

    assert (settings.openai_base_url, settings.openai_api_key, settings.ai_model) == (
        "http://llm.internal:8000/v1", "sk-from-env", "qwen-2.5")
    assert configured(settings) and "sk-from-env" not in repr(settings)


def test_settings_without_the_environment_mean_the_sandbox(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "AI_MODEL"):
        monkeypatch.delenv(name, raising=False)

    settings = Settings.from_env()

    assert not configured(settings)
    assert (settings.openai_base_url, settings.openai_api_key, settings.ai_model) == (None, None, None)
