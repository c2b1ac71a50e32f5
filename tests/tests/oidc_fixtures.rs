//! The SSO fixtures work on their own, without our server: the real `oidc-provider` signs a user
//! in through its login form and issues a verifiable ID token, and the hostile provider mints
//! exactly the token each mode promises.

use std::collections::HashMap;

use cloudcx_auth_tests::claims_of;
use cloudcx_auth_tests::hostile_idp::{HostileIdp, Mode, FOREIGN_TENANT, NOT_A_GUID_TENANT};
use cloudcx_auth_tests::oidc::{login_at_provider, pkce_pair, OidcProvider};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use url::Url;

const CLIENT_ID: &str = "fixture-client";
const CLIENT_SECRET: &str = "fixture-secret";
/// Nothing listens there: only the provider's final `Location` matters.
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let resp = client.get(url).send().await.expect("request");
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.json().await.expect("json")
}

/// One attempt's secrets, as our server would keep them.
struct Attempt {
    state: String,
    nonce: String,
    verifier: String,
    url: String,
}

fn authorization_request(authorization_endpoint: &str) -> Attempt {
    let (verifier, challenge) = pkce_pair();
    let state = uuid::Uuid::new_v4().simple().to_string();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let url = Url::parse_with_params(
        authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email profile"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("authorization url");
    Attempt { state, nonce, verifier, url: url.to_string() }
}

fn query_of(url: &str) -> HashMap<String, String> {
    Url::parse(url).expect("url").query_pairs().into_owned().collect()
}

/// POSTs the code to the token endpoint with `client_secret_basic`; (status, body).
async fn redeem(client: &reqwest::Client, token_endpoint: &str, code: &str, verifier: &str) -> (u16, Value) {
    let resp = client
        .post(token_endpoint)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("token json"))
}

/// Checks the ID token's signature against the JWKS (RS256 pinned), `iss` and `aud`.
async fn verify(client: &reqwest::Client, jwks_uri: &str, id_token: &str, issuer: &str) -> Result<Value, String> {
    let jwks: JwkSet = client.get(jwks_uri).send().await.expect("jwks").json().await.expect("jwks json");
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks.find(&kid).ok_or("unknown kid")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_signs_in_through_its_login_form() {
    let op = OidcProvider::start(&[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)]).await;
    assert!(op.issuer.starts_with("http://127.0.0.1:"), "{}", op.issuer);
    let http = browser();
    let meta = get_json(&http, &op.discovery_url()).await;
    assert_eq!(meta["issuer"], op.issuer);
    assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let authorization_endpoint = meta["authorization_endpoint"].as_str().expect("authorization_endpoint");
    let token_endpoint = meta["token_endpoint"].as_str().expect("token_endpoint");
    let jwks_uri = meta["jwks_uri"].as_str().expect("jwks_uri");

    // A plain login name: it is the subject, and the address is at example.com.
    let attempt = authorization_request(authorization_endpoint);
    let callback = login_at_provider(&browser(), &attempt.url, "alice").await;
    assert!(callback.starts_with(&format!("{REDIRECT_URI}?")), "{callback}");
    let q = query_of(&callback);
    assert_eq!(q.get("state"), Some(&attempt.state), "{callback}");
    assert_eq!(q.get("iss"), Some(&op.issuer), "RFC 9207 iss in {callback}");
    let code = q.get("code").expect("code");

    // A wrong verifier is refused (PKCE is enforced); the code is then spent.
    let (status, body) =
        redeem(&http, token_endpoint, code, "a-wrong-verifier-a-wrong-verifier-a-wrong-verifier").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    let attempt = authorization_request(authorization_endpoint);
    let callback = login_at_provider(&browser(), &attempt.url, "alice").await;
    let code = query_of(&callback).remove("code").expect("code");
    let (status, body) = redeem(&http, token_endpoint, &code, &attempt.verifier).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("bearer"));
    let id_token = body["id_token"].as_str().expect("id_token");
    assert_eq!(jsonwebtoken::decode_header(id_token).expect("header").alg, Algorithm::RS256);
    let claims = verify(&http, jwks_uri, id_token, &op.issuer).await.expect("the ID token verifies");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "alice");
    assert_eq!(claims["nonce"], attempt.nonce.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);

    // A login with '@' is the e-mail address itself (and the subject).
    let attempt = authorization_request(authorization_endpoint);
    let callback = login_at_provider(&browser(), &attempt.url, "bob@corp.example").await;
    let code = query_of(&callback).remove("code").expect("code");
    let (status, body) = redeem(&http, token_endpoint, &code, &attempt.verifier).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["id_token"].as_str().expect("id_token"));
    assert_eq!(claims["sub"], "bob@corp.example");
    assert_eq!(claims["email"], "bob@corp.example");
    assert_eq!(claims["name"], "bob");

    // The same browser signs in again without the form (the provider's session), same subject.
    let same_browser = browser();
    let first = login_at_provider(&same_browser, &authorization_request(authorization_endpoint).url, "carol").await;
    assert!(query_of(&first).contains_key("code"), "{first}");
    let again = authorization_request(authorization_endpoint);
    let second = login_at_provider(&same_browser, &again.url, "ignored-now").await;
    let code = query_of(&second).remove("code").expect("code");
    let (_, body) = redeem(&http, token_endpoint, &code, &again.verifier).await;
    assert_eq!(claims_of(body["id_token"].as_str().expect("id_token"))["sub"], "carol");

    // Without PKCE the provider refuses the request, back at the client.
    let no_pkce = Url::parse_with_params(
        authorization_endpoint,
        [
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid email"),
            ("state", "s1"),
        ],
    )
    .expect("url");
    let refused = login_at_provider(&browser(), no_pkce.as_str(), "alice").await;
    let q = query_of(&refused);
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_request"), "{refused}");
    assert_eq!(q.get("state").map(String::as_str), Some("s1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_can_report_unverified_addresses() {
    let op = OidcProvider::start_with(&[(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)], false).await;
    let http = browser();
    let meta = get_json(&http, &op.discovery_url()).await;
    let attempt = authorization_request(meta["authorization_endpoint"].as_str().expect("endpoint"));
    let callback = login_at_provider(&browser(), &attempt.url, "dave").await;
    let code = query_of(&callback).remove("code").expect("code");
    let (status, body) =
        redeem(&http, meta["token_endpoint"].as_str().expect("endpoint"), &code, &attempt.verifier).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["id_token"].as_str().expect("id_token"));
    assert_eq!(claims["email"], "dave@example.com");
    assert_eq!(claims["email_verified"], false);
}

/// One full round at a hostile provider: (callback query, token status, token body, nonce).
async fn hostile_round(idp: &HostileIdp) -> (HashMap<String, String>, u16, Value, String) {
    let http = browser();
    let meta = get_json(&http, &idp.discovery_url()).await;
    let attempt = authorization_request(meta["authorization_endpoint"].as_str().expect("endpoint"));
    let callback = login_at_provider(&http, &attempt.url, "unused").await;
    assert!(callback.starts_with(&format!("{REDIRECT_URI}?")), "{callback}");
    let q = query_of(&callback);
    assert_eq!(q.get("state"), Some(&attempt.state));
    let Some(code) = q.get("code") else {
        return (q, 0, Value::Null, attempt.nonce);
    };
    let (status, body) =
        redeem(&http, meta["token_endpoint"].as_str().expect("endpoint"), code, &attempt.verifier).await;
    (q, status, body, attempt.nonce)
}

async fn hostile_token(idp: &HostileIdp, mode: Mode) -> (String, String) {
    idp.set_mode(mode);
    let (_, status, body, nonce) = hostile_round(idp).await;
    assert_eq!(status, 200, "{mode:?}: {body}");
    (body["id_token"].as_str().expect("id_token").to_string(), nonce)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_provider_good_mode_is_a_correct_provider() {
    let idp = HostileIdp::start(CLIENT_ID).await;
    let http = browser();
    let meta = get_json(&http, &idp.discovery_url()).await;
    assert_eq!(idp.discovery_base(), idp.issuer);
    assert_eq!(meta["issuer"], idp.issuer);
    assert_eq!(meta["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    assert_eq!(meta["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let jwks_uri = meta["jwks_uri"].as_str().expect("jwks_uri");

    idp.set_subject("google-sub-1");
    idp.set_email("erin@example.com", true);
    idp.set_amr(Some(vec!["pwd".into(), "mfa".into()]));
    let (token, nonce) = hostile_token(&idp, Mode::Good).await;
    let claims = verify(&http, jwks_uri, &token, &idp.issuer).await.expect("a good token verifies");
    assert_eq!(claims["sub"], "google-sub-1");
    assert_eq!(claims["email"], "erin@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["nonce"], nonce.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]));
    assert!(claims.get("tid").is_none());
    assert!(idp.jwks_fetches() >= 1);

    // A code is single use, and PKCE is checked.
    idp.set_mode(Mode::Good);
    let meta_token = meta["token_endpoint"].as_str().expect("token_endpoint");
    let attempt = authorization_request(meta["authorization_endpoint"].as_str().expect("endpoint"));
    let code = query_of(&login_at_provider(&http, &attempt.url, "x").await).remove("code").expect("code");
    let (status, body) = redeem(&http, meta_token, &code, "wrong-verifier").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = redeem(&http, meta_token, &code, &attempt.verifier).await;
    assert_eq!(status, 400, "a spent code");

    // A key rotation shows in the JWKS, and new tokens use the new key.
    let old_kid = idp.kid();
    idp.rotate_key().await;
    assert_ne!(idp.kid(), old_kid);
    let (token, _) = hostile_token(&idp, Mode::Good).await;
    assert_eq!(jsonwebtoken::decode_header(&token).expect("header").kid, Some(idp.kid()));
    verify(&http, jwks_uri, &token, &idp.issuer).await.expect("verifies with the new key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_provider_bad_modes_mint_what_they_promise() {
    let idp = HostileIdp::start(CLIENT_ID).await;
    let http = browser();
    let jwks_uri = format!("{}/jwks", idp.issuer);
    let now = chrono::Utc::now().timestamp();

    let (t, _) = hostile_token(&idp, Mode::WrongAudience).await;
    assert_eq!(claims_of(&t)["aud"], format!("{CLIENT_ID}-other"));
    assert!(verify(&http, &jwks_uri, &t, &idp.issuer).await.expect_err("refused").contains("Audience"));

    let (t, nonce) = hostile_token(&idp, Mode::WrongNonce).await;
    let claims = verify(&http, &jwks_uri, &t, &idp.issuer).await.expect("otherwise valid");
    assert_ne!(claims["nonce"], nonce.as_str());

    let (t, _) = hostile_token(&idp, Mode::WrongIssuer).await;
    assert_ne!(claims_of(&t)["iss"], idp.issuer.as_str());

    let (t, _) = hostile_token(&idp, Mode::BadSignature).await;
    assert_eq!(jsonwebtoken::decode_header(&t).expect("header").kid, Some(idp.kid()));
    assert!(verify(&http, &jwks_uri, &t, &idp.issuer).await.expect_err("refused").contains("Signature"));

    let (t, _) = hostile_token(&idp, Mode::AlgNone).await;
    assert!(t.ends_with('.'), "{t}");
    let header = claims_of(&format!("x.{}", t.split('.').next().expect("header")));
    assert_eq!(header["alg"], "none");

    let (t, _) = hostile_token(&idp, Mode::Hs256WithPublicKey).await;
    let header = jsonwebtoken::decode_header(&t).expect("header");
    assert_eq!((header.alg, header.kid), (Algorithm::HS256, Some(idp.kid())));
    assert!(verify(&http, &jwks_uri, &t, &idp.issuer).await.is_err());

    let (t, _) = hostile_token(&idp, Mode::Expired).await;
    assert!(claims_of(&t)["exp"].as_i64().expect("exp") < now - 600);

    let (t, _) = hostile_token(&idp, Mode::IssuedInFuture).await;
    assert!(claims_of(&t)["iat"].as_i64().expect("iat") > now + 3600);

    let (t, _) = hostile_token(&idp, Mode::UnknownKid).await;
    assert_ne!(jsonwebtoken::decode_header(&t).expect("header").kid, Some(idp.kid()));
    assert_eq!(verify(&http, &jwks_uri, &t, &idp.issuer).await.expect_err("refused"), "unknown kid");

    let (t, _) = hostile_token(&idp, Mode::MissingSub).await;
    assert!(claims_of(&t).get("sub").is_none());

    idp.set_mode(Mode::AccessDenied);
    let (q, _, _, _) = hostile_round(&idp).await;
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert!(!q.contains_key("code"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_provider_multi_tenant_is_microsoft_shaped() {
    let idp = HostileIdp::start_multi_tenant(CLIENT_ID).await;
    let http = browser();
    assert_eq!(idp.discovery_base(), format!("{}/common/v2.0", idp.issuer));
    let meta = get_json(&http, &idp.discovery_url()).await;
    let issuer_template = meta["issuer"].as_str().expect("issuer");
    assert!(issuer_template.contains("{tenantid}"), "{issuer_template}");
    assert_eq!(issuer_template, format!("{}/{{tenantid}}/v2.0", idp.issuer));
    assert_eq!(issuer_template, idp.discovered_issuer());
    // Microsoft-like: no discovery at the bare base; a tenant's own document names its issuer.
    let resp = http.get(format!("{}/.well-known/openid-configuration", idp.issuer)).send().await.expect("get");
    assert_eq!(resp.status(), 404);
    let tenant = "3c9a6d1e-1b8f-4a8e-9f3e-2f1d7a0b5c44";
    let own = get_json(&http, &format!("{}/{tenant}/v2.0/.well-known/openid-configuration", idp.issuer)).await;
    assert_eq!(own["issuer"], idp.issuer_for_tenant(tenant));

    let jwks_uri = meta["jwks_uri"].as_str().expect("jwks_uri");
    idp.set_tenant(tenant);
    idp.set_object_id("5f1c2d3e-0000-4000-8000-000000000001");
    let (t, _) = hostile_token(&idp, Mode::TenantGood).await;
    let claims = verify(&http, jwks_uri, &t, &issuer_template.replace("{tenantid}", tenant))
        .await
        .expect("a good tenant token verifies against the resolved template");
    assert_eq!(claims["tid"], tenant);
    assert_eq!(claims["oid"], "5f1c2d3e-0000-4000-8000-000000000001");

    let (t, _) = hostile_token(&idp, Mode::TenantNotAllowed).await;
    let claims = claims_of(&t);
    assert_eq!(claims["tid"], FOREIGN_TENANT);
    assert_eq!(claims["iss"], idp.issuer_for_tenant(FOREIGN_TENANT));

    let (t, _) = hostile_token(&idp, Mode::TenantNotGuid).await;
    assert_eq!(claims_of(&t)["tid"], NOT_A_GUID_TENANT);

    // Wrong issuer: the issuer's tenant is not the token's tid.
    let (t, _) = hostile_token(&idp, Mode::WrongIssuer).await;
    let claims = claims_of(&t);
    assert_eq!(claims["tid"], tenant);
    assert_eq!(claims["iss"], idp.issuer_for_tenant(FOREIGN_TENANT));
}
