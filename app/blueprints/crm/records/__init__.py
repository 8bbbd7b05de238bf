"""Contacts, companies and deals as records: fields, operations, reads, pages and API."""
