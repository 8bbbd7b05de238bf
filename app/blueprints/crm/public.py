"""What other domains, jobs and the telegram process may use of the CRM; the rest of it is private.

Records (contacts, companies, deals) and their operations; the events the CRM raises; the panel
and history registries through which domains built on it show their data on a record's page; and
the port through which the pipeline keeps deals' stages (``deal_stages``); the bulk actions they add to
a record list (``list_actions``).
"""

from app.blueprints.crm.bulk.service import assign_owner, check_assign
from app.blueprints.crm.deal_stages import ImportedStages, StageKeeper
from app.blueprints.crm.deal_stages import register as register_stage_keeper
from app.blueprints.crm.events import (
    ContactCreated,
    ContactShared,
    ContactsImported,
    ContactsMerged,
    ContactUnshared,
    DealCreated,
    DealDeleted,
    DealEvent,
    DealRestored,
    DealUpdated,
    ImportFinished,
)
from app.blueprints.crm.list_actions import ListAction
from app.blueprints.crm.list_actions import register as register_list_action
from app.blueprints.crm.list_actions import selection as list_selection
from app.blueprints.crm.models import Company, Contact, Deal, DealStatus, Entity
from app.blueprints.crm.panels import RecordPanel, register_history
from app.blueprints.crm.panels import register as register_panel
from app.blueprints.crm.records.queries import ListQuery, filtered, org_tags
from app.blueprints.crm.records.serialize import record_json, schema
from app.blueprints.crm.records.service import (
    check_edit,
    create_contact_unattended,
    create_record,
    custom_fields,
    is_shared_with,
    resolve_company,
    search_text,
    shared_contact_ids,
    update_record,
)
from app.blueprints.crm.records.sharing import SharedContact, shared_with

__all__ = [
    "Company", "Contact", "ContactCreated", "ContactShared", "ContactUnshared", "ContactsImported",
    "ContactsMerged", "Deal", "DealCreated", "DealDeleted", "DealEvent", "DealRestored", "DealStatus",
    "DealUpdated", "Entity", "ImportFinished", "ImportedStages", "ListAction", "ListQuery", "RecordPanel",
    "SharedContact", "StageKeeper", "assign_owner", "check_assign", "check_edit",
    "create_contact_unattended", "create_record", "custom_fields", "filtered", "is_shared_with",
    "list_selection", "org_tags", "record_json", "register_history", "register_list_action", "register_panel",
    "register_stage_keeper",
    "resolve_company", "schema", "search_text", "shared_contact_ids", "shared_with", "update_record",
]
