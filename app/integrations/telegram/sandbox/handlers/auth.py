"""auth.* and account.getPassword: code login, the two-step password (SRP), QR login, logout."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from telethon.tl import functions, types

from app.integrations.telegram.sandbox import srp
from app.integrations.telegram.sandbox.handlers.base import Call, handles
from app.integrations.telegram.sandbox.records import Account
from app.integrations.telegram.sandbox.render import when
from app.integrations.telegram.sandbox.world import TEST_PHONE, login_code, normalize_phone


def _signed_in(call: Call, account: Account) -> types.auth.Authorization:
    session = call.session
    session.account, session.awaiting_password, session.challenge = account, None, None
    session.missed_updates = False  # a fresh login starts from getState, nothing to catch up
    return types.auth.Authorization(user=call.user(account.profile))


def _password_gate(call: Call, account: Account) -> types.auth.Authorization:
    if account.password:
        call.session.awaiting_password = account
        raise call.error(401, "SESSION_PASSWORD_NEEDED")
    return _signed_in(call, account)


@handles(functions.auth.SendCodeRequest, signed_in=False)
def send_code(call: Call, request: functions.auth.SendCodeRequest) -> types.auth.SentCode:
    phone = normalize_phone(request.phone_number)
    if not TEST_PHONE.match(phone):
        raise call.error(400, "PHONE_NUMBER_INVALID")
    if phone not in call.world.accounts and call.world.auto_register:
        call.world.register(phone)
    code_hash = os.urandom(9).hex()
    call.session.code_hashes[code_hash] = phone
    return types.auth.SentCode(type=types.auth.SentCodeTypeApp(length=5), phone_code_hash=code_hash)


@handles(functions.auth.SignInRequest, signed_in=False)
def sign_in(call: Call, request: functions.auth.SignInRequest) -> object:
    phone = normalize_phone(request.phone_number)
    if call.session.code_hashes.get(request.phone_code_hash) != phone:
        raise call.error(400, "PHONE_CODE_EXPIRED")
    if not request.phone_code:
        raise call.error(400, "PHONE_CODE_EMPTY")
    if request.phone_code != login_code(phone):
        raise call.error(400, "PHONE_CODE_INVALID")  # the code stays valid for another try
    del call.session.code_hashes[request.phone_code_hash]
    account = call.world.accounts.get(phone)
    if account is None:
        return types.auth.AuthorizationSignUpRequired()
    return _password_gate(call, account)


@handles(functions.account.GetPasswordRequest, signed_in=False)
def get_password(call: Call, request: functions.account.GetPasswordRequest) -> types.account.Password:
    account = call.session.account or call.session.awaiting_password
    if account is None:
        raise call.error(401, "AUTH_KEY_UNREGISTERED")
    fresh = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
        salt1=os.urandom(32), salt2=os.urandom(16), g=srp.G, p=srp.P_BYTES)
    common = {
        "new_algo": fresh, "secure_random": os.urandom(32),
        "new_secure_algo": types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(salt=os.urandom(8)),
    }
    verifier = account.verifier()
    if verifier is None:
        return types.account.Password(has_password=False, **common)
    call.session.challenge = challenge = srp.new_challenge(verifier)
    return types.account.Password(
        has_password=True, current_algo=verifier.algo, srp_B=challenge.srp_b, srp_id=challenge.srp_id,
        hint=account.hint or None, **common)


@handles(functions.auth.CheckPasswordRequest, signed_in=False)
def check_password(call: Call, request: functions.auth.CheckPasswordRequest) -> types.auth.Authorization:
    account, challenge = call.session.awaiting_password, call.session.challenge
    proof = request.password
    if account is None or challenge is None or not isinstance(proof, types.InputCheckPasswordSRP) \
            or proof.srp_id != challenge.srp_id:
        raise call.error(400, "SRP_ID_INVALID")
    call.session.challenge = None  # one proof per challenge, as on Telegram
    verifier = account.verifier()
    assert verifier is not None
    if not srp.check(verifier, challenge, proof.A, proof.M1):
        raise call.error(400, "PASSWORD_HASH_INVALID")
    return _signed_in(call, account)


def _scanned_token(call: Call) -> tuple[bytes, Account] | None:
    for token, (key_id, _, scanned_by) in call.world.login_tokens.items():
        if key_id == call.session.key_id and scanned_by is not None:
            return token, scanned_by
    return None


@handles(functions.auth.ExportLoginTokenRequest, signed_in=False)
def export_login_token(call: Call, request: functions.auth.ExportLoginTokenRequest) -> object:
    """A QR token; once ``world.accept_qr`` scanned it, the next export is the login itself."""
    if call.session.account is not None:
        return types.auth.LoginTokenSuccess(types.auth.Authorization(user=call.user(call.account.profile)))
    scanned = _scanned_token(call)
    if scanned:
        token, account = scanned
        del call.world.login_tokens[token]
        return types.auth.LoginTokenSuccess(_password_gate(call, account))
    now = time.time()
    for token in [t for t, (_, expires, _) in call.world.login_tokens.items() if expires < now]:
        del call.world.login_tokens[token]
    token, expires = os.urandom(32), now + call.world.qr_ttl
    call.world.login_tokens[token] = (call.session.key_id, expires, None)
    return types.auth.LoginToken(expires=when(int(expires)), token=token)


@handles(functions.auth.ImportLoginTokenRequest, signed_in=False)
def import_login_token(call: Call, request: functions.auth.ImportLoginTokenRequest) -> object:
    if request.token not in call.world.login_tokens:
        raise call.error(400, "AUTH_TOKEN_INVALID")
    key_id, expires, scanned_by = call.world.login_tokens[request.token]
    if key_id != call.session.key_id:
        raise call.error(400, "AUTH_TOKEN_INVALID")
    if scanned_by is None:
        return types.auth.LoginToken(expires=when(int(expires)), token=request.token)
    del call.world.login_tokens[request.token]
    return types.auth.LoginTokenSuccess(_password_gate(call, scanned_by))


@handles(functions.auth.AcceptLoginTokenRequest)
def accept_login_token(call: Call, request: functions.auth.AcceptLoginTokenRequest) -> types.Authorization:
    """Another signed-in sandbox client scans a QR code, as the phone app does."""
    if request.token not in call.world.login_tokens:
        raise call.error(400, "AUTH_TOKEN_INVALID")
    call.world.accept_qr(request.token, call.account.phone)
    now = datetime.now(UTC)
    return types.Authorization(
        hash=int.from_bytes(os.urandom(7), "big"), device_model="Sandbox", platform="sandbox",
        system_version="1", api_id=1, app_name="sandbox", app_version="1", date_created=now,
        date_active=now, ip="127.0.0.1", country="Sandbox", region="")


@handles(functions.auth.LogOutRequest)
def log_out(call: Call, request: functions.auth.LogOutRequest) -> types.auth.LoggedOut:
    call.session.account = None
    return types.auth.LoggedOut()
