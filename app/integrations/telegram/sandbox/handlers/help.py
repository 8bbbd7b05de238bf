"""help.*: what Telethon asks while connecting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telethon.tl import functions, types

from app.integrations.telegram.sandbox.handlers.base import Call, handles
from app.integrations.telegram.sandbox.render import DC_ID


@handles(functions.help.GetConfigRequest, signed_in=False)
def get_config(call: Call, request: functions.help.GetConfigRequest) -> types.Config:
    now = datetime.now(UTC)
    return types.Config(
        date=now, expires=now + timedelta(hours=1), test_mode=True, this_dc=DC_ID,
        dc_options=[types.DcOption(DC_ID, "149.154.167.51", 443)], dc_txt_domain_name="sandbox",
        chat_size_max=200, megagroup_size_max=200_000, forwarded_count_max=100,
        online_update_period_ms=210_000, offline_blur_timeout_ms=5_000, offline_idle_timeout_ms=30_000,
        online_cloud_timeout_ms=300_000, notify_cloud_delay_ms=30_000, notify_default_delay_ms=1_500,
        push_chat_period_ms=60_000, push_chat_limit=2, edit_time_limit=172_800, revoke_time_limit=172_800,
        revoke_pm_time_limit=2_147_483_647, rating_e_decay=2_419_200, stickers_recent_limit=200,
        channels_read_media_period=604_800, call_receive_timeout_ms=20_000, call_ring_timeout_ms=90_000,
        call_connect_timeout_ms=30_000, call_packet_timeout_ms=10_000, me_url_prefix="https://t.me/",
        caption_length_max=1024, message_length_max=4096, webfile_dc_id=DC_ID,
    )


@handles(functions.help.GetNearestDcRequest, signed_in=False)
def get_nearest_dc(call: Call, request: functions.help.GetNearestDcRequest) -> types.NearestDc:
    return types.NearestDc(country="NL", this_dc=DC_ID, nearest_dc=DC_ID)
