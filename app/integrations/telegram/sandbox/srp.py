"""The server side of Telegram's SRP-2048 two-step password check.

The account keeps only a verifier ``v = g^x mod p`` (``x`` from the password and two salts); the
client proves it knows the password by sending ``A`` and ``M1`` (``telethon.password.compute_check``),
and we recompute ``M1`` from ``A``, ``B``, ``v`` and our secret ``b``. Written from Telegram's spec
(core.telegram.org/api/srp), not from Telethon's client, so a mismatch between the two shows up.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from telethon.tl import types

# Telegram's 2048-bit safe prime with g = 3; Telethon accepts it without factoring.
P_BYTES = bytes.fromhex(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DB"
    "FA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F6B41"
    "0DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F0D8115F635B105EE2E4E15D04B2454BF"
    "6F4FADF034B10403119CD8E3B92FCC5B"
)
P = int.from_bytes(P_BYTES, "big")
G = 3
_SIZE = 256


def _h(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def _pad(number: int) -> bytes:
    return number.to_bytes(_SIZE, "big")


def _ph2(password: str, salt1: bytes, salt2: bytes) -> bytes:
    """PH2 from the spec: salted SHA-256 twice around PBKDF2-HMAC-SHA512 (100,000 rounds)."""
    ph1 = _h(salt2, _h(salt1, password.encode(), salt1), salt2)
    return _h(salt2, hashlib.pbkdf2_hmac("sha512", ph1, salt1, 100_000), salt2)


_K = int.from_bytes(_h(P_BYTES, _pad(G)), "big")


@dataclass(frozen=True)
class Verifier:
    salt1: bytes
    salt2: bytes
    v: int

    @classmethod
    def for_password(cls, password: str) -> Verifier:
        salt1, salt2 = os.urandom(40), os.urandom(16)
        x = int.from_bytes(_ph2(password, salt1, salt2), "big")
        return cls(salt1, salt2, pow(G, x, P))

    @property
    def algo(self) -> types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow:
        return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=self.salt1, salt2=self.salt2, g=G, p=P_BYTES)


@dataclass(frozen=True)
class Challenge:
    """One ``account.getPassword`` answer: the secret ``b`` stays here, ``B`` goes to the client."""

    srp_id: int
    b: int
    B: int

    @property
    def srp_b(self) -> bytes:
        return _pad(self.B)


def _good_mod_exp(value: int) -> bool:
    # The client refuses g^b and A unless they are far from 0 and from p (same bounds as the spec).
    diff = P - value
    return diff > 0 and diff.bit_length() >= 2048 - 64 and value.bit_length() >= 2048 - 64


def new_challenge(verifier: Verifier) -> Challenge:
    while True:
        b = int.from_bytes(os.urandom(_SIZE), "big")
        g_b = pow(G, b, P)
        big_b = (_K * verifier.v + g_b) % P
        if _good_mod_exp(g_b) and 0 < big_b < P:
            return Challenge(int.from_bytes(os.urandom(8), "big") >> 1, b, big_b)


def check(verifier: Verifier, challenge: Challenge, a_bytes: bytes, m1: bytes) -> bool:
    """True when the client's ``M1`` proves it derived the same session key from the password."""
    a = int.from_bytes(a_bytes, "big")
    if not 0 < a < P or not _good_mod_exp(a):
        return False
    u = int.from_bytes(_h(_pad(a), challenge.srp_b), "big")
    if u == 0:
        return False
    s = pow(a * pow(verifier.v, u, P) % P, challenge.b, P)
    expected = _h(
        bytes(x ^ y for x, y in zip(_h(P_BYTES), _h(_pad(G)), strict=True)),
        _h(verifier.salt1), _h(verifier.salt2), _pad(a), challenge.srp_b, _h(_pad(s)),
    )
    return hmac.compare_digest(expected, m1)
