//! A small OpenID Provider of our own, inside the test process, for what a certified provider
//! will not do: mint one kind of bad ID token at a time (OpenID Connect Core 3.1.3.7), and serve
//! Microsoft-shaped multi-tenant metadata (a literal `{tenantid}` issuer, `tid` and `oid`).
//!
//! It runs on `http://127.0.0.1:PORT` with its own RSA key. `/authorize` answers at once with a
//! redirect to the client's `redirect_uri` carrying `code` and `state` (no login page: any HTTP
//! client, or [`crate::oidc::login_at_provider`], gets the callback URL from the first answer);
//! `/token` checks the code, the redirect URI, the client and the PKCE verifier like a real
//! provider, and then hands out an ID token shaped by the current [`Mode`], read at token time.
//!
//! Paths: `/.well-known/openid-configuration` (Google-like only),
//! `/{tenant}/v2.0/.well-known/openid-configuration` (multi-tenant only), `/authorize`,
//! `/token`, `/jwks`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};

/// The tenant (`tid`) of the multi-tenant provider's tokens until [`HostileIdp::set_tenant`].
pub const DEFAULT_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// Another well-formed tenant id: the `tid` of [`Mode::TenantNotAllowed`] tokens, and the tenant
/// in the issuer of multi-tenant [`Mode::WrongIssuer`] tokens. Keep it off allow-lists.
pub const FOREIGN_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The `tid` (and issuer tenant) of [`Mode::TenantNotGuid`] tokens.
pub const NOT_A_GUID_TENANT: &str = "contoso.onmicrosoft.com";
/// `expires_in` of the access token, and the lifetime of a good ID token, in seconds.
const TOKEN_LIFETIME: i64 = 3600;

/// What the next ID token (and, for [`Mode::AccessDenied`], the next authorization) looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A correct token.
    Good,
    /// `nonce` is not the one sent to `/authorize`.
    WrongNonce,
    /// `aud` is another client's id.
    WrongAudience,
    /// `iss` is not the discovered issuer (multi-tenant: the issuer names [`FOREIGN_TENANT`]
    /// while `tid` is the configured tenant).
    WrongIssuer,
    /// RS256 with the published `kid`, but signed by another key.
    BadSignature,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the published `kid`, the HMAC key being the PEM of the provider's public key.
    Hs256WithPublicKey,
    /// `exp` an hour in the past (`iat` two hours ago).
    Expired,
    /// `iat` a day in the future (`exp` an hour after that).
    IssuedInFuture,
    /// RS256 with a `kid` that is not in the JWKS (signed by another key).
    UnknownKid,
    /// No `sub` claim.
    MissingSub,
    /// Multi-tenant: a correct token from the configured tenant ([`HostileIdp::set_tenant`]).
    /// On the Google-like provider, the same as `Good`.
    TenantGood,
    /// Multi-tenant: a correct token from [`FOREIGN_TENANT`], whose issuer matches its `tid`.
    /// On the Google-like provider, the same as `Good`.
    TenantNotAllowed,
    /// Multi-tenant: `tid` is [`NOT_A_GUID_TENANT`], the issuer matching it.
    /// On the Google-like provider, the same as `Good`.
    TenantNotGuid,
    /// `/authorize` redirects with `error=access_denied` (and the `state`) instead of a code.
    AccessDenied,
}

/// The provider's signing key, with what it publishes and what the HS256 attack uses.
struct IdpKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Jwk,
    public_pem: String,
}

impl IdpKey {
    fn generate() -> Self {
        let pem = cloudcx_auth::auth::jwt::generate_rsa_pem().expect("rsa key");
        let signing = cloudcx_auth::auth::jwt::SigningKey::from_pem(&pem).expect("signing key");
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
        Self { kid: signing.kid.clone(), encoding, jwk: signing.jwk.clone(), public_pem: public_pem_of(&pem) }
    }
}

/// The SubjectPublicKeyInfo PEM of an RSA PKCS#8 private key PEM.
fn public_pem_of(private_pem: &str) -> String {
    let b64: String = private_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).expect("pem base64");
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).expect("pkcs8 rsa key");
    let spki = pair.public_key().as_der().expect("public key der");
    let body = base64::engine::general_purpose::STANDARD.encode(spki.as_ref());
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

/// A key no provider publishes: signs the `BadSignature` and `UnknownKid` tokens.
fn rogue_key() -> &'static EncodingKey {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = cloudcx_auth::auth::jwt::generate_rsa_pem().expect("rsa key");
        EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key")
    })
}

/// What `/authorize` remembered for a code.
struct Pending {
    nonce: Option<String>,
    code_challenge: String,
    redirect_uri: String,
}

struct Settings {
    mode: Mode,
    tenant: String,
    amr: Option<Vec<String>>,
    subject: String,
    object_id: String,
    email: String,
    email_verified: bool,
    name: String,
    client_secret: Option<String>,
    clock_offset: i64,
    key: Arc<IdpKey>,
}

struct Shared {
    /// `http://127.0.0.1:PORT`.
    base: String,
    client_id: String,
    multi_tenant: bool,
    settings: Mutex<Settings>,
    codes: Mutex<HashMap<String, Pending>>,
    jwks_fetches: AtomicUsize,
    token_requests: AtomicUsize,
}

impl Shared {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn codes(&self) -> MutexGuard<'_, HashMap<String, Pending>> {
        self.codes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running hostile provider; the server stops when this is dropped.
pub struct HostileIdp {
    /// `http://127.0.0.1:PORT`. For the Google-like provider this is also the issuer.
    pub issuer: String,
    shared: Arc<Shared>,
    handle: ServerHandle,
}

impl HostileIdp {
    /// A Google-like provider for one client: discovery at
    /// `{issuer}/.well-known/openid-configuration`, whose `issuer` is `issuer`.
    pub async fn start(client_id: &str) -> Self {
        Self::launch(client_id, false).await
    }

    /// A Microsoft-like multi-tenant provider for one client: discovery at
    /// `{issuer}/common/v2.0/.well-known/openid-configuration` (also `organizations`, and
    /// `{tid}/v2.0/…` with that tenant's own issuer) with `"issuer": "{issuer}/{tenantid}/v2.0"`
    /// (a literal `{tenantid}`); tokens carry `tid` and `oid`, and `iss` = `{issuer}/{tid}/v2.0`.
    pub async fn start_multi_tenant(client_id: &str) -> Self {
        Self::launch(client_id, true).await
    }

    async fn launch(client_id: &str, multi_tenant: bool) -> Self {
        let key = tokio::task::spawn_blocking(IdpKey::generate).await.expect("key generation");
        // Warm the rogue key now rather than inside a request.
        tokio::task::spawn_blocking(rogue_key).await.expect("key generation");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let base = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Shared {
            base: base.clone(),
            client_id: client_id.to_string(),
            multi_tenant,
            settings: Mutex::new(Settings {
                mode: Mode::Good,
                tenant: DEFAULT_TENANT.to_string(),
                amr: None,
                subject: "hostile-subject-1".to_string(),
                object_id: "00000000-0000-0000-66f3-3332eca7ea81".to_string(),
                email: "sso.user@example.com".to_string(),
                email_verified: true,
                name: "SSO User".to_string(),
                client_secret: None,
                clock_offset: 0,
                key: Arc::new(key),
            }),
            codes: Mutex::new(HashMap::new()),
            jwks_fetches: AtomicUsize::new(0),
            token_requests: AtomicUsize::new(0),
        });
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery_root))
                .route("/{tenant}/v2.0/.well-known/openid-configuration", web::get().to(discovery_tenant))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
                .route("/jwks", web::get().to(jwks))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { issuer: base, shared, handle }
    }

    /// Shapes the next ID tokens (and authorizations).
    pub fn set_mode(&self, m: Mode) {
        self.shared.settings().mode = m;
    }

    /// The tenant of [`Mode::Good`] and [`Mode::TenantGood`] tokens on the multi-tenant
    /// provider (default [`DEFAULT_TENANT`]); [`Mode::TenantNotAllowed`] uses
    /// [`FOREIGN_TENANT`] whatever this is.
    pub fn set_tenant(&self, tid: &str) {
        self.shared.settings().tenant = tid.to_string();
    }

    /// The configured tenant (see [`HostileIdp::set_tenant`]).
    pub fn tenant(&self) -> String {
        self.shared.settings().tenant.clone()
    }

    /// The `amr` claim of the next tokens; `None` (the default) leaves it out.
    pub fn set_amr(&self, amr: Option<Vec<String>>) {
        self.shared.settings().amr = amr;
    }

    /// The `sub` of the next tokens (default `hostile-subject-1`).
    pub fn set_subject(&self, sub: &str) {
        self.shared.settings().subject = sub.to_string();
    }

    /// The `oid` of the next multi-tenant tokens (default a fixed GUID).
    pub fn set_object_id(&self, oid: &str) {
        self.shared.settings().object_id = oid.to_string();
    }

    /// The `email` and `email_verified` of the next tokens (default `sso.user@example.com`, true).
    pub fn set_email(&self, email: &str, verified: bool) {
        let mut s = self.shared.settings();
        s.email = email.to_string();
        s.email_verified = verified;
    }

    /// The `name` of the next tokens (default `SSO User`).
    pub fn set_name(&self, name: &str) {
        self.shared.settings().name = name.to_string();
    }

    /// Makes `/token` demand this client secret; by default any non-empty secret is accepted
    /// (the client id is always checked).
    pub fn set_client_secret(&self, secret: &str) {
        self.shared.settings().client_secret = Some(secret.to_string());
    }

    /// Moves the provider's clock (for `iat`/`exp`) by this many seconds from the system clock,
    /// to follow a test that advanced the application's `TestClock`.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.shared.settings().clock_offset = seconds;
    }

    /// Replaces the signing key (a new `kid`): the JWKS changes at once, and so does the key
    /// of the next tokens. For the "refetch the keys on an unknown `kid`" rule.
    pub async fn rotate_key(&self) {
        let key = tokio::task::spawn_blocking(IdpKey::generate).await.expect("key generation");
        self.shared.settings().key = Arc::new(key);
    }

    /// The `kid` of the current signing key.
    pub fn kid(&self) -> String {
        self.shared.settings().key.kid.clone()
    }

    /// How many times `/jwks` has been fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many requests `/token` has received (successful or not).
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    /// The client id this provider serves.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The base URL to register as the SSO application's `issuer`: for the multi-tenant
    /// provider `{issuer}/common/v2.0`, for the Google-like one `issuer`.
    pub fn discovery_base(&self) -> String {
        if self.shared.multi_tenant {
            format!("{}/common/v2.0", self.issuer)
        } else {
            self.issuer.clone()
        }
    }

    /// `{discovery_base}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.discovery_base())
    }

    /// The issuer the discovery document names (multi-tenant: with a literal `{tenantid}`).
    pub fn discovered_issuer(&self) -> String {
        if self.shared.multi_tenant {
            format!("{}/{{tenantid}}/v2.0", self.issuer)
        } else {
            self.issuer.clone()
        }
    }

    /// The `iss` a good token from tenant `tid` carries (Google-like: the issuer).
    pub fn issuer_for_tenant(&self, tid: &str) -> String {
        if self.shared.multi_tenant {
            format!("{}/{tid}/v2.0", self.issuer)
        } else {
            self.issuer.clone()
        }
    }
}

impl Drop for HostileIdp {
    fn drop(&mut self) {
        // The stop command is sent at once; the returned future only waits for it.
        drop(self.handle.stop(false));
    }
}

fn metadata(s: &Shared, issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{}/authorize", s.base),
        "token_endpoint": format!("{}/token", s.base),
        "jwks_uri": format!("{}/jwks", s.base),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "name", "amr", "tid", "oid"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code"],
    })
}

async fn discovery_root(s: web::Data<Shared>) -> HttpResponse {
    if s.multi_tenant {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok().json(metadata(&s, &s.base))
}

async fn discovery_tenant(s: web::Data<Shared>, tenant: web::Path<String>) -> HttpResponse {
    if !s.multi_tenant {
        return HttpResponse::NotFound().finish();
    }
    let issuer = match tenant.as_str() {
        "common" | "organizations" | "consumers" => format!("{}/{{tenantid}}/v2.0", s.base),
        tid => format!("{}/{tid}/v2.0", s.base),
    };
    HttpResponse::Ok().json(metadata(&s, &issuer))
}

async fn jwks(s: web::Data<Shared>) -> HttpResponse {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let jwk = s.settings().key.jwk.clone();
    HttpResponse::Ok().json(JwkSet { keys: vec![jwk] })
}

fn bad_request(error: &str, description: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": error, "error_description": description}))
}

fn redirect(to: url::Url) -> HttpResponse {
    HttpResponse::Found().insert_header(("location", to.to_string())).finish()
}

async fn authorize(s: web::Data<Shared>, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    // Errors about the client or the redirect URI are shown here, never redirected (RFC 6749 4.1.2.1).
    if q.get("client_id") != Some(&s.client_id) {
        return bad_request("invalid_client", "unknown client_id");
    }
    let Some(redirect_uri) = q.get("redirect_uri") else {
        return bad_request("invalid_request", "redirect_uri missing");
    };
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return bad_request("invalid_request", "redirect_uri is not a URL");
    };
    let state = q.get("state");
    let problem = if q.get("response_type").map(String::as_str) != Some("code") {
        Some(("unsupported_response_type", "only code"))
    } else if !q.get("scope").is_some_and(|sc| sc.split(' ').any(|x| x == "openid")) {
        Some(("invalid_scope", "openid scope required"))
    } else if q.get("code_challenge_method").map(String::as_str) != Some("S256") || !q.contains_key("code_challenge") {
        Some(("invalid_request", "PKCE with S256 is required"))
    } else if s.settings().mode == Mode::AccessDenied {
        Some(("access_denied", "the user said no"))
    } else {
        None
    };
    {
        let mut pairs = target.query_pairs_mut();
        match problem {
            Some((error, description)) => {
                pairs.append_pair("error", error).append_pair("error_description", description);
            }
            None => {
                let code = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
                s.codes().insert(
                    code.clone(),
                    Pending {
                        nonce: q.get("nonce").cloned(),
                        code_challenge: q.get("code_challenge").cloned().unwrap_or_default(),
                        redirect_uri: redirect_uri.clone(),
                    },
                );
                pairs.append_pair("code", &code);
            }
        }
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
    }
    redirect(target)
}

/// `%XX` and `+` decoding of one `application/x-www-form-urlencoded` value (RFC 6749 2.3.1).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", s.replace('&', "%26").replace('=', "%3D")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The client's `(id, secret)` from HTTP Basic or from the form.
fn client_credentials(req: &HttpRequest, form: &HashMap<String, String>) -> Option<(String, String)> {
    if let Some(basic) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
    {
        let raw = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (id, secret) = raw.split_once(':')?;
        return Some((form_decode(id), form_decode(secret)));
    }
    Some((form.get("client_id")?.clone(), form.get("client_secret")?.clone()))
}

async fn token(s: web::Data<Shared>, req: HttpRequest, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    let form = form.into_inner();
    let Some((client_id, secret)) = client_credentials(&req, &form) else {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    };
    let expected_secret = s.settings().client_secret.clone();
    let secret_ok = match expected_secret {
        Some(expected) => secret == expected,
        None => !secret.is_empty(),
    };
    if client_id != s.client_id || !secret_ok {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return bad_request("unsupported_grant_type", "only authorization_code");
    }
    // A code is good for one attempt, right or wrong.
    let Some(pending) = form.get("code").and_then(|c| s.codes().remove(c)) else {
        return bad_request("invalid_grant", "unknown or used code");
    };
    if form.get("redirect_uri") != Some(&pending.redirect_uri) {
        return bad_request("invalid_grant", "redirect_uri does not match");
    }
    let verifier_ok =
        form.get("code_verifier").is_some_and(|v| crate::oidc::pkce_challenge(v) == pending.code_challenge);
    if !verifier_ok {
        return bad_request("invalid_grant", "PKCE verification failed");
    }
    let id_token = mint(&s, pending.nonce.as_deref());
    HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(json!({
        "access_token": uuid::Uuid::new_v4().simple().to_string(),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": "openid email profile",
        "id_token": id_token,
    }))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The ID token the current mode calls for.
fn mint(s: &Shared, nonce: Option<&str>) -> String {
    let cfg = s.settings();
    let mode = cfg.mode;
    let now = chrono::Utc::now().timestamp() + cfg.clock_offset;
    let (iat, exp) = match mode {
        Mode::Expired => (now - 2 * TOKEN_LIFETIME, now - TOKEN_LIFETIME),
        Mode::IssuedInFuture => (now + 86_400, now + 86_400 + TOKEN_LIFETIME),
        _ => (now, now + TOKEN_LIFETIME),
    };
    let tid = match mode {
        Mode::TenantNotAllowed => FOREIGN_TENANT.to_string(),
        Mode::TenantNotGuid => NOT_A_GUID_TENANT.to_string(),
        _ => cfg.tenant.clone(),
    };
    let iss = match (s.multi_tenant, mode) {
        (true, Mode::WrongIssuer) => format!("{}/{FOREIGN_TENANT}/v2.0", s.base),
        (true, _) => format!("{}/{tid}/v2.0", s.base),
        (false, Mode::WrongIssuer) => format!("{}/wrong-issuer", s.base),
        (false, _) => s.base.clone(),
    };
    let aud = if mode == Mode::WrongAudience { format!("{}-other", s.client_id) } else { s.client_id.clone() };

    let mut claims = Map::new();
    claims.insert("iss".into(), json!(iss));
    if mode != Mode::MissingSub {
        claims.insert("sub".into(), json!(cfg.subject));
    }
    claims.insert("aud".into(), json!(aud));
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(exp));
    claims.insert("auth_time".into(), json!(iat));
    if let Some(nonce) = nonce {
        let nonce = if mode == Mode::WrongNonce { format!("{nonce}-not") } else { nonce.to_string() };
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("email".into(), json!(cfg.email));
    claims.insert("email_verified".into(), json!(cfg.email_verified));
    claims.insert("name".into(), json!(cfg.name));
    if s.multi_tenant {
        claims.insert("tid".into(), json!(tid));
        claims.insert("oid".into(), json!(cfg.object_id));
        claims.insert("ver".into(), json!("2.0"));
        claims.insert("preferred_username".into(), json!(cfg.email));
    }
    if let Some(amr) = &cfg.amr {
        claims.insert("amr".into(), json!(amr));
    }
    let claims = Value::Object(claims);
    let key = cfg.key.clone();
    drop(cfg);

    let rs256 = |kid: String, signer: &EncodingKey| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        jsonwebtoken::encode(&header, &claims, signer).expect("sign id token")
    };
    match mode {
        Mode::AlgNone => {
            let header = json!({"alg": "none", "typ": "JWT", "kid": key.kid});
            format!("{}.{}.", b64url(header.to_string().as_bytes()), b64url(claims.to_string().as_bytes()))
        }
        Mode::Hs256WithPublicKey => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.kid.clone());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key.public_pem.as_bytes()))
                .expect("sign id token")
        }
        Mode::BadSignature => rs256(key.kid.clone(), rogue_key()),
        Mode::UnknownKid => rs256(format!("unknown-{}", uuid::Uuid::new_v4().simple()), rogue_key()),
        _ => rs256(key.kid.clone(), &key.encoding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_follows_rfc_6749_2_3_1() {
        assert_eq!(form_decode("a%3Ab+c%25"), "a:b c%");
        assert_eq!(form_decode("plain-id"), "plain-id");
    }

    #[test]
    fn public_pem_is_a_spki_pem() {
        let pem = public_pem_of(crate::test_signing_key());
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).expect("parses as an RSA public key");
    }
}
