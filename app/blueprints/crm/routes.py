"""CRM pages: lists, detail, forms, trash, merge, bulk actions."""

from app.blueprints.crm import bp  # noqa: F401
