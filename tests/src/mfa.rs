//! Two-factor helpers shared by the suites: turning a method on, and the second step of sign-in.

use cloudcx_auth::auth::totp;
use serde_json::json;

use crate::{Reply, TestApp, TENANT};

/// The app's current TOTP code for `secret`.
pub fn code_now(app: &TestApp, secret: &[u8]) -> String {
    totp::code_at_step(secret, totp::step_of(app.clock_now()))
}

/// Sets up the authenticator app for the signed-in user; returns the secret and backup codes.
pub async fn enable_totp(app: &TestApp, token: &str) -> (Vec<u8>, Vec<String>) {
    let r = app.post_auth("/api/v1/me/2fa/totp/setup", token, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = totp::decode_secret(r.body["secret"].as_str().unwrap()).unwrap();
    let r = app.post_auth("/api/v1/me/2fa/totp/confirm", token, json!({"code": code_now(app, &secret)})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let codes = r.body["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    // The confirming code is spent: move to the next step for the next code.
    app.clock.advance(30);
    (secret, codes)
}

pub async fn enable_email(app: &TestApp, token: &str, email: &str) -> Vec<String> {
    let r = app.post_auth("/api/v1/me/2fa/email/setup", token, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let code = app.smtp.next_code_for(email).await;
    let r = app.post_auth("/api/v1/me/2fa/email/confirm", token, json!({"code": code})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

/// An agent with the authenticator app on: (email, password, secret, backup codes).
pub async fn agent_with_totp(app: &TestApp, name: &str) -> (String, String, Vec<u8>, Vec<String>) {
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, name).await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (secret, codes) = enable_totp(app, &token).await;
    (email, password, secret, codes)
}

pub async fn mfa_token(app: &TestApp, email: &str, password: &str) -> String {
    let r = app.login(TENANT, email, password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    r.body["mfa_token"].as_str().unwrap().to_string()
}

pub async fn verify(app: &TestApp, token: &str, field: &str, value: &str) -> Reply {
    app.post("/api/v1/auth/mfa/verify", json!({"mfa_token": token, field: value, "token_delivery": "body"})).await
}
