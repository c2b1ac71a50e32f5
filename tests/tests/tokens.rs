//! Access tokens: what verifies and what is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cloudcx_auth_tests::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

both_databases!(
    an_alg_none_token_is_refused,
    an_hs256_token_signed_with_the_public_key_is_refused,
    an_expired_token_is_refused,
    a_token_for_another_audience_is_refused,
    a_token_from_another_issuer_is_refused,
    a_tampered_token_is_refused,
    a_token_without_the_access_token_type_is_refused,
    a_token_signed_by_an_unknown_key_is_refused,
    a_token_not_yet_valid_is_refused,
);

async fn valid_token(app: &TestApp) -> (String, Value, String) {
    let token = app.admin_token().await;
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap().to_string();
    (token.clone(), claims_of(&token), kid)
}

fn sign_with_real_key(claims: &Value, kid: &str, typ: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(test_signing_key().as_bytes()).unwrap()).unwrap()
}

async fn assert_refused(app: &TestApp, token: &str) {
    app.get_auth("/api/v1/me", token).await.assert_problem(401, "unauthenticated");
}

async fn an_alg_none_token_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, claims, kid) = valid_token(&app).await;
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": kid});
        let token =
            format!("{}.{}.", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert_refused(&app, &token).await;
    }
}

async fn an_hs256_token_signed_with_the_public_key_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, claims, kid) = valid_token(&app).await;
    let jwks = app.get("/.well-known/jwks.json").await.body;
    let public = &jwks["keys"][0];
    // The classic confusion: the public key material used as an HMAC secret.
    for secret in [
        public["n"].as_str().unwrap().as_bytes().to_vec(),
        public.to_string().into_bytes(),
        jwks.to_string().into_bytes(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        header.typ = Some("at+jwt".into());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert_refused(&app, &token).await;
    }
}

async fn an_expired_token_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (token, _, _) = valid_token(&app).await;
    app.clock.advance(14 * 60);
    assert_eq!(app.get_auth("/api/v1/me", &token).await.status, 200, "still valid at 14 minutes");
    app.clock.advance(2 * 60);
    assert_refused(&app, &token).await;
}

async fn a_token_for_another_audience_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, mut claims, kid) = valid_token(&app).await;
    assert_eq!(app.get_auth("/api/v1/me", &sign_with_real_key(&claims, &kid, "at+jwt")).await.status, 200, "control");
    claims["aud"] = json!("billing");
    assert_refused(&app, &sign_with_real_key(&claims, &kid, "at+jwt")).await;
}

async fn a_token_from_another_issuer_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, mut claims, kid) = valid_token(&app).await;
    claims["iss"] = json!("https://evil.example");
    assert_refused(&app, &sign_with_real_key(&claims, &kid, "at+jwt")).await;
}

async fn a_tampered_token_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (token, mut claims, _) = valid_token(&app).await;
    claims["role"] = json!("admin");
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
    assert_refused(&app, &forged).await;
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    assert_refused(&app, &format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig))).await;
    assert_refused(&app, "not.a.jwt").await;
    assert_refused(&app, "").await;
}

async fn a_token_without_the_access_token_type_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, claims, kid) = valid_token(&app).await;
    assert_refused(&app, &sign_with_real_key(&claims, &kid, "JWT")).await;
}

async fn a_token_signed_by_an_unknown_key_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, claims, kid) = valid_token(&app).await;
    let other = cloudcx_auth::auth::jwt::generate_rsa_pem().unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid);
    header.typ = Some("at+jwt".into());
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(other.as_bytes()).unwrap()).unwrap();
    assert_refused(&app, &token).await;
}

async fn a_token_not_yet_valid_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let (_, mut claims, kid) = valid_token(&app).await;
    let now = claims["iat"].as_i64().unwrap();
    claims["nbf"] = json!(now + 3600);
    assert_refused(&app, &sign_with_real_key(&claims, &kid, "at+jwt")).await;
    // A string where a number belongs (CVE-2026-25537) is refused, not skipped.
    claims["nbf"] = json!(now);
    claims["exp"] = json!("9999999999");
    assert_refused(&app, &sign_with_real_key(&claims, &kid, "at+jwt")).await;
}

/// Another CloudCX service, in another language, verifies our token offline with the published
/// JWKS: Node's `jose` (examples/verify-token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_verifies_with_a_third_party_jwt_library_against_the_published_jwks() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.admin_token().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/verify-token");
    assert!(dir.join("node_modules/jose").exists(), "run `npm ci` in examples/verify-token (make test does)");
    let run = |token: String| {
        let (dir, jwks, iss) = (dir.clone(), app.url("/.well-known/jwks.json"), app.address.clone());
        async move {
            tokio::process::Command::new("node")
                .current_dir(dir)
                .args(["verify.mjs", "--jwks", &jwks, "--issuer", &iss, "--audience", "cloudcx", &token])
                .output()
                .await
                .expect("node runs")
        }
    };
    let ok = run(token.clone()).await;
    assert!(ok.status.success(), "jose refused a real token: {}", String::from_utf8_lossy(&ok.stderr));
    let payload: Value = serde_json::from_slice(&ok.stdout).expect("payload json");
    assert_eq!(payload["sub"], claims_of(&token)["sub"]);

    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut claims = claims_of(&token);
    claims["role"] = json!("superuser");
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    let bad = run(parts.join(".")).await;
    assert!(!bad.status.success(), "jose accepted a tampered token");
}
