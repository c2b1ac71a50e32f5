//! The language of a user's mails: the account's choice (`PATCH /me`), else the browser's
//! `Accept-Language` on the request that caused the mail, else English — delivered over a real
//! SMTP conversation, on both databases.

use std::time::Duration;

use base64::Engine;
use cloudcx_auth_tests::smtp::Received;
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(
    a_user_who_chose_chinese_gets_chinese_mail,
    without_a_choice_the_browsers_language_is_used_for_mail,
    english_is_the_default,
    patch_me_refuses_an_unknown_language_and_changes_nothing,
    the_language_is_returned_by_me_and_can_be_cleared,
);

const WAIT: Duration = Duration::from_secs(10);

/// A subject as read: RFC 2047 encoded words (`=?utf-8?b?…?=`, how lettre writes non-ASCII
/// words) decoded; the space between two encoded words is not part of the text.
fn subject(m: &Received) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for (i, word) in m.subject().split(' ').enumerate() {
        let encoded = word.starts_with("=?") && word.ends_with("?=");
        if i > 0 && !(encoded && previous_encoded) {
            out.push(' ');
        }
        if encoded {
            let parts: Vec<&str> = word[2..word.len() - 2].splitn(3, '?').collect();
            let [charset, encoding, text] = parts[..] else { panic!("an encoded word: {word}") };
            assert!(charset.eq_ignore_ascii_case("utf-8"), "{word}");
            let bytes = if encoding.eq_ignore_ascii_case("b") {
                base64::engine::general_purpose::STANDARD.decode(text).expect("base64 word")
            } else {
                quoted_printable::decode(text.replace('_', " "), quoted_printable::ParseMode::Robust).expect("q word")
            };
            out.push_str(&String::from_utf8(bytes).expect("utf-8 word"));
        } else {
            out.push_str(word);
        }
        previous_encoded = encoded;
    }
    out
}

fn has_han(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The newest mail to `email` with a 6-digit code, among those after the first `seen`.
async fn code_mail_after(app: &TestApp, email: &str, seen: usize) -> Received {
    app.smtp.wait_for(email, |_| app.smtp.all_for(email).len() > seen, WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(m) = app.smtp.all_for(email).into_iter().skip(seen).rev().find(|m| m.code().is_some()) {
            return m;
        }
        assert!(tokio::time::Instant::now() < deadline, "no code mail for {email}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `POST /auth/login` as a browser that prefers `accept_language` (none when `None`).
async fn login_as_browser(app: &TestApp, email: &str, password: &str, accept_language: Option<&str>) -> Reply {
    let mut req = app.client.post(app.url("/api/v1/auth/login")).json(&json!({
        "tenant": TENANT, "email": email, "password": password, "token_delivery": "body"
    }));
    if let Some(lang) = accept_language {
        req = req.header("accept-language", lang);
    }
    Reply::from(req.send().await.expect("request")).await
}

async fn set_locale(app: &TestApp, token: &str, locale: Value) -> Reply {
    app.patch_auth("/api/v1/me", token, json!({ "locale": locale })).await
}

/// An agent with e-mail codes as their 2FA method (set up with no `Accept-Language`).
async fn agent_with_email_codes(app: &TestApp, name: &str) -> (String, String) {
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, name).await;
    let (token, _) = app.sign_in(&email, &password).await;
    cloudcx_auth_tests::mfa::enable_email(app, &token, &email).await;
    (email, password)
}

async fn a_user_who_chose_chinese_gets_chinese_mail(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "mei").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let r = set_locale(&app, &token, json!("zh-CN")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["locale"], "zh-CN");

    // Setting up e-mail codes: the verification code, then the notice that 2FA is on.
    let r = app.post_auth("/api/v1/me/2fa/email/setup", &token, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let setup = code_mail_after(&app, &email, 0).await;
    assert_eq!(subject(&setup), "您的 CloudCX 验证码");
    let code = setup.code().expect("code");
    assert!(setup.body().starts_with(&format!("您的 CloudCX 验证码是：{code}")), "{}", setup.body());
    assert!(setup.body().contains("10 分钟内有效"), "{}", setup.body());
    let r = app.post_auth("/api/v1/me/2fa/email/confirm", &token, json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let on = app.smtp.wait_for(&email, |m| subject(m) == "双重验证已开启", WAIT).await;
    assert!(on.body().contains("您的 CloudCX 账户已开启双重验证。"), "{}", on.body());

    // A sign-in from an English browser: the account's choice wins.
    let seen = app.smtp.all_for(&email).len();
    let r = login_as_browser(&app, &email, &password, Some("en-US,en;q=0.9")).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    let sign_in = code_mail_after(&app, &email, seen).await;
    assert_eq!(subject(&sign_in), "您的 CloudCX 登录验证码");
    assert!(has_han(sign_in.body()) && !sign_in.body().contains("expires"), "{}", sign_in.body());
}

async fn without_a_choice_the_browsers_language_is_used_for_mail(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password) = agent_with_email_codes(&app, "lei").await;

    let seen = app.smtp.all_for(&email).len();
    let r = login_as_browser(&app, &email, &password, Some("zh-CN,zh;q=0.9,en;q=0.8")).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    let chinese = code_mail_after(&app, &email, seen).await;
    assert_eq!(subject(&chinese), "您的 CloudCX 登录验证码");
    assert!(chinese.body().contains("请立即修改密码"), "{}", chinese.body());

    // The resend carries the language of its own request.
    let mfa_token = r.body["mfa_token"].as_str().expect("mfa_token").to_string();
    app.clock.advance(61);
    let seen = app.smtp.all_for(&email).len();
    let resend = app
        .client
        .post(app.url("/api/v1/auth/mfa/resend"))
        .header("accept-language", "zh")
        .json(&json!({ "mfa_token": mfa_token }))
        .send()
        .await
        .expect("resend");
    assert_eq!(resend.status(), 202);
    assert_eq!(subject(&code_mail_after(&app, &email, seen).await), "您的 CloudCX 登录验证码");

    // Another browser, which prefers English, gets English.
    let seen = app.smtp.all_for(&email).len();
    let r = login_as_browser(&app, &email, &password, Some("en-GB, zh-CN;q=0.5")).await;
    assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
    assert_eq!(subject(&code_mail_after(&app, &email, seen).await), "Your CloudCX sign-in code");
}

async fn english_is_the_default(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password) = agent_with_email_codes(&app, "ann").await;
    // The setup mails (no Accept-Language) were English.
    assert!(app.smtp.all_for(&email).iter().all(|m| !has_han(&subject(m)) && !has_han(m.body())));

    // No header, or only languages we do not have: English.
    for header in [None, Some("fr-FR,de;q=0.8"), Some("zh-TW")] {
        let seen = app.smtp.all_for(&email).len();
        let r = login_as_browser(&app, &email, &password, header).await;
        assert_eq!(r.body["status"], "mfa_required", "{}", r.text);
        let m = code_mail_after(&app, &email, seen).await;
        assert_eq!(subject(&m), "Your CloudCX sign-in code", "{header:?}");
        let code = m.code().expect("code");
        assert_eq!(
            m.body().replace("\r\n", "\n").trim_end(),
            format!("Your CloudCX sign-in code is {code}\n\nIt expires in 10 minutes. If you did not ask for it, someone may know your password: change it."),
            "{header:?}"
        );
    }
}

async fn patch_me_refuses_an_unknown_language_and_changes_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "bo").await;
    let (token, _) = app.sign_in(&email, &password).await;
    assert_eq!(set_locale(&app, &token, json!("zh-CN")).await.status, 200);

    for bad in ["fr", "zh", "EN", "zh-cn", "zh-TW", ""] {
        let r = set_locale(&app, &token, json!(bad)).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "locale", "{bad}: {}", r.text);
    }
    set_locale(&app, &token, json!(5)).await.assert_problem(422, "validation_failed");
    app.patch_auth("/api/v1/me", &token, json!({ "language": "en" })).await.assert_problem(422, "validation_failed");
    let me = app.get_auth("/api/v1/me", &token).await;
    assert_eq!(me.body["locale"], "zh-CN", "nothing changed: {}", me.text);

    // A user's own bearer token only: none, or a service's, is refused.
    let r = app.client.patch(app.url("/api/v1/me")).json(&json!({ "locale": "en" })).send().await.expect("request");
    Reply::from(r).await.assert_problem(401, "unauthenticated");
    let (client_id, secret) = app.introspector(&admin).await;
    let r = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    let service = Reply::from(r).await;
    assert_eq!(service.status, 200, "{}", service.text);
    let service_token = service.body["access_token"].as_str().expect("service token");
    set_locale(&app, service_token, json!("en")).await.assert_problem(403, "forbidden");
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["locale"], "zh-CN");
}

async fn the_language_is_returned_by_me_and_can_be_cleared(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "tao").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let me = app.get_auth("/api/v1/me", &token).await;
    assert!(me.body["locale"].is_null() && me.body.get("locale").is_some(), "no choice yet: {}", me.text);

    // A preference, not a privileged change: an 11-minute-old sign-in may make it.
    app.clock.advance(11 * 60);
    let r = set_locale(&app, &token, json!("zh-CN")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["locale"], "zh-CN");
    assert_eq!(r.body["email"], email.as_str());
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["locale"], "zh-CN");
    // An empty patch changes nothing.
    let r = app.patch_auth("/api/v1/me", &token, json!({})).await;
    assert_eq!((r.status.as_u16(), &r.body["locale"]), (200, &json!("zh-CN")), "{}", r.text);

    let r = set_locale(&app, &token, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["locale"].is_null(), "{}", r.text);
    assert!(app.get_auth("/api/v1/me", &token).await.body["locale"].is_null());
    assert_eq!(set_locale(&app, &token, json!("en")).await.body["locale"], "en");
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["locale"], "en");

    // Each change is in the audit log, as the user's own.
    let events = app.audit(&admin, "locale_changed").await;
    let tos: Vec<&Value> = events.iter().rev().map(|e| &e["details"]["to"]).collect();
    assert_eq!(tos, [&json!("zh-CN"), &Value::Null, &json!("en")]);
    assert!(events.iter().all(|e| e["user_id"] == id.as_str() && e["actor_id"] == id.as_str()), "{events:?}");
}
