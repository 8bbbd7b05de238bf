"""Hostile uploads for the import's limits, made as they are read (a 60 MB file costs no 60 MB literal)."""

from __future__ import annotations

import io


class RepeatingStream(io.RawIOBase):
    """``prefix`` then ``pattern`` repeated, ``size`` bytes in all, made while read; not seekable.

    ``bytes_read`` says how far a reader went. ``tripwire``: asking for bytes past it raises, so code
    that reads on where it should have stopped fails at once instead of parsing 60 MB for minutes.
    """

    def __init__(self, pattern: bytes, size: int, prefix: bytes = b"", tripwire: int | None = None) -> None:
        self._prefix, self._pattern, self._size, self._tripwire = prefix, pattern, size, tripwire
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._size - self.bytes_read)
        if n <= 0:
            return 0
        if self._tripwire is not None and self.bytes_read + n > self._tripwire:
            raise AssertionError(f"read past byte {self._tripwire} of a {self._size}-byte upload")
        buffer[:n] = self._slice(self.bytes_read, n)
        self.bytes_read += n
        return n

    def _slice(self, start: int, n: int) -> bytes:
        out = bytearray()
        if start < len(self._prefix):
            out += self._prefix[start:start + n]
        offset = max(start, len(self._prefix)) - len(self._prefix)  # where in the repeated part
        while len(out) < n:
            k = offset % len(self._pattern)
            piece = self._pattern[k:k + n - len(out)]
            out += piece
            offset += len(piece)
        return bytes(out)


class CountingStream(io.BytesIO):
    """An in-memory upload that counts the bytes read from it (it stays seekable, as Werkzeug's are)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.bytes_read += n
        return n


def columns(n: int, name: str = "x") -> bytes:
    """A header of ``n`` columns all called ``name``, and one data row."""
    return (",".join([name] * n) + "\n" + ",".join(["1"] * n) + "\n").encode()
