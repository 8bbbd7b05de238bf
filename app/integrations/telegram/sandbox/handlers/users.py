"""users.* and contacts.*: who is who, by id, username or phone."""

from __future__ import annotations

from telethon.tl import functions, types

from app.integrations.telegram.sandbox.handlers.base import Call, handles
from app.integrations.telegram.sandbox.world import normalize_phone


@handles(functions.users.GetUsersRequest)
def get_users(call: Call, request: functions.users.GetUsersRequest) -> list[types.User]:
    return [call.user(call.resolve(user)) for user in request.id]


@handles(functions.users.GetFullUserRequest)
def get_full_user(call: Call, request: functions.users.GetFullUserRequest) -> types.users.UserFull:
    profile = call.resolve(request.id)
    full = types.UserFull(
        id=profile.id, settings=types.PeerSettings(), notify_settings=types.PeerNotifySettings(),
        common_chats_count=0)
    return types.users.UserFull(full_user=full, chats=[], users=[call.user(profile)])


@handles(functions.contacts.ResolveUsernameRequest)
def resolve_username(call: Call, request: functions.contacts.ResolveUsernameRequest) -> object:
    profile = call.world.by_username(request.username.lstrip("@"))
    if profile is None:
        raise call.error(400, "USERNAME_NOT_OCCUPIED")
    return types.contacts.ResolvedPeer(types.PeerUser(profile.id), [], [call.user(profile)])


def _by_phone(call: Call, phone: str):
    wanted = normalize_phone(phone)
    return next((p for p in call.world.profiles.values() if p.phone == wanted), None)


@handles(functions.contacts.ResolvePhoneRequest)
def resolve_phone(call: Call, request: functions.contacts.ResolvePhoneRequest) -> types.contacts.ResolvedPeer:
    profile = _by_phone(call, request.phone)
    if profile is None:
        raise call.error(400, "PHONE_NOT_OCCUPIED")
    return types.contacts.ResolvedPeer(types.PeerUser(profile.id), [], [call.user(profile)])


@handles(functions.contacts.ImportContactsRequest)
def import_contacts(call: Call, request: functions.contacts.ImportContactsRequest) -> object:
    """Phones that belong to a sandbox user become contacts; unknown phones are silently skipped."""
    imported, users = [], []
    for contact in request.contacts:
        profile = _by_phone(call, contact.phone)
        if profile is not None:
            call.account.contacts.add(profile.id)
            imported.append(types.ImportedContact(user_id=profile.id, client_id=contact.client_id))
            users.append(call.user(profile))
    return types.contacts.ImportedContacts(imported, popular_invites=[], retry_contacts=[], users=users)


@handles(functions.contacts.GetContactsRequest)
def get_contacts(call: Call, request: functions.contacts.GetContactsRequest) -> types.contacts.Contacts:
    ids = sorted(call.account.contacts)
    return types.contacts.Contacts(
        contacts=[types.Contact(user_id=i, mutual=False) for i in ids], saved_count=0,
        users=[call.user(call.world.profiles[i]) for i in ids])
