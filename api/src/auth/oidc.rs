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

/// How long discovery documents and keys are kept.
const CACHE_SECS: u64 = 3600;

/// Why an SSO step failed; each maps to a `reason` of the CONTRACT.
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

/// The HTTP client (no redirects: they would allow SSRF) and the discovery cache.
pub struct OidcClient {
    http: openidconnect::reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, Arc<Discovered>)>>,
}

impl OidcClient {
    pub fn new() -> anyhow::Result<Self> {
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, cache: Mutex::new(HashMap::new()) })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let resp = self.http.get(url).send().await.map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(OidcError::Provider(format!("{url} answered {}", resp.status())));
        }
        let bytes = resp.bytes().await.map_err(|e| OidcError::Provider(format!("{url}: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| OidcError::Provider(format!("{url}: not the expected JSON: {e}")))
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
        let doc: Discovery = self.get_json(&url).await?;
        let expected = base.trim_end_matches('/');
        if !doc.issuer.contains("{tenantid}") && doc.issuer.trim_end_matches('/') != expected {
            return Err(OidcError::Provider(format!("the document's issuer {} is not {expected}", doc.issuer)));
        }
        let keys: CoreJsonWebKeySet = self.get_json(&doc.jwks_uri).await?;
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
        let resp = self
            .http
            .post(&doc.token_endpoint)
            .basic_auth(form_encode(client_id), Some(form_encode(client_secret)))
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| OidcError::Provider(format!("token endpoint: {e}")))?;
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

/// Is this issuer acceptable for an application? `https` on a public name, unless insecure
/// issuers are allowed (tests, development).
pub fn check_issuer(issuer: &str, allow_insecure: bool) -> Result<(), String> {
    let rest = if let Some(r) = issuer.strip_prefix("https://") {
        r
    } else if let Some(r) = issuer.strip_prefix("http://") {
        if !allow_insecure {
            return Err("the issuer must use https".into());
        }
        r
    } else {
        return Err("the issuer must be an https URL".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_only = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host).trim_matches(['[', ']']);
    if host_only.is_empty() {
        return Err("the issuer has no host".into());
    }
    if !allow_insecure {
        let private = match host_only.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => {
                ip.is_private() || ip.is_loopback() || ip.is_link_local() || ip.is_unspecified()
            }
            Ok(std::net::IpAddr::V6(ip)) => {
                ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
            }
            Err(_) => host_only.eq_ignore_ascii_case("localhost") || !host_only.contains('.'),
        };
        if private {
            return Err("the issuer must be on a public address".into());
        }
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
