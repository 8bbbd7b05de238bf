"""A populated, deterministic world for the demo and for trying the app by hand."""

from __future__ import annotations

from app.integrations.telegram.sandbox.world import World

_FIRST = ("Ann", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Luca")
_LAST = ("Lee", "Okafor", "Martin", "Petrov", "Rossi", "Haddad", "Berg", "Tanaka", "Silva", "Weber")
_OPENERS = ("Hi! Saw your post about the partnership program.", "Hello, is the pricing page up to date?",
            "Hey, we met at the conference last week.", "Could you send me the deck?")


def demo_world(accounts: int = 3, people_per_account: int = 6, *, reply_delay: float = 2.0) -> World:
    """Accounts 9996620001, 9996620002.. (login code 22222 for the first 9,999) with people who wrote.

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
    return world
