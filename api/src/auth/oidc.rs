//! OpenID Connect relying party: discovery (cached, keys refetched on an unknown `kid`),
//! authorization URLs with PKCE S256, the code exchange, and ID-token validation by
//! openidconnect's verifier (OpenID Connect Core 3.1.3.7) with the algorithm pinned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdToken, IdTokenVerifier, IssuerUrl, Nonce,
    SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::outbound::{self, Outbound, Refusal};

/// How long discovery documents and keys are kept.
const CACHE_SECS: u64 = 3600;

/// Why an SSO step failed; each maps to a `reason` of `sso_failed` (docs/API.md, "Errors").
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum OidcError {
    #[error("the provider could not be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("the ID token is not valid: {0}")]
    Token(String),
    #[error("the account's tenant is not allowed: {0}")]
    Tenant(String),
}

impl OidcError {
    /// What went wrong, in plain words (no address, no error chain).
    pub fn detail(&self) -> &str {
        match self {
            Self::Provider(m) | Self::Token(m) | Self::Tenant(m) => m,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Self::Provider(_) => "provider_error",
            Self::Token(_) => "token_invalid",
            Self::Tenant(_) => "tenant_not_allowed",
        }
    }
}

/// The parts of a discovery document we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

pub struct Discovered {
    pub doc: Discovery,
    pub keys: CoreJsonWebKeySet,
}

/// Microsoft's claims beside the standard ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
}

impl AdditionalClaims for ExtraClaims {}

type ProviderIdToken =
    IdToken<ExtraClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// With `subject`, the stable key of the account: the token's issuer, or `ms:{tid}` for Microsoft.
    pub issuer: String,
    /// `sub`, or Microsoft's `oid`.
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub amr: Vec<String>,
}

/// What the validation needs to know of the application.
pub struct Expectation<'a> {
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub microsoft: bool,
    /// Tenant GUIDs accepted for a `{tenantid}` issuer.
    pub allowed_tenants: &'a [String],
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The discovery cache over the service's one outbound client ([`Outbound`]: https, public
/// addresses, timeouts, a size cap, no redirects).
pub struct OidcClient {
    http: Outbound,
    cache: Mutex<HashMap<String, (Instant, Arc<Discovered>)>>,
}

impl OidcClient {
    pub fn new(http: Outbound) -> Self {
        Self { http, cache: Mutex::new(HashMap::new()) }
    }

    /// `subject` names what was fetched in the plain words of the error.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str, subject: &str) -> Result<T, OidcError> {
        self.http.get_json(url).await.map_err(|e| OidcError::Provider(format!("{subject} {e}")))
    }

    /// The discovery document and keys of `base` (`{base}/.well-known/openid-configuration`).
    pub async fn discover(&self, base: &str, refresh: bool) -> Result<Arc<Discovered>, OidcError> {
        if !refresh {
            if let Ok(cache) = self.cache.lock() {
                if let Some((at, d)) = cache.get(base) {
                    if at.elapsed() < Duration::from_secs(CACHE_SECS) {
                        return Ok(d.clone());
                    }
                }
            }
        }
        let url = format!("{}/.well-known/openid-configuration", base.trim_end_matches('/'));
        let doc: Discovery = self.get_json(&url, "the issuer").await?;
        let expected = base.trim_end_matches('/');
        if !doc.issuer.contains("{tenantid}") && doc.issuer.trim_end_matches('/') != expected {
            return Err(OidcError::Provider(format!("the document's issuer {} is not {expected}", doc.issuer)));
        }
        check_discovery(&doc, self.http.allow_insecure())?;
        let keys: CoreJsonWebKeySet = self.get_json(&doc.jwks_uri, "the provider's key set (jwks_uri)").await?;
        let found = Arc::new(Discovered { doc, keys });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(base.to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// Exchanges the code (client_secret_basic, PKCE verifier) for the raw ID token.
    pub async fn exchange(
        &self,
        doc: &Discovery,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let basic = (form_encode(client_id), form_encode(client_secret));
        let (status, bytes) = self
            .http
            .post_form(&doc.token_endpoint, (&basic.0, &basic.1), &form)
            .await
            .map_err(|e| OidcError::Provider(format!("the provider's token endpoint {e}")))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            return Err(OidcError::Provider(format!("token endpoint answered {status}: {}", body["error"])));
        }
        body["id_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| OidcError::Provider("the token answer has no id_token".into()))
    }

    /// Validates an ID token; refetches the keys once when its `kid` is unknown.
    pub async fn validate(&self, base: &str, raw: &str, expect: &Expectation<'_>) -> Result<Identity, OidcError> {
        let discovered = self.discover(base, false).await?;
        match validate_with(&discovered, raw, expect) {
            Err(OidcError::Token(m)) if m.starts_with("unknown key") => {
                let fresh = self.discover(base, true).await?;
                validate_with(&fresh, raw, expect)
            }
            other => other,
        }
    }
}

/// The authorization request: code flow, PKCE S256, state and nonce.
pub fn authorization_url(
    doc: &Discovery,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    nonce: &str,
    verifier: &str,
) -> String {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let sep = if doc.authorization_endpoint.contains('?') { '&' } else { '?' };
    format!(
        "{}{sep}response_type=code&client_id={}&redirect_uri={}&scope=openid%20email%20profile&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        doc.authorization_endpoint,
        form_encode(client_id),
        form_encode(redirect_uri),
        form_encode(state),
        form_encode(nonce),
        challenge
    )
}

/// A `{tenantid}` issuer resolved from the token's `tid`, which must be a GUID on the allow-list.
fn expected_issuer(doc: &Discovery, raw: &str, expect: &Expectation<'_>) -> Result<String, OidcError> {
    if !doc.issuer.contains("{tenantid}") {
        return Ok(doc.issuer.clone());
    }
    let payload = raw.split('.').nth(1).ok_or_else(|| OidcError::Token("malformed".into()))?;
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| OidcError::Token("malformed".into()))?;
    let tid = claims["tid"].as_str().ok_or_else(|| OidcError::Tenant("the token names no tenant".into()))?;
    if !is_guid(tid) {
        return Err(OidcError::Tenant("the tenant id is not a GUID".into()));
    }
    if !expect.allowed_tenants.iter().any(|t| t.eq_ignore_ascii_case(tid)) {
        return Err(OidcError::Tenant(format!("tenant {tid} is not on the application's list")));
    }
    Ok(doc.issuer.replace("{tenantid}", tid))
}

fn validate_with(d: &Discovered, raw: &str, expect: &Expectation<'_>) -> Result<Identity, OidcError> {
    let issuer = expected_issuer(&d.doc, raw, expect)?;
    let token: ProviderIdToken = raw.parse().map_err(|e| OidcError::Token(format!("malformed: {e}")))?;
    let now = expect.now;
    let verifier: IdTokenVerifier<'_, CoreJsonWebKey> = IdTokenVerifier::new_public_client(
        ClientId::new(expect.client_id.to_string()),
        IssuerUrl::new(issuer.clone()).map_err(|e| OidcError::Provider(format!("issuer: {e}")))?,
        d.keys.clone(),
    )
    // Asymmetric algorithms only: never `none`, never an HMAC keyed with something public.
    .set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ])
    .set_time_fn(move || now)
    .set_issue_time_verifier_fn(move |iat| {
        if iat > now + chrono::Duration::seconds(300) {
            Err("issued in the future".into())
        } else {
            Ok(())
        }
    });
    let nonce = Nonce::new(expect.nonce.to_string());
    let claims = token.claims(&verifier, &nonce).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
            OidcError::Token("unknown key".into())
        }
        other => OidcError::Token(other.to_string()),
    })?;
    let extra = claims.additional_claims();
    let (issuer_key, subject) = if expect.microsoft {
        let tid = extra.tid.clone().ok_or_else(|| OidcError::Tenant("the token names no tenant".into()))?;
        (format!("ms:{}", tid.to_ascii_lowercase()), extra.oid.clone().unwrap_or_else(|| claims.subject().to_string()))
    } else {
        (claims.issuer().to_string(), claims.subject().to_string())
    };
    Ok(Identity {
        issuer: issuer_key,
        subject,
        email: claims.email().map(|e| e.to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        amr: claims.auth_method_refs().map(|v| v.iter().map(|a| a.to_string()).collect()).unwrap_or_default(),
    })
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Percent-encoding for query and form values.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Is this issuer acceptable for an application? The outbound client's own rule
/// ([`outbound::check_url`]): `https` on a public address, unless insecure issuers are allowed
/// (tests, development).
pub fn check_issuer(issuer: &str, allow_insecure: bool) -> Result<(), String> {
    outbound::check_url(issuer, allow_insecure).map(|_| ()).map_err(|r| match r {
        Refusal::NotAUrl => "the issuer must be an https URL".to_string(),
        Refusal::NotHttps => "the issuer must use https".to_string(),
        Refusal::NotPublic => "the issuer must be on a public address".to_string(),
    })
}

/// Every endpoint a discovery document names passes the outbound rule before it is used: the
/// key set and the token endpoint are fetched by us (the latter receives the client secret),
/// the authorization endpoint is where we send the browser.
pub fn check_discovery(doc: &Discovery, allow_insecure: bool) -> Result<(), OidcError> {
    for (url, subject) in [
        (&doc.authorization_endpoint, "the provider's authorization endpoint"),
        (&doc.token_endpoint, "the provider's token endpoint"),
        (&doc.jwks_uri, "the provider's key set (jwks_uri)"),
    ] {
        outbound::check_url(url, allow_insecure).map_err(|r| OidcError::Provider(format!("{subject} {r}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("9188040d-6c67-4c5b-b112-36a304b66dad"));
        assert!(!is_guid("common"));
        assert!(!is_guid("9188040d-6c67-4c5b-b112-36a304b66da"));
    }

    #[test]
    fn issuers_must_be_https_and_public_unless_allowed() {
        assert!(check_issuer("https://accounts.google.com", false).is_ok());
        assert!(check_issuer("http://accounts.google.com", false).is_err());
        assert!(check_issuer("https://127.0.0.1:8443", false).is_err());
        assert!(check_issuer("https://10.1.2.3", false).is_err());
        assert!(check_issuer("https://localhost", false).is_err());
        assert!(check_issuer("http://127.0.0.1:9000", true).is_ok());
        assert!(check_issuer("ftp://x", true).is_err());
    }

    fn discovery(authorization: &str, token: &str, jwks: &str) -> Discovery {
        Discovery {
            issuer: "https://idp.example.com".into(),
            authorization_endpoint: authorization.into(),
            token_endpoint: token.into(),
            jwks_uri: jwks.into(),
        }
    }

    const AUTH: &str = "https://idp.example.com/authorize";
    const TOKEN: &str = "https://idp.example.com/token";
    const JWKS: &str = "https://idp.example.com/jwks";

    #[test]
    fn a_public_https_discovery_document_passes() {
        assert!(check_discovery(&discovery(AUTH, TOKEN, JWKS), false).is_ok());
    }

    #[test]
    fn a_discovery_document_naming_a_plain_http_endpoint_is_refused() {
        for doc in [
            discovery(AUTH, "http://idp.example.com/token", JWKS),
            discovery(AUTH, TOKEN, "http://idp.example.com/jwks"),
            discovery("http://idp.example.com/authorize", TOKEN, JWKS),
        ] {
            let e = check_discovery(&doc, false).unwrap_err();
            assert!(e.detail().ends_with("does not use https"), "{e}");
        }
    }

    #[test]
    fn a_discovery_document_naming_a_non_public_endpoint_is_refused() {
        for (doc, subject) in [
            (discovery(AUTH, "https://127.1:8443/token", JWKS), "token endpoint"),
            (discovery(AUTH, "https://10.0.0.5/token", JWKS), "token endpoint"),
            (discovery(AUTH, TOKEN, "https://169.254.169.254./latest/meta-data"), "jwks_uri"),
            (discovery(AUTH, TOKEN, "https://[::ffff:7f00:1]/jwks"), "jwks_uri"),
            (discovery(AUTH, TOKEN, "https://keys.localhost/jwks"), "jwks_uri"),
            (discovery("https://[fe80::1]/authorize", TOKEN, JWKS), "authorization endpoint"),
        ] {
            let e = check_discovery(&doc, false).unwrap_err();
            assert!(e.detail().contains(subject) && e.detail().ends_with("is not on a public address"), "{e}");
            assert_eq!(e.reason(), "provider_error");
        }
    }

    #[test]
    fn a_discovery_document_naming_something_else_than_a_url_is_refused() {
        assert!(check_discovery(&discovery(AUTH, TOKEN, "/jwks"), false).is_err());
        assert!(check_discovery(&discovery(AUTH, "file:///etc/passwd", JWKS), true).is_err());
    }

    #[test]
    fn the_insecure_escape_allows_loopback_endpoints_in_discovery() {
        let doc = discovery("http://127.0.0.1:9/authorize", "http://127.0.0.1:9/token", "http://127.0.0.1:9/jwks");
        assert!(check_discovery(&doc, true).is_ok());
        assert!(check_discovery(&doc, false).is_err());
    }

    #[test]
    fn issuers_are_judged_by_the_outbound_rule() {
        for issuer in
            ["https://127.1:8443", "https://0x7f.0.0.1", "https://[::ffff:127.0.0.1]", "https://100.100.100.200"]
        {
            assert_eq!(
                check_issuer(issuer, false),
                Err("the issuer must be on a public address".to_string()),
                "{issuer}"
            );
        }
    }

    #[test]
    fn authorization_urls_carry_pkce_s256_state_and_nonce() {
        let doc = Discovery {
            issuer: "https://idp".into(),
            authorization_endpoint: "https://idp/auth".into(),
            token_endpoint: "https://idp/token".into(),
            jwks_uri: "https://idp/jwks".into(),
        };
        let url = authorization_url(&doc, "cid", "https://app/cb", "st", "no", "verifier");
        assert!(url.starts_with("https://idp/auth?response_type=code&client_id=cid"));
        assert!(url.contains("code_challenge_method=S256"));
        assert!(url.contains("state=st") && url.contains("nonce=no"));
        assert!(url.contains("redirect_uri=https%3A%2F%2Fapp%2Fcb"));
    }
}
