"""Outreach campaigns: multi-step sequences written from a pool of Telegram accounts, through the
messaging outbox, exactly once per step; stop on reply; A/B variants; the do-not-contact list;
reusable message templates. Built on ``crm.public`` (contacts, their filters), ``messaging.public``
(chats, ``queue_outreach``, ``OutboxSettled``, replies), ``pipeline.public`` (deal moves),
``accounts.public`` (the pool's accounts and budgets) and ``team.public``."""
