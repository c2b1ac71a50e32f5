"""Schemathesis hooks for scripts/schemathesis.sh (SCHEMATHESIS_HOOKS=st_hooks, this folder on PYTHONPATH).

Environment:
  ST_ACCOUNTS  the JSON file written by accounts.py
  ST_ROLE      `agent` or `admin`: the account this run signs in as
  ST_HOOK_LOG  where to note sign-ins and repairs (optional)
  ST_TALLY     where to write, at exit, the answers per operation and status (optional)

Authentication (three providers, first match wins):
  - `/oauth/*`:           HTTP Basic with the run's service client,
  - `/api/v1/users/{id}`: a service access token (client credentials, `users:read`),
  - everything else:      a bearer token of the fuzzed user.
A case carries the token current when it was generated; just before it is sent, a token of ours
that has since been replaced (signed out by another case, or older than the 5 minutes after
which the run signs in again) is swapped for the live one, so that the case tests the operation
and not a dead token or a sign-in past the 10-minute window of the sensitive and admin routes.
Every operation is fuzzed, the destructive ones included, so the fuzzer signs its own session out
(logout, deleting the current session, an admin's 2FA reset of itself), locks its account with
wrong passwords at `/auth/reauth`, switches on "the site requires 2FA", deletes the service client.
So that the rest of the run still tests something, the hooks notice and repair: a 401 to the
current token retires it (the next case signs in again); a locked account, a site that requires
2FA, a dead service client are undone by the `rescue` admin (2FA on, never fuzzed).

Secrets no generated value matches (`before_call`): left to the fuzzer, the operations that stop
at a live refresh token, an `mfa_token`, the account's password or a session with a second
factor are only ever answered 401/403. For every other case of theirs the hooks put the real
thing in — a refresh token just minted, an `mfa_token` and its mailed code from the `second`
account (e-mailed codes, never fuzzed), the fuzzed account's password, or the `second`
account's signed-in session — so each is exercised past authentication too; the others
stay as generated.

Check `problem_json_errors`: every 4xx/5xx answer under `/api/`, `/.well-known/`, `/healthz`
and `/readyz` is `application/problem+json` with `type`, `title`, `status` (= the HTTP status),
`detail` and a string `code`; under `/oauth/` an error is RFC 6749 JSON with `error`.
"""

import atexit
import base64
import json
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import schemathesis
from accounts import outbox_code, totp

ACCOUNTS = json.load(open(os.environ["ST_ACCOUNTS"]))
ROLE = os.environ.get("ST_ROLE", "agent")
BASE = ACCOUNTS["base"]
TENANT = ACCOUNTS["tenant"]
# Sensitive actions need a sign-in within 10 minutes: sign in again well before.
MAX_TOKEN_AGE = 300

_lock = threading.RLock()
STATS = {
    "user_sign_ins": 0,
    "unlocks": 0,
    "service_tokens": 0,
    "require_2fa_undone": 0,
    "service_client_recreated": 0,
    "rescue_restored": 0,
    "secrets_given": 0,
}


def _log(message):
    path = os.environ.get("ST_HOOK_LOG")
    if path:
        with _lock, open(path, "a") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {message}\n")


def _note(key, message):
    with _lock:
        STATS[key] += 1
    _log(message)


def _http(method, path, body=None, token=None, form=None, basic=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = "Bearer " + token
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, text


def _login(account):
    return _http(
        "POST",
        "/api/v1/auth/login",
        {"tenant": TENANT, "email": account["email"], "password": account["password"], "token_delivery": "body"},
    )


# ---- the rescue admin ------------------------------------------------------------------------------
_rescue_failed_at = [0.0]


def _rescue_token(renew=False):
    """The rescue admin's access token; signs in again (password + a backup code) when it died.
    After a failed sign-in it waits 15 s before trying again (no hammering of a dead account)."""
    rescue = ACCOUNTS["rescue"]
    with _lock:
        if not renew and rescue.get("token"):
            return rescue["token"]
        if time.monotonic() - _rescue_failed_at[0] < 15:
            return None
        status, out = _login(rescue)
        if status == 200 and isinstance(out, dict) and out.get("status") == "mfa_required" and rescue["backup_codes"]:
            code = rescue["backup_codes"].pop()
            status, out = _http("POST", "/api/v1/auth/mfa/verify", {"mfa_token": out["mfa_token"], "backup_code": code})
        elif status == 200 and isinstance(out, dict) and out.get("status") == "authenticated":
            _give_rescue_2fa(out["access_token"])  # its 2FA was reset
        if status != 200 or not isinstance(out, dict) or out.get("status") != "authenticated":
            _rescue_failed_at[0] = time.monotonic()
            rescue["token"] = None
            _log(f"rescue admin cannot sign in: {status} {out}")
            return None
        rescue["token"] = out["access_token"]
        _log("rescue admin signed in again")
        if len(rescue["backup_codes"]) < 4:
            _renew_rescue_codes(rescue["token"])
        return rescue["token"]


def _renew_rescue_codes(token):
    """Each sign-in of the rescue admin spends a backup code, and a busy run restores it more
    often than one set lasts: a fresh set before the old one runs out."""
    status, out = _http("POST", "/api/v1/me/2fa/backup-codes/regenerate", {}, token=token)
    if status == 200:
        ACCOUNTS["rescue"]["backup_codes"] = out["backup_codes"]
    _log(f"rescue admin: new backup codes -> {status}")


def _give_rescue_2fa(token):
    status, setup = _http("POST", "/api/v1/me/2fa/totp/setup", {}, token=token)
    if status == 200:
        status, done = _http("POST", "/api/v1/me/2fa/totp/confirm", {"code": totp(setup["secret"])}, token=token)
        if status == 200:
            ACCOUNTS["rescue"]["backup_codes"] = done["backup_codes"]
    _log(f"rescue admin: authenticator app set up again -> {status}")


def _restore_rescue():
    """The fuzzed admin disabled, demoted, deleted or reset the rescue admin: put it back with
    the fuzzed admin's own token (only the admin run can do this, and only it needs to)."""
    rescue = ACCOUNTS["rescue"]
    token = SESSION.current()
    status, _ = _http("PATCH", f"/api/v1/admin/users/{rescue['id']}", {"role": "admin", "disabled": False}, token=token)
    if status == 404:
        rescue["email"] = f"st-rescue-{secrets.token_hex(4)}@fuzz.example"
        body = {"email": rescue["email"], "display_name": "Fuzz rescue", "password": rescue["password"], "role": "admin"}
        status, out = _http("POST", "/api/v1/admin/users", body, token=token)
        if status == 201:
            rescue["id"] = out["id"]
    with _lock:
        rescue["token"] = None
        _rescue_failed_at[0] = 0.0
    _note("rescue_restored", f"rescue admin touched by the fuzzer; restored -> {status}")
    _rescue_token(renew=True)


def _restore_second():
    """The fuzzed admin disabled, deleted or reset the `second` account: put it back (its
    e-mailed codes are turned on again at its next sign-in, see `_Second.attempt`)."""
    second = ACCOUNTS["second"]
    token = SESSION.current()
    status, _ = _http("PATCH", f"/api/v1/admin/users/{second['id']}", {"disabled": False}, token=token)
    if status == 404:
        second["email"] = f"st-second-{secrets.token_hex(4)}@fuzz.example"
        body = {"email": second["email"], "display_name": "Fuzz second", "password": second["password"], "role": "agent"}
        status, out = _http("POST", "/api/v1/admin/users", body, token=token)
        if status == 201:
            second["id"] = out["id"]
    with _lock:
        SECOND.token = None
    _note("rescue_restored", f"second account touched by the fuzzer; restored -> {status}")


def _as_rescue(method, path, body=None):
    token = _rescue_token()
    status, out = _http(method, path, body, token=token) if token else (None, None)
    if status == 401:
        token = _rescue_token(renew=True)
        status, out = _http(method, path, body, token=token) if token else (None, None)
    return status, out


# ---- the fuzzed user's bearer token ------------------------------------------------------------------
class _Session:
    def __init__(self):
        self.token = None
        self.born = 0.0
        # Every token this session handed out: a case carries the one current when it was
        # generated, which may be dead or past the 10-minute window when the case is sent.
        self.minted = set()

    def current(self):
        with _lock:
            if self.token is None or time.monotonic() - self.born > MAX_TOKEN_AGE:
                self.token = _sign_in(ACCOUNTS[ROLE])
                self.born = time.monotonic()
                self.minted.add(self.token)
            return self.token

    def retire(self, token):
        with _lock:
            if token == self.token:
                self.token = None


SESSION = _Session()


def _sign_in(account):
    """An access token for `account`; the rescue admin unlocks it when the fuzzer locked it."""
    status, out = _login(account)
    if status in (401, 429):
        unlocked, _ = _as_rescue("POST", f"/api/v1/admin/users/{account['id']}/unlock")
        _note("unlocks", f"{account['email']}: sign-in refused ({status}); rescue unlock -> {unlocked}")
        status, out = _login(account)
    if status != 200 or not isinstance(out, dict) or out.get("status") != "authenticated":
        _log(f"{account['email']}: sign-in failed: {status} {out}")
        raise RuntimeError(f"sign-in of {account['email']} failed: {status} {out}")
    _note("user_sign_ins", f"{account['email']}: signed in")
    return out["access_token"]


# ---- the second-factor account ------------------------------------------------------------------------
class _Second:
    """The `second` account (e-mailed codes): live `mfa_token`s with their codes, and a session
    signed in with the second factor. Every failure is logged and answers None: the case then
    goes out as generated."""

    def __init__(self):
        self.token = None
        self.born = 0.0
        # An attempt kept for `/mfa/resend`, which answers 429 within 60 s of the last code.
        self.waiting = None

    def _login(self):
        account = ACCOUNTS["second"]
        status, out = _login(account)
        if status in (401, 429):
            unlocked, _ = _as_rescue("POST", f"/api/v1/admin/users/{account['id']}/unlock")
            _note("unlocks", f"{account['email']}: sign-in refused ({status}); rescue unlock -> {unlocked}")
            status, out = _login(account)
        return status, out

    def attempt(self):
        """A new sign-in attempt of the second account: (mfa_token, the time its code was mailed)."""
        since = time.time() - 1
        status, out = self._login()
        if status == 200 and isinstance(out, dict) and out.get("status") == "authenticated":
            # The fuzzed admin reset its 2FA: turn e-mailed codes on again.
            self._enable(out["access_token"])
            since = time.time() - 1
            status, out = self._login()
        if status == 200 and isinstance(out, dict) and out.get("status") == "mfa_required":
            return out["mfa_token"], since
        _log(f"second account: no mfa_token: {status} {out}")
        return None, since

    def _enable(self, token):
        asked = time.time() - 1
        status, _ = _http("POST", "/api/v1/me/2fa/email/setup", {}, token=token)
        code = outbox_code(ACCOUNTS["outbox"], ACCOUNTS["second"]["email"], asked) if status == 202 else None
        if code is not None:
            status, _ = _http("POST", "/api/v1/me/2fa/email/confirm", {"code": code}, token=token)
        _log(f"second account: e-mailed codes turned on again -> {status}")

    def code_for(self, since):
        return outbox_code(ACCOUNTS["outbox"], ACCOUNTS["second"]["email"], since)

    def resend_token(self):
        """An `mfa_token` whose code went out more than 60 s ago when there is one (else a new one)."""
        with _lock:
            now = time.monotonic()
            if self.waiting and 61 < now - self.waiting[1] < 280:
                token, self.waiting = self.waiting[0], None
                return token
            if self.waiting and now - self.waiting[1] <= 61:
                return self.waiting[0]
            token, _ = self.attempt()
            self.waiting = (token, now) if token else None
            return token

    def session(self):
        """An access token of the second account, signed in with its mailed code."""
        with _lock:
            if self.token and time.monotonic() - self.born < MAX_TOKEN_AGE:
                return self.token
            self.token = None
            token, since = self.attempt()
            code = self.code_for(since) if token else None
            if code is None:
                return None
            status, out = _http("POST", "/api/v1/auth/mfa/verify", {"mfa_token": token, "code": code})
            if status == 200 and isinstance(out, dict) and out.get("status") == "authenticated":
                self.token, self.born = out["access_token"], time.monotonic()
                _note("user_sign_ins", f"{ACCOUNTS['second']['email']}: signed in with a mailed code")
            else:
                _log(f"second account: sign-in with its code failed: {status} {out}")
            return self.token

    def retire(self, token):
        with _lock:
            if token == self.token:
                self.token = None


SECOND = _Second()


def _fresh_refresh_token():
    """A refresh token of a new session of the fuzzed account, never used yet."""
    account = ACCOUNTS[ROLE]
    body = {"tenant": TENANT, "email": account["email"], "password": account["password"], "token_delivery": "body"}
    status, out = _http("POST", "/api/v1/auth/login", body)
    if status == 200 and isinstance(out, dict) and out.get("refresh_token"):
        return out["refresh_token"]
    _log(f"{account['email']}: no refresh token: {status} {out}")
    return None


# ---- the service client --------------------------------------------------------------------------------
class _Service:
    def __init__(self):
        self.token = None
        self.born = 0.0
        self.minted = set()

    def basic(self):
        svc = ACCOUNTS["service"]
        return svc["client_id"], svc["client_secret"]

    def current(self):
        with _lock:
            if self.token is None or time.monotonic() - self.born > 300:
                status, out = _http(
                    "POST", "/oauth/token", form={"grant_type": "client_credentials", "scope": "users:read"}, basic=self.basic()
                )
                if status == 401:
                    self.recreate()
                    status, out = _http(
                        "POST",
                        "/oauth/token",
                        form={"grant_type": "client_credentials", "scope": "users:read"},
                        basic=self.basic(),
                    )
                if status != 200:
                    raise RuntimeError(f"client credentials failed: {status} {out}")
                STATS["service_tokens"] += 1
                self.token, self.born = out["access_token"], time.monotonic()
                self.minted.add(self.token)
            return self.token

    def recreate(self):
        with _lock:
            status, out = _as_rescue(
                "POST", "/api/v1/admin/service-clients", {"name": "schemathesis", "scopes": ["users:read", "tokens:introspect"]}
            )
            if status == 201:
                ACCOUNTS["service"] = {"client_id": out["client_id"], "client_secret": out["client_secret"]}
                self.token = None
            _note("service_client_recreated", f"service client gone; rescue created a new one -> {status}")

    def retire(self, token):
        with _lock:
            if token == self.token:
                self.token = None


SERVICE = _Service()


@schemathesis.auth(refresh_interval=None).skip_for(path_regex=r"^/oauth/").skip_for(operation_id="user")
class UserBearer:
    def get(self, case, ctx):
        return SESSION.current()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=None).apply_to(operation_id="user")
class ServiceBearer:
    def get(self, case, ctx):
        return SERVICE.current()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=None).apply_to(path_regex=r"^/oauth/")
class ServiceBasic:
    def get(self, case, ctx):
        client_id, secret = SERVICE.basic()
        return base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Basic {data}"


def _json(response):
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - not JSON is simply "no body"
        return None


# One case in this many, per operation, gets the real secret.
SECRETS_EVERY = 2
_turns = {}
# Where the fuzzed account's own password goes.
PASSWORD_FIELDS = {
    "POST /api/v1/auth/reauth": "password",
    "POST /api/v1/me/2fa/disable": "password",
    "POST /api/v1/me/password": "current_password",
}
# What only a user with a second factor gets past `mfa_not_enabled` (and a fresh sign-in) with.
SECOND_SESSION_OPERATIONS = {
    "POST /api/v1/auth/reauth/email-code",
    "GET /api/v1/me/2fa/backup-codes",
    "POST /api/v1/me/2fa/backup-codes/download",
    "POST /api/v1/me/2fa/backup-codes/regenerate",
}


def _give_secret(key, case):
    """Puts the secret `key` stops at into `case`; True when it did."""
    body = case.body if isinstance(case.body, dict) else None
    headers = case.headers or {}
    # Only a case that carries the fuzzed account's bearer: the ones without, or with a broken
    # one, test exactly that.
    ours = SESSION.token is not None and headers.get("Authorization") == f"Bearer {SESSION.token}"
    if key == "POST /api/v1/auth/token/refresh" and body is not None:
        token = _fresh_refresh_token()
        if token:
            case.body = {**body, "refresh_token": token}
            return True
    elif key == "POST /api/v1/auth/mfa/verify" and body is not None:
        token, since = SECOND.attempt()
        code = SECOND.code_for(since) if token else None
        if code:
            given = {k: v for k, v in body.items() if k != "backup_code"}
            case.body = {**given, "mfa_token": token, "code": code}
            return True
    elif key == "POST /api/v1/auth/mfa/resend" and body is not None:
        token = SECOND.resend_token()
        if token:
            case.body = {**body, "mfa_token": token}
            return True
    elif key in PASSWORD_FIELDS and body is not None and ours:
        case.body = {**body, PASSWORD_FIELDS[key]: ACCOUNTS[ROLE]["password"]}
        return True
    elif key in SECOND_SESSION_OPERATIONS and ours:
        token = SECOND.session()
        if token:
            case.headers = {**headers, "Authorization": f"Bearer {token}"}
            return True
    return False


def _restamp(case):
    """A case generated with a token of ours that has since been replaced (signed out by another
    case, or older than the run signs in for) goes out with the live one: it tests the operation,
    not a dead token. Cases with no bearer or a broken one are left as they are."""
    headers = case.headers or {}
    sent = headers.get("Authorization") or ""
    if not sent.startswith("Bearer "):
        return
    token = sent[len("Bearer ") :]
    for holder in (SESSION, SERVICE):
        if token in holder.minted and token != holder.token:
            case.headers = {**headers, "Authorization": f"Bearer {holder.current()}"}
            return


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Fresh tokens for every case; the real secret for every other case of the
    operations that stop at one."""
    try:
        _restamp(case)
    except Exception as exc:  # noqa: BLE001 - the case then goes with the token it has
        _log(f"no fresh token: {exc!r}")
    key = f"{case.operation.method.upper()} {case.operation.path}"
    if key not in PASSWORD_FIELDS and key not in SECOND_SESSION_OPERATIONS and not key.startswith(
        ("POST /api/v1/auth/token/refresh", "POST /api/v1/auth/mfa/")
    ):
        return
    # Every other case per operation (not `random`: Hypothesis seeds it the same for every example).
    with _lock:
        _turns[key] = _turns.get(key, 0) + 1
        if _turns[key] % SECRETS_EVERY:
            return
    try:
        if _give_secret(key, case):
            with _lock:
                STATS["secrets_given"] += 1
    except Exception as exc:  # noqa: BLE001 - a failed repair must not fail the run: the case goes as generated
        _log(f"{key}: no secret given: {exc!r}")


_tally = {}
# What the fuzzed admin can do to the rescue admin that would make it useless.
RESCUE_HARM = re.compile(r"^(PATCH|DELETE) /api/v1/admin/users/\{id\}$|^POST /api/v1/admin/users/\{id\}/2fa/reset$")


@schemathesis.hook
def after_call(context, case, response):
    """Count what the run reached, and repair what would shut the rest of the run out."""
    key = f"{case.operation.method.upper()} {case.operation.path}"
    with _lock:
        per_op = _tally.setdefault(key, {})
        per_op[str(response.status_code)] = per_op.get(str(response.status_code), 0) + 1
    sent = response.request.headers.get("Authorization") or ""
    body = _json(response) if response.status_code in (401, 403) else None
    code = body.get("code") if isinstance(body, dict) else None
    if response.status_code == 401 and sent.startswith("Bearer "):
        SESSION.retire(sent[len("Bearer ") :])
        SERVICE.retire(sent[len("Bearer ") :])
        SECOND.retire(sent[len("Bearer ") :])
    if key == "POST /api/v1/me/password" and response.status_code == 204 and isinstance(case.body, dict):
        # The fuzzed account's password is what the case set: sign-ins use the new one.
        # (Only the fuzzed account's bearer reaches it, and only a case given its password succeeds.)
        with _lock:
            ACCOUNTS[ROLE]["password"] = case.body.get("new_password", ACCOUNTS[ROLE]["password"])
        _log(f"{ACCOUNTS[ROLE]['email']}: password changed by a case; noted")
    if response.status_code == 401 and sent.startswith("Basic ") and isinstance(body, dict):
        client_id, secret = SERVICE.basic()
        if body.get("error") == "invalid_client" and sent == "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode():
            SERVICE.recreate()
    rescue_id = ACCOUNTS["rescue"]["id"]
    if (
        ROLE == "admin"
        and 200 <= response.status_code < 300
        and rescue_id in response.request.url
        and RESCUE_HARM.match(f"{case.operation.method.upper()} {case.operation.path}")
    ):
        _restore_rescue()
    second_id = ACCOUNTS["second"]["id"]
    if (
        ROLE == "admin"
        and 200 <= response.status_code < 300
        and second_id in response.request.url
        and RESCUE_HARM.match(f"{case.operation.method.upper()} {case.operation.path}")
    ):
        _restore_second()
    if code == "mfa_setup_required":
        status, _ = _as_rescue("PATCH", "/api/v1/admin/settings", {"require_2fa": False})
        if status is not None:
            _note("require_2fa_undone", f"the site requires 2FA now; rescue switched it off -> {status}")


def _write_tally():
    path = os.environ.get("ST_TALLY")
    if path:
        with open(path, "w") as f:
            json.dump({"repairs": STATS, "statuses": _tally}, f, indent=1, sort_keys=True)


atexit.register(_write_tally)


# ---- the check ------------------------------------------------------------------------------------------
PROBLEM_PREFIXES = ("/api/", "/.well-known/")
PROBLEM_PATHS = ("/healthz", "/readyz")


def _media_type(response):
    value = response.headers.get("content-type") or []
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.split(";")[0].strip().lower()


@schemathesis.check
def problem_json_errors(ctx, response, case):
    if response.status_code < 400:
        return None
    path = urllib.parse.urlsplit(response.request.url).path
    media = _media_type(response)
    if path.startswith("/oauth/"):
        if media != "application/json":
            raise AssertionError(f"{response.status_code} under /oauth/ is {media or 'untyped'}, not application/json")
        body = _json(response)
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            raise AssertionError(f"{response.status_code} under /oauth/ has no RFC 6749 `error`: {body!r}")
        return None
    if not (path.startswith(PROBLEM_PREFIXES) or path in PROBLEM_PATHS):
        return None
    if media != "application/problem+json":
        raise AssertionError(f"{response.status_code} at {path} is {media or 'untyped'}, not application/problem+json")
    body = _json(response)
    if not isinstance(body, dict):
        raise AssertionError(f"{response.status_code} at {path}: the problem body is not a JSON object")
    if not isinstance(body.get("code"), str) or not body["code"]:
        raise AssertionError(f"{response.status_code} at {path}: problem has no `code`: {body!r}")
    for field in ("type", "title", "detail"):
        if not isinstance(body.get(field), str):
            raise AssertionError(f"{response.status_code} at {path}: problem has no string `{field}`: {body!r}")
    if body.get("status") != response.status_code:
        raise AssertionError(
            f"{response.status_code} at {path}: problem `status` is {body.get('status')!r}, not {response.status_code}"
        )
    return None
