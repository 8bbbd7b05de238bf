"""Clients: a member's book of business across the CRM and the inbox. Handing contacts, deals and
chats to a member at once (all or nothing), and the contacts shared with a member. Built on
``crm.public`` (records, sharing), ``messaging.public`` (chats) and ``team.public``; its only
blueprint is the API's (``api.py``: ``/api/team/clients``)."""
