"""updates.getState and updates.getDifference over the account's pts log."""

from __future__ import annotations

from datetime import UTC, datetime

from telethon.tl import functions, types

from app.integrations.telegram.sandbox import render
from app.integrations.telegram.sandbox.handlers.base import Call, handles


@handles(functions.updates.GetStateRequest)
def get_state(call: Call, request: functions.updates.GetStateRequest) -> types.updates.State:
    return render.state(call.account.mailbox, datetime.now(UTC))


@handles(functions.updates.GetDifferenceRequest)
def get_difference(call: Call, request: functions.updates.GetDifferenceRequest) -> object:
    """Everything after the client's pts; more than ``difference_limit`` changes come as slices."""
    account = call.account
    mailbox = account.mailbox
    now = datetime.now(UTC)
    entries = mailbox.since(request.pts)
    if not entries:
        return types.updates.DifferenceEmpty(date=now, seq=0)
    limit = min(request.pts_total_limit or call.world.difference_limit, call.world.difference_limit)
    chunk = entries[:limit]
    new_messages, other_updates, peer_ids = [], [], set()
    for entry in chunk:
        update = render.update(entry, mailbox, account.profile.id)
        if update is None:
            continue
        if isinstance(update, types.UpdateNewMessage):
            new_messages.append(update.message)
        else:
            other_updates.append(update)
        if entry.peer_id:
            peer_ids.add(entry.peer_id)
    users = [call.user(call.world.profiles[peer_id]) for peer_id in sorted(peer_ids)]
    if len(entries) > limit:
        last = chunk[-1]
        middle = types.updates.State(pts=last.pts, qts=0, date=render.when(last.date), seq=0, unread_count=0)
        return types.updates.DifferenceSlice(new_messages, [], other_updates, [], users, middle)
    return types.updates.Difference(new_messages, [], other_updates, [], users, render.state(mailbox, now))
