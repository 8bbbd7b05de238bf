"""The fields of each CRM entity, described once: forms, the API, import, export and lists read them.

``clean(entity, raw, custom_fields, region=...)`` turns loosely typed input (form strings, JSON, CSV
cells) into canonical values and field errors; it does not touch the database. ``region`` is the
organization's default country (``team.public.phone_region``): phone numbers written without a
country code are read in it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from app import canonical
from app.blueprints.crm.models import CustomField, CustomFieldKind, DealStatus, Entity


def number(n: int | Decimal) -> str:
    """A count as the viewer's language writes it: 1,234 or 1 234 (English outside a request)."""
    return format_decimal(n, locale=get_locale() or "en")


# "Owner" in its record sense («Ответственный»), apart from the role («Владелец»).
OWNER = _lp("record owner", "Owner")


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # lazy (``_l``): read in the viewer's language; ``english`` for the API and export
    parse: Callable[[Any], Any] | None = None  # None: plain text
    max_length: int | None = None
    required: bool = False
    aliases: tuple[str, ...] = ()  # other column headers an import may use for it
    reference: str | None = None  # "company", "contact", "stage", "owner", "tags": resolved by the service
    choices: tuple[str, ...] = ()
    exportable: bool = True
    regional: bool = False  # parse takes region=: the organization's default country (phones)

    @property
    def english(self) -> str:
        """The label in English, whoever asks: the API document's descriptions and the export's
        column headers (which the import recognises in every language) do not change with one."""
        with force_locale("en"):
            return str(self.label)

    def in_region(self, region: str | None) -> Field:
        """This field with its parse reading values in ``region`` (a regional field; others are
        returned as they are)."""
        if not self.regional or self.parse is None:
            return self
        return replace(self, parse=functools.partial(self.parse, region=region), regional=False)


def _text(max_length: int) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw).strip()
        if len(text) > max_length:
            raise ValueError(ngettext("at most %(num)s character", "at most %(num)s characters", max_length))
        return text
    return parse


def _choice(choices: Iterable[str]) -> Callable[[Any], str]:
    allowed = tuple(choices)

    def parse(raw: Any) -> str:
        text = str(raw).strip().lower()
        if text not in allowed:
            raise ValueError(_("one of: %(choices)s", choices=", ".join(allowed)))
        return text
    return parse


COMPANY_FIELDS = (
    Field("name", _l("Name"), _text(200), required=True, aliases=("company", "company name", "organization",
                                                               "organisation", "account")),
    Field("domain", _l("Domain"), canonical.domain, aliases=("company domain",)),
    Field("website", _l("Website"), canonical.website, aliases=("url", "site", "web")),
    Field("industry", _l("Industry"), _text(100), aliases=("sector", "vertical")),
    Field("size", _l("Size"), _text(32), aliases=("employees", "headcount", "company size")),
    Field("owner", OWNER, reference="owner", aliases=("owner email", "assigned to", "account owner")),
    Field("tags", _l("Tags"), reference="tags", aliases=("labels", "tag")),
    Field("notes", _l("Notes"), _text(20_000), aliases=("description", "note")),
)

CONTACT_FIELDS = (
    Field("first_name", _l("First name"), _text(100),
          aliases=("first", "firstname", "given name", "forename")),
    Field("last_name", _l("Last name"), _text(100), aliases=("last", "lastname", "surname", "family name")),
    Field("email", _l("Email"), canonical.email, aliases=("e-mail", "email address", "mail", "work email")),
    Field("phone", _l("Phone"), canonical.phone, regional=True,
          aliases=("phone number", "mobile", "tel", "telephone", "cell", "whatsapp")),
    Field("telegram_username", _l("Telegram username"), canonical.telegram_username,
          aliases=("telegram", "tg", "tg username", "telegram handle", "username", "handle")),
    Field("telegram_user_id", _l("Telegram user id"), canonical.telegram_user_id,
          aliases=("telegram id", "tg id", "tg user id", "user id")),
    Field("company", _l("Company"), reference="company",
          aliases=("company name", "organization", "organisation", "account")),
    Field("title", _lp("job title", "Title"), _text(120), aliases=("job title", "position", "role")),
    Field("timezone", _l("Timezone"), canonical.timezone, aliases=("time zone", "tz")),
    Field("owner", OWNER, reference="owner", aliases=("owner email", "assigned to", "contact owner")),
    Field("tags", _l("Tags"), reference="tags", aliases=("labels", "tag")),
    Field("source", _l("Source"), _text(64), aliases=("lead source", "origin", "channel")),
    Field("do_not_contact", _l("Do not contact"), canonical.boolean,
          aliases=("dnc", "unsubscribed", "opt out", "do not contact")),
    Field("notes", _l("Notes"), _text(20_000), aliases=("description", "note", "comments")),
)

DEAL_FIELDS = (
    Field("title", _l("Title"), _text(200), required=True,
          aliases=("deal", "deal name", "name", "opportunity")),
    Field("value", _l("Value"), lambda raw: _money(raw), aliases=("amount", "deal value", "size", "price")),
    Field("currency", _l("Currency"), lambda raw: _currency(raw), aliases=("ccy",)),
    Field("contact", _l("Contact"), reference="contact", aliases=("contact email", "person", "contact name")),
    Field("company", _l("Company"), reference="company", aliases=("company name", "organization", "account")),
    Field("stage", _l("Stage"), reference="stage", aliases=("deal stage", "pipeline stage", "status stage")),
    Field("owner", OWNER, reference="owner", aliases=("owner email", "assigned to", "deal owner")),
    Field("probability", _l("Probability"), lambda raw: canonical.integer(str(raw).rstrip("%"), 0, 100),
          aliases=("probability %", "chance", "win probability")),
    Field("expected_close", _l("Expected close"), canonical.iso_date,
          aliases=("close date", "expected close date", "closing date")),
    Field("status", _l("Status"), _choice(s.value for s in DealStatus), aliases=("deal status", "state")),
    Field("lost_reason", _l("Lost reason"), _text(200), aliases=("reason lost", "loss reason")),
    Field("tags", _l("Tags"), reference="tags", aliases=("labels", "tag")),
)


def _money(raw: Any) -> Decimal:
    """A deal's value, which NUMERIC(14, 2) must hold: canonical.decimal checks its range before
    rounding to cents, so 999999999999.995 would come back as 1000000000000.00 (on PostgreSQL, an
    overflow when written)."""
    value = canonical.decimal(raw)
    if abs(value) >= Decimal("1e12"):
        raise ValueError(_("number out of range"))
    return value


def _currency(raw: Any) -> str:
    text = str(raw).strip().upper()
    if len(text) != 3 or not text.isalpha():
        raise ValueError(_("a three-letter currency code such as USD"))
    return text


FIELDS: dict[str, tuple[Field, ...]] = {
    Entity.CONTACT: CONTACT_FIELDS,
    Entity.COMPANY: COMPANY_FIELDS,
    Entity.DEAL: DEAL_FIELDS,
}


@dataclass
class Cleaned:
    values: dict[str, Any] = field(default_factory=dict)  # model columns and references, canonical
    custom: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parse_custom(definition: CustomField, raw: Any) -> Any:
    if definition.kind == CustomFieldKind.NUMBER:
        return float(canonical.decimal(raw))
    if definition.kind == CustomFieldKind.DATE:
        return canonical.iso_date(raw).isoformat()
    if definition.kind == CustomFieldKind.SELECT:
        text = str(raw).strip()
        for option in definition.options:
            if option.lower() == text.lower():
                return option
        raise ValueError(_("one of: %(choices)s", choices=", ".join(definition.options)))
    return _text(2000)(raw)


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def clean(entity: str, raw: dict[str, Any], custom_fields: Iterable[CustomField] = (),
          partial: bool = False, region: str | None = None) -> Cleaned:
    """Canonical values for the keys present in ``raw`` (all fields unless ``partial``).

    Blank values clear a field (None); required fields may not be blank. Custom fields are keyed
    ``custom.<key>`` in ``raw`` or given as a ``custom`` mapping. Phone numbers without a country
    code are read in ``region`` (None: they are refused, asking for the code).
    """
    out = Cleaned()
    for f in (f.in_region(region) for f in FIELDS[entity]):
        if partial and f.name not in raw:
            continue
        value = raw.get(f.name)
        if _blank(value) and f.reference != "tags":
            if f.required:
                out.errors[f.name] = _("%(field)s is required.", field=f.label)
            else:
                out.values[f.name] = None
            continue
        if f.reference:
            out.values[f.name] = value  # resolved against the database by the service
            continue
        try:
            out.values[f.name] = f.parse(value) if f.parse else str(value).strip()
        except ValueError as err:
            out.errors[f.name] = _("%(field)s: %(error)s.", field=f.label, error=err)
    nested = raw.get("custom") if isinstance(raw.get("custom"), dict) else {}
    for definition in custom_fields:
        key = f"custom.{definition.key}"
        if key in raw:
            value = raw[key]
        elif definition.key in nested:
            value = nested[definition.key]
        elif partial:
            continue
        else:
            value = None
        if _blank(value):
            out.custom[definition.key] = None
            continue
        try:
            out.custom[definition.key] = parse_custom(definition, value)
        except ValueError as err:
            out.errors[key] = _("%(field)s: %(error)s.", field=definition.label, error=err)
    return out
