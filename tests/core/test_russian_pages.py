"""Every page of the route sweep, for every role, read in Russian: no English words left on it
except names, data and the few words Russian users write in Latin letters themselves."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import product

import pytest
from babel import Locale
from flask import current_app
from sqlalchemy import select

from app.blueprints.crm.models import CustomField, Import
from app.blueprints.team import invitations
from app.blueprints.team.permissions import Role
from app.extensions import db
from app.integrations.mail import OutboundMail
from tests.conftest import sign_in_as
from tests.factories import (
    add_member,
    give_account,
    make_account,
    make_chat,
    make_company,
    make_contact,
    make_deal,
    make_member,
    make_message,
)

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}

# Words a Russian page may hold in Latin letters: the product's and services' names, and terms
# Russian users write that way themselves.
ALLOWED = {"Relay", "CRM", "Telegram", "CSV", "API", "UTC", "QR", "URL", "English", "OpenAPI", "JSON",
           "TOTP", "MFA", "OAuth", "Stripe", "ID", "IP", "HTTP",
           "Excel", "UTF", "SMS", "SMTP", "HTML",
           "Google", "GitHub", "Authenticator", "Authy",  # sign-in providers and authenticator apps
           "Enter", "Esc", "Shift"}  # keys, as Russian keyboards label them
ALLOWED |= set(Locale("en").currencies)  # ISO currency codes (USD, RUB) as the currency pickers show them

# Not words a person reads: addresses, handles, phone-ish strings, file names, tokens.
NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+|@\w+|\b[\w.-]+\.(?:csv|png|jpg|pdf|com|org)\b|\b\w*\d\w*\b")
WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
# Attributes whose text a person reads or hears.
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "data-confirm", "hx-confirm", "label"}
SKIPPED = {"script", "style", "code", "pre", "textarea"}  # code samples; scripts and styles are not read;
# a textarea holds what a person typed (a campaign step's {{first_name}}), like an input's value


class VisibleText(HTMLParser):
    """The text a person reads on a page: text nodes, button values and the read attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self._skipping += 1
        attributes = dict(attrs)
        self.parts.extend(value for name, value in attrs if name in READ_ATTRIBUTES and value)
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def english_words(html: str, data_words: set[str]) -> set[str]:
    reader = VisibleText()
    reader.feed(html)
    text = NOT_WORDS.sub(" ", " ".join(reader.parts))
    return {word for word in WORD.findall(text) if word not in ALLOWED and word not in data_words}


@pytest.fixture
def workspace():
    """An organization with one of everything a page shows, its people and data in Russian (the
    Latin-letter bits of data, such as usernames, are collected as data words)."""
    owner = make_member(Role.OWNER)
    owner.user.name = "Ольга Смирнова"
    org = owner.organization
    org.name = "Ромашка"
    db.session.commit()
    company = make_company(owner, name="ООО Ромашка", website="https://romashka.example")
    contact = make_contact(owner, first_name="Анна", last_name="Ли", email="anna@example.com",
                           phone="+79161234567", company_id=company.id)
    deal = make_deal(owner, title="Пилот на 50 мест", value="1234567.50", currency="RUB",
                     contact_id=contact.id, company_id=company.id)
    field = CustomField(org_id=org.id, entity="contact", key="tier", label="Уровень")
    imp = Import(org_id=org.id, entity="contact", filename="kontakty.csv", headers=["Имя", "Почта"],
                 mapping={})
    db.session.add_all([field, imp])
    db.session.commit()
    account = make_account(org, display_name="Отдел продаж")
    chat = make_chat(account, title="Анна Ли", username="anna_li", last_message_preview="Здравствуйте")
    message = make_message(chat, text="Здравствуйте, пришлите счёт")
    sent = []
    invitations.invite(owner, email="novichok@example.com", role="agent", language="ru",
                       secret=current_app.config["SECRET_KEY"],
                       link=lambda endpoint, **values: sent.append(values["token"]) or "http://x")
    db.session.commit()
    mail_id = db.session.scalar(select(OutboundMail.id))
    campaign_id, enrollment_id = _campaign(owner, account, contact)
    template_id = _template_and_suppressions(owner, contact)
    file_id = _step_file(owner, campaign_id)
    return {"org": org, "owner": owner, "account": account, "values": {
        "campaign_id": campaign_id, "enrollment_id": enrollment_id, "template_id": template_id,
        "file_id": file_id,
        "token": sent[0], "mail_id": mail_id, "provider": "google",
        "record_id": {"contacts": contact.id, "companies": company.id, "deals": deal.id},
        "name": {"contacts": "first_name", "companies": "name", "deals": "title"},
        "account_id": account.id, "chat_id": chat.id, "message_id": message.id, "import_id": imp.id,
        "pipeline_id": deal.pipeline_id, "stage_id": deal.stage_id, "field_id": field.id}}


def _campaign(owner, account, contact) -> tuple[int, int]:
    """A running campaign of two steps (two variants in the first) with the contact in it: (campaign,
    enrollment) ids."""
    from app.blueprints.campaigns import service
    from app.blueprints.campaigns.models import Enrollment

    found = service.create_campaign(owner, {
        "name": "Весенняя рассылка", "account_ids": [account.id],
        "steps": [{"variants": [{"text": "Здравствуйте, {{first_name}}"}, {"text": "Добрый день"}]},
                  {"wait_minutes": 1440, "variants": [{"text": "Напоминаю о себе"}]}]})
    service.add_contacts(owner, found, contact_ids=[contact.id])
    service.launch(owner, found)
    db.session.commit()
    return found.id, db.session.scalar(select(Enrollment.id).where(Enrollment.campaign_id == found.id))


def _step_file(owner, campaign_id: int) -> int:
    """The campaign's last step sends a file (its page names it; the file itself is a download)."""
    from app.blueprints.campaigns import service
    from app.blueprints.campaigns.models import Campaign
    from app.blueprints.messaging.public import Attachment

    kept = service.store_file(owner, Attachment("prezentaciya.pdf", "application/pdf", b"%PDF-1.4 deck"))
    db.session.get(Campaign, campaign_id).steps[-1].file_id = kept.id
    db.session.commit()
    return kept.id


def _template_and_suppressions(owner, contact) -> int:
    """A message template (its id), and do-not-contact entries of each reason."""
    from app.blueprints.campaigns import message_templates, suppression

    template = message_templates.create_template(owner, "Первое письмо", "Здравствуйте, {{first_name|коллеги}}")
    suppression.suppress_contact(owner.org_id, contact, reason="opt_out")
    suppression.add_identity(owner, "username", "boris_k", reason="import")
    suppression.add_identity(owner, "phone", "+79160000000", reason="api")
    suppression.add_identity(owner, "user_id", "424242")
    db.session.commit()
    return template.id


def page_urls(app, values: dict) -> list[str]:
    """Every GET page and fragment the app serves (the API, assets and the socket aside), with its
    path arguments filled from ``values`` and each ``any()`` choice taken in turn."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static")) or rule.rule == "/ws":
            continue
        choices = {name: sorted(rule._converters[name].items) for name in rule.arguments
                   if rule._converters[name].__class__.__name__ == "AnyConverter"}
        for picked in product(*choices.values()):
            chosen = dict(zip(choices, picked, strict=True))
            entity = next(iter(chosen.values()), None)
            filled = {name: chosen.get(name) or (values[name][entity] if isinstance(values[name], dict)
                                                  else values[name]) for name in rule.arguments}
            urls.append(re.sub(r"<(?:[\w(), ]+:)?(\w+)>", lambda m, f=filled: str(f[m.group(1)]), rule.rule))
    return sorted(set(urls))


DATA_WORDS = {"romashka", "example", "anna_li", "kontakty"}


@pytest.mark.parametrize("role", list(Role))
def test_every_page_reads_in_russian_for_every_role(app, client, workspace, role):
    me = workspace["owner"] if role is Role.OWNER else add_member(workspace["org"], role=role)
    me.user.name = "Сергей Иванов" if role is not Role.OWNER else me.user.name
    db.session.commit()
    give_account(workspace["account"], me) if role is Role.AGENT else None
    sign_in_as(client, me)
    english, read = {}, 0
    for url in page_urls(app, workspace["values"]):
        response = client.get(url, headers=RU)
        html = response.get_data(as_text=True) if response.mimetype == "text/html" else None
        response.close()  # streamed answers (exports) end here
        if response.status_code != 200 or html is None:
            continue
        read += 1
        found = english_words(html, DATA_WORDS)
        if found:
            english[url] = sorted(found)
    assert read >= 20
    assert english == {}, "English left on Russian pages:\n" + "\n".join(
        f"{url}: {' '.join(words)}" for url, words in english.items())
