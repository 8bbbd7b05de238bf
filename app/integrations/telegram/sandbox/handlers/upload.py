"""upload.*: file parts the client uploads, and the bytes of media sandbox people sent."""

from __future__ import annotations

from telethon.tl import functions, types

from app.integrations.telegram.sandbox.handlers.base import Call, handles


@handles(functions.upload.SaveFilePartRequest, functions.upload.SaveBigFilePartRequest)
def save_file_part(call: Call, request: functions.upload.SaveFilePartRequest) -> bool:
    call.world.uploads.setdefault(request.file_id, {})[request.file_part] = request.bytes
    return True


@handles(functions.upload.GetFileRequest)
def get_file(call: Call, request: functions.upload.GetFileRequest) -> types.upload.File:
    location = request.location
    if not isinstance(location, (types.InputDocumentFileLocation, types.InputPhotoFileLocation)):
        raise call.error(400, "LOCATION_INVALID")
    media = call.world.media.get(location.id)
    if media is None or media.access_hash != location.access_hash:
        raise call.error(400, "LOCATION_INVALID")
    kind = types.storage.FileJpeg() if media.kind == "photo" else types.storage.FileUnknown()
    chunk = media.data[request.offset:request.offset + request.limit]
    return types.upload.File(type=kind, mtime=media.date, bytes=chunk)
