"""Fresh accounts for the contract fuzzing run (scripts/schemathesis.sh).

Signs in as the bootstrap admin of a brand-new site and creates, through the public API:
  - `agent`:  the agent the first fuzzing run signs in as,
  - `admin`:  the bootstrap admin, fuzzed in the second run,
  - `rescue`: a second admin, with 2FA, that is never fuzzed; the hooks use it only to undo what
              would shut the fuzzed account out (a lock, a site that requires 2FA, a deleted
              service client),
  - `second`: an agent with e-mailed codes (read from the server's dev outbox), never fuzzed
              itself; the hooks take from it what the second-factor operations need to get past
              authentication: live `mfa_token`s, codes, a signed-in session with 2FA,
  - a service client with `users:read tokens:introspect` for `/oauth/*` and `/api/v1/users/{id}`.
Writes them as JSON to the path given. Standard library only (runs with any python3).
"""

import base64
import email
import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import sys
import time
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        raise SystemExit(f"accounts: {method} {path} -> {err.code}: {text}") from None


def sign_in(base, tenant, email, password):
    _, out = call(
        base,
        "POST",
        "/api/v1/auth/login",
        {"tenant": tenant, "email": email, "password": password, "token_delivery": "body"},
    )
    if out.get("status") != "authenticated":
        raise SystemExit(f"accounts: {email} did not sign in: {out}")
    return out["access_token"]


def totp(secret, at=None):
    """RFC 6238: six digits, SHA-1, 30-second steps."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def outbox_code(outbox, address, after=0.0, timeout=10.0):
    """The newest one-time code mailed to `address` (the server's dev outbox: one .eml file per
    mail, named by its millisecond time) in a file written at or after `after` (Unix seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            names = sorted(os.listdir(outbox), reverse=True)
        except FileNotFoundError:
            names = []
        for name in names:
            try:
                if int(name.split("-", 1)[0]) / 1000 < after:
                    break
                with open(os.path.join(outbox, name), "rb") as f:
                    msg = email.message_from_bytes(f.read())
            except (ValueError, OSError):
                continue
            if msg.get("To", "").strip().lower() != address.lower():
                continue
            body = msg.get_payload(decode=True) or b""
            found = re.search(r"code is (\d{6})", body.decode("utf-8", "replace"))
            if found:
                return found.group(1)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def enable_email_2fa(base, token, address, outbox):
    """Turns e-mailed codes on for a freshly signed-in user; True when it worked."""
    asked = time.time() - 1
    status, _ = call(base, "POST", "/api/v1/me/2fa/email/setup", {}, token)
    code = outbox_code(outbox, address, asked) if status == 202 else None
    if code is None:
        return False
    status, _ = call(base, "POST", "/api/v1/me/2fa/email/confirm", {"code": code}, token)
    return status == 200


def main():
    base, tenant, admin_email, admin_password, out_path = sys.argv[1:6]
    admin_token = sign_in(base, tenant, admin_email, admin_password)
    accounts = {
        "base": base,
        "tenant": tenant,
        "admin": {"email": admin_email, "password": admin_password},
    }
    for key, role in (("agent", "agent"), ("rescue", "admin"), ("second", "agent")):
        email = f"st-{key}-{secrets.token_hex(4)}@fuzz.example"
        password = "St-" + secrets.token_urlsafe(18)
        _, user = call(
            base,
            "POST",
            "/api/v1/admin/users",
            {"email": email, "display_name": f"Fuzz {key}", "password": password, "role": role},
            admin_token,
        )
        accounts[key] = {"email": email, "password": password, "id": user["id"]}
        sign_in(base, tenant, email, password)  # the account really works
    # The rescue admin gets an authenticator app: a site that requires 2FA (the fuzzer may switch
    # that on) does not lock it out, so it can switch it off again. Its backup codes sign it in.
    rescue = accounts["rescue"]
    rescue_token = sign_in(base, tenant, rescue["email"], rescue["password"])
    _, setup = call(base, "POST", "/api/v1/me/2fa/totp/setup", {}, rescue_token)
    _, confirmed = call(base, "POST", "/api/v1/me/2fa/totp/confirm", {"code": totp(setup["secret"])}, rescue_token)
    rescue["token"] = rescue_token
    rescue["backup_codes"] = confirmed["backup_codes"]
    # The server runs in the run folder, where its dev transport writes mails to data/outbox.
    accounts["outbox"] = os.path.join(os.path.dirname(os.path.abspath(out_path)), "data", "outbox")
    second = accounts["second"]
    second_token = sign_in(base, tenant, second["email"], second["password"])
    if not enable_email_2fa(base, second_token, second["email"], accounts["outbox"]):
        raise SystemExit("accounts: e-mailed codes could not be turned on for the second-factor account")
    _, me = call(base, "GET", "/api/v1/me", token=admin_token)
    accounts["admin"]["id"] = me["id"]
    _, client = call(
        base,
        "POST",
        "/api/v1/admin/service-clients",
        {"name": "schemathesis", "scopes": ["users:read", "tokens:introspect"]},
        admin_token,
    )
    accounts["service"] = {"client_id": client["client_id"], "client_secret": client["client_secret"]}
    with open(out_path, "w") as f:
        json.dump(accounts, f, indent=2)


if __name__ == "__main__":
    main()
