"""Populated, deterministic worlds for the demo and for trying the app by hand."""

# ruff: noqa: RUF001 - Russian names: their Cyrillic letters that look Latin are meant

from __future__ import annotations

from dataclasses import dataclass

from app.integrations.telegram.sandbox import demo_ru, prospects
from app.integrations.telegram.sandbox.records import Account
from app.integrations.telegram.sandbox.world import World

_FIRST = ("Ann", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Luca")
_LAST = ("Lee", "Okafor", "Martin", "Petrov", "Rossi", "Haddad", "Berg", "Tanaka", "Silva", "Weber")
_OPENERS = ("Hi! Saw your post about the partnership program.", "Hello, is the pricing page up to date?",
            "Hey, we met at the conference last week.", "Could you send me the deck?")

# The app's demo accounts (app/demo.py seeds them with sealed sessions the world re-admits).
APP_DEMO_PHONES = ("9996621234", "9996631234")
# People of the app's demo CRM (app/demo.py contacts) who are on Telegram under the same username,
# so their chats link to the existing contacts; the others become new contacts when they write.
_CONVERSATIONS = (
    ("Olivia", "Kowalski", "olivia_kowalski", (
        "Hi! Following up on our call: is the pilot still on for next month?",
        "We'd need SSO from day one, just flagging it.")),
    ("Liam", "Ng", "liam_ng", ("Hey, could you send the updated pricing?",)),
    ("Priya", "Raman", "priya_raman_ops", (
        "Hello! Found you through the partner directory.",
        "We run ops for three exchanges and are looking at CRM options.")),
    ("Tomasz", "Wolny", "tomasz_wolny", ("Is there an API for importing deals?",)),
    ("Maya", "Haddad", "maya_haddad", ("Thanks for the deck yesterday. The team liked it.",)),
    ("Noah", "Silva", "noah_silva", ("Can we move our demo to Thursday?",)),
    ("Jin", "Park", "jin_park_growth", ("Hi there, do you offer a nonprofit discount?",)),
    ("Amara", "Obi", "amara_obi", ("Quick one: do you integrate with HubSpot?", "Or only CSV for now?")),
)
_OUR_REPLIES = ("Thanks for writing! Let me check and get back to you today.",
                "Great to hear from you. Sending it over shortly.")
# People a demo campaign can write to first (``add_prospects``): on Telegram, in no dialog, none in
# the demo CRM yet. Russian-speaking and English-speaking in turn; every ten of a language 6 are
# silent, 2 reply later, 1 asks a question, 1 opts out (``prospects``).
_PROSPECTS_RU = (
    ("Андрей", "Фёдоров", "andrey_fedorov"), ("Наталья", "Попова", "natalya_popova"),
    ("Павел", "Егоров", "pavel_egorov"), ("Ирина", "Орлова", "irina_orlova"),
    ("Максим", "Козлов", "maxim_kozlov"), ("Светлана", "Никитина", "svetlana_nikitina"),
    ("Николай", "Зайцев", "nikolay_zaitsev"), ("Татьяна", "Григорьева", "tatiana_grigorieva"),
    ("Артём", "Васильев", "artem_vasiliev"), ("Ксения", "Романова", "ksenia_romanova"),
    ("Роман", "Степанов", "roman_stepanov"), ("Дарья", "Яковлева", "daria_yakovleva"),
    ("Владимир", "Киселёв", "vladimir_kiselev"), ("Полина", "Андреева", "polina_andreeva"),
    ("Евгений", "Макаров", "evgeny_makarov"), ("Алина", "Захарова", "alina_zakharova"),
    ("Константин", "Тихонов", "konstantin_tikhonov"), ("Вера", "Комарова", "vera_komarova"),
    ("Илья", "Медведев", "ilya_medvedev"), ("Елизавета", "Миронова", "elizaveta_mironova"),
)
_PROSPECTS_EN = (
    ("Grace", "Miller"), ("Henry", "Walker"), ("Isla", "Turner"), ("Jack", "Cooper"), ("Lily", "Evans"),
    ("Oscar", "Hughes"), ("Ruby", "Clarke"), ("Samuel", "Wright"), ("Freya", "Morgan"), ("Thomas", "Reed"),
    ("Emily", "Foster"), ("Daniel", "Brooks"), ("Hannah", "Price"), ("Adam", "Fletcher"), ("Sophie", "Ward"),
    ("Ryan", "Mitchell"), ("Megan", "Carter"), ("Nathan", "Hayes"), ("Zoe", "Parker"), ("Lewis", "Grant"),
)
_PROSPECT_MIX = (prospects.SILENT, prospects.REPLIES_LATER, prospects.SILENT, prospects.ASKS_QUESTION,
                 prospects.SILENT, prospects.SILENT, prospects.OPTS_OUT, prospects.SILENT,
                 prospects.REPLIES_LATER, prospects.SILENT)


@dataclass(frozen=True)
class ProspectProfile:
    """A prospect as a CRM contact would hold them, and their persona (for tests: not for the CRM)."""

    first_name: str
    last_name: str
    username: str
    phone: str  # E.164
    language: str  # "ru" | "en"
    persona: str


def add_prospects(world: World) -> None:
    """The demo's 40 prospects, with usernames, phones (+7 916 555-01-xx after the demo CRM's
    +7 916 555-00-xx; +1 202 555-01xx, the US range kept for fiction) and their persona mix."""
    for i, ((ru_first, ru_last, ru_username), (first, last)) in enumerate(
            zip(_PROSPECTS_RU, _PROSPECTS_EN, strict=True)):
        persona = _PROSPECT_MIX[i % len(_PROSPECT_MIX)]
        world.add_prospect(ru_first, ru_last, username=ru_username, phone=f"+7916555{100 + i:04d}",
                           language="ru", persona=persona)
        world.add_prospect(first, last, username=f"{first}_{last}".lower(), phone=f"+1202555{100 + i:04d}",
                           language="en", persona=persona)


def demo_prospects(world: World) -> list[ProspectProfile]:
    """The world's prospects (``World.add_prospect``: people who wrote to nobody), in the order added."""
    with world.lock:
        return [ProspectProfile(p.profile.first_name, p.profile.last_name, p.profile.username or "",
                                f"+{p.profile.phone}" if p.profile.phone else "", p.language, p.persona)
                for p in world.people.values() if p.persona is not None]


def demo_world(accounts: int = 3, people_per_account: int = 6, *, reply_delay: float = 2.0) -> World:
    """Accounts 9996620001, 9996620002.. (login code 22222 for the first 9,999) with people who wrote,
    and the demo's prospects (``add_prospects``), whom nobody has written to yet.

    The same arguments always build the same world (names, usernames, histories).
    """
    world = World(reply_delay=reply_delay)
    for a in range(accounts):
        number = a + 1
        phone = f"99966{2 + number // 10_000 % 8}{number % 10_000:04d}"
        world.add_account(phone, first_name=f"BD {a + 1}", username=f"bd_rep_{a + 1}")
        for p in range(people_per_account):
            n = a * people_per_account + p
            first, last = _FIRST[n % len(_FIRST)], _LAST[n // len(_FIRST) % len(_LAST)]
            person = world.add_person(first, last, username=f"{first}_{last}_{n}".lower(),
                                      phone=f"+1555{n:07d}")
            world.person_writes(person.profile.id, phone, _OPENERS[n % len(_OPENERS)])
            if p % 2:
                world.seed_outgoing(phone, person.profile.id, f"Hi {first}, thanks for reaching out!")
    add_prospects(world)
    return world


def welcome_conversations(world: World, account: Account, count: int = 4, russian: int = 2) -> None:
    """Give a new account ``count`` people who already wrote to it, some answered, with history, and
    ``russian`` Russian-speaking people it has been talking business with."""
    english_conversations(world, account, count)
    russian_conversations(world, account, russian)


def _rotation(world: World, usernames: set[str]) -> int:
    """How many conversations of a cast the world's accounts hold: where the next account's start."""
    return sum(1 for a in world.accounts.values() for peer in a.mailbox.dialogs
               if world.profiles[peer].username in usernames)


_ENGLISH = {username for _, _, username, _ in _CONVERSATIONS}
_RUSSIAN = {talk.username for talk in demo_ru.TALKS}


def english_conversations(world: World, account: Account, count: int) -> None:
    """``count`` people of the English cast who wrote first; every other one answered already."""
    start = _rotation(world, _ENGLISH)  # rotate through the cast
    for i in range(count):
        first, last, username, lines = _CONVERSATIONS[(start + i) % len(_CONVERSATIONS)]
        profile = world.by_username(username)
        if profile is None:
            profile = world.add_person(first, last, username=username).profile
        if profile.id in account.mailbox.dialogs:
            continue
        world.person_writes(profile.id, account.phone, lines[0], push=False)
        if i % 2 == 0:  # answered (so read) already
            account.mailbox.read_inbox(profile.id, 0)
            world.seed_outgoing(account.phone, profile.id, _OUR_REPLIES[i % len(_OUR_REPLIES)])
        for line in lines[1:]:
            world.person_writes(profile.id, account.phone, line, push=False)


def russian_conversations(world: World, account: Account, count: int) -> None:
    """``count`` talks of the Russian-speaking cast (``demo_ru``), as they went: the account's own
    messages are history it wrote before the app (and it had read what came before them); people
    answer new messages in Russian."""
    start = _rotation(world, _RUSSIAN)
    for i in range(count):
        talk = demo_ru.TALKS[(start + i) % len(demo_ru.TALKS)]
        profile = world.by_username(talk.username)
        if profile is None:
            profile = world.add_person(talk.first_name, talk.last_name, username=talk.username,
                                       replies=demo_ru.REPLIES).profile
        if profile.id in account.mailbox.dialogs:
            continue
        for who, text in talk.turns:
            if who == demo_ru.US:
                account.mailbox.read_inbox(profile.id, 0)
                world.seed_outgoing(account.phone, profile.id, text)
            else:
                world.person_writes(profile.id, account.phone, text, push=False)


def app_world(*, reply_delay: float = 2.0) -> World:
    """The world the ``telegram`` process runs when no api_id is configured.

    The app's demo accounts exist with conversations; any other test number that signs in is
    registered with a few conversations of its own; people answer after ``reply_delay`` seconds.
    The demo's prospects (``add_prospects``, ``demo_prospects``) wait for a campaign.
    """
    world = World(reply_delay=reply_delay, welcome=welcome_conversations, secret=b"relay-sandbox-world")
    accounts = []
    for n, phone in enumerate(APP_DEMO_PHONES, start=1):
        account = world.add_account(phone, first_name="Northwind", last_name=f"BD {n}",
                                    username=f"northwind_bd_{n}")
        english_conversations(world, account, 5 if n == 1 else 3)
        accounts.append(account)
    # The Russian-speaking people come after everyone else: ids follow the order people are added,
    # and a demo database that synced the English chats before they existed keeps its peers' ids.
    for account, count in zip(accounts, (4, 2), strict=True):
        russian_conversations(world, account, count)
    add_prospects(world)  # last, for the same reason
    return world
