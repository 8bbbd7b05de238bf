"""Pass answers and pushed updates through TL serialization, as the network would.

Round-tripping catches a malformed answer (a missing field, a wrong type for the request) at the
peer instead of deep inside Telethon, and hands every client its own fresh objects (Telethon mutates
the messages it receives).
"""

from __future__ import annotations

import struct

from telethon.extensions import BinaryReader
from telethon.tl.tlobject import TLObject, TLRequest

_VECTOR = 0x1CB5C415
_TRUE, _FALSE = 0x997275B5, 0xBC799737


def _serialize(value: object) -> bytes:
    if isinstance(value, TLObject):
        return bytes(value)
    if isinstance(value, bool):
        return struct.pack("<I", _TRUE if value else _FALSE)
    if isinstance(value, list):  # Vector<T> of TL objects (users.getUsers); no handler returns bare ints
        return struct.pack("<Ii", _VECTOR, len(value)) + b"".join(bytes(item) for item in value)
    raise TypeError(f"cannot put {type(value).__name__} on the wire")


def answer(request: TLRequest, value: object) -> object:
    """``value`` as the client would read it for ``request`` off the wire."""
    with BinaryReader(_serialize(value)) as reader:
        return request.read_result(reader)


def copy(obj: TLObject) -> TLObject:
    with BinaryReader(bytes(obj)) as reader:
        return reader.tgread_object()
