//! Two-factor authentication: set-up, sign-in, backup codes, turning off, admin recovery, site
//! policy, and the rules that keep codes single-use and guessing expensive.

use cloudcx_auth::auth::totp;
use cloudcx_auth_tests::mfa::*;
use cloudcx_auth_tests::*;
use serde_json::{json, Value};

both_databases!(
    totp_setup_shows_secret_uri_and_qr_and_nothing_is_active_until_confirmed,
    a_pending_totp_setup_expires_after_fifteen_minutes,
    email_setup_mails_a_code_that_enables_the_method,
    only_one_method_at_a_time_enforced_by_the_database,
    sign_in_with_an_authenticator_asks_for_the_code_and_issues_aal2,
    the_mfa_token_is_never_a_bearer_token,
    totp_accepts_the_current_and_previous_step_only,
    totp_codes_are_exact_six_digit_strings,
    a_totp_code_is_accepted_once_including_the_confirming_code,
    twelve_concurrent_sign_ins_with_one_code_succeed_exactly_once,
    email_sign_in_sends_a_code_and_resend_voids_the_old_one_with_a_cool_down,
    an_emailed_code_expires_after_ten_minutes,
    the_mfa_token_survives_wrong_codes_dies_on_success_and_after_five_minutes,
    a_backup_code_signs_in_once,
    the_user_is_warned_when_only_two_backup_codes_are_left,
    concurrent_uses_of_one_backup_code_succeed_once,
    backup_codes_can_be_viewed_downloaded_and_regenerated,
    sensitive_two_factor_actions_need_a_recent_sign_in,
    turning_off_needs_the_password_and_kills_the_backup_codes,
    five_wrong_codes_lock_with_retry_after_across_attempts_and_warn_the_user,
    a_hundred_wrong_codes_hard_lock_the_account_for_a_day,
    admin_reset_removes_the_method_ends_sessions_audits_and_emails,
    a_site_that_requires_2fa_confines_users_without_it,
    reauth_for_a_user_with_2fa_needs_a_second_factor,
    secrets_and_codes_are_not_stored_in_clear,
    a_code_mail_the_server_refuses_answers_503_and_changes_nothing,
    notices_wait_out_an_smtp_outage_and_are_delivered_after,
);

async fn totp_setup_shows_secret_uri_and_qr_and_nothing_is_active_until_confirmed(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let r = app.post_auth("/api/v1/me/2fa/totp/setup", &admin, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.body["secret"].as_str().unwrap();
    assert_eq!(totp::decode_secret(secret).unwrap().len(), 20, "160 bits");
    assert_eq!(
        r.body["otpauth_uri"],
        format!("otpauth://totp/CloudCX:admin%40acme.example?secret={secret}&issuer=CloudCX&algorithm=SHA1&digits=6&period=30")
    );
    assert!(r.body["qr_svg"].as_str().unwrap().contains("<svg"));
    let status = app.get_auth("/api/v1/me/2fa", &admin).await;
    assert_eq!(status.body, json!({"enabled": false, "method": null, "enabled_at": null, "backup_codes": null}));
    // Sign-in still needs only the password.
    assert_eq!(app.login(TENANT, ADMIN_EMAIL, ADMIN_PASSWORD).await.body["status"], "authenticated");

    let secret = totp::decode_secret(secret).unwrap();
    let r = app.post_auth("/api/v1/me/2fa/totp/confirm", &admin, json!({"code": code_now(&app, &secret)})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["enabled"], true);
    assert_eq!(r.body["method"], "totp");
    let codes = r.body["backup_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    for c in codes {
        let c = c.as_str().unwrap();
        assert_eq!(c.len(), 11, "xxxxx-xxxxx: {c}");
        assert_eq!(&c[5..6], "-");
    }
    let status = app.get_auth("/api/v1/me/2fa", &admin).await;
    assert_eq!(status.body["enabled"], true);
    assert_eq!(status.body["method"], "totp");
    assert!(status.body["enabled_at"].is_string());
    assert_eq!(status.body["backup_codes"]["total"], 10);
    assert_eq!(status.body["backup_codes"]["remaining"], 10);
    assert!(status.body["backup_codes"]["downloaded_at"].is_null());
    assert!(!status.text.contains(&totp::encode_secret(&secret)), "the secret is never shown again");
    let kinds: Vec<String> = ["mfa_setup_started", "mfa_enabled"].iter().map(|k| k.to_string()).collect();
    for kind in kinds {
        assert_eq!(app.audit(&admin, &kind).await.len(), 1, "{kind}");
    }
    let notice =
        app.smtp.wait_for(ADMIN_EMAIL, |m| m.data.contains("turned on"), std::time::Duration::from_secs(10)).await;
    assert!(!notice.data.contains(&totp::encode_secret(&secret)));
}

async fn a_pending_totp_setup_expires_after_fifteen_minutes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let r = app.post_auth("/api/v1/me/2fa/totp/setup", &admin, json!({})).await;
    let secret = totp::decode_secret(r.body["secret"].as_str().unwrap()).unwrap();
    app.clock.advance(15 * 60 + 1);
    app.post_auth("/api/v1/me/2fa/totp/confirm", &admin, json!({"code": code_now(&app, &secret)}))
        .await
        .assert_problem(403, "invalid_code");
    assert_eq!(app.get_auth("/api/v1/me/2fa", &admin).await.body["enabled"], false);
}

async fn email_setup_mails_a_code_that_enables_the_method(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let r = app.post_auth("/api/v1/me/2fa/email/setup", &admin, json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["expires_in"], 600);
    let code = app.smtp.next_code_for(ADMIN_EMAIL).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    app.post_auth("/api/v1/me/2fa/email/confirm", &admin, json!({"code": wrong}))
        .await
        .assert_problem(403, "invalid_code");
    app.post_auth("/api/v1/me/2fa/totp/confirm", &admin, json!({"code": code}))
        .await
        .assert_problem(403, "invalid_code");
    let r = app.post_auth("/api/v1/me/2fa/email/confirm", &admin, json!({"code": code})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["method"], "email");
    assert_eq!(app.get_auth("/api/v1/me/2fa", &admin).await.body["method"], "email");
    app.post_auth("/api/v1/me/2fa/email/confirm", &admin, json!({"code": code}))
        .await
        .assert_problem(409, "mfa_already_enabled");
}

async fn only_one_method_at_a_time_enforced_by_the_database(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    enable_totp(&app, &admin).await;
    app.post_auth("/api/v1/me/2fa/email/setup", &admin, json!({})).await.assert_problem(409, "mfa_already_enabled");
    app.post_auth("/api/v1/me/2fa/totp/setup", &admin, json!({})).await.assert_problem(409, "mfa_already_enabled");
    // Below the API: the database itself refuses a second method row.
    let uid = claims_of(&admin)["sub"].as_str().unwrap().to_string();
    let inserted = app
        .with_db(move |conn| {
            let row = cloudcx_auth::db::mfa::UserMfa {
                user_id: uid,
                method: "email".into(),
                totp_secret: None,
                last_totp_step: 0,
                enabled_at: 0,
            };
            cloudcx_auth::db::mfa::enable(conn, &row, 0)
        })
        .await;
    assert!(!inserted, "the primary key refuses a second method");
}

async fn sign_in_with_an_authenticator_asks_for_the_code_and_issues_aal2(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "gail").await;
    let r = app.login(TENANT, &email, &password).await;
    assert_eq!(r.body["status"], "mfa_required");
    assert_eq!(r.body["method"], "totp");
    assert_eq!(r.body["expires_in"], 300);
    assert!(r.body.get("access_token").is_none());
    let token = r.body["mfa_token"].as_str().unwrap();
    assert!(token.len() >= 22, "≥ 128 bits");
    let ok = verify(&app, token, "code", &code_now(&app, &secret)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let c = claims_of(ok.body["access_token"].as_str().unwrap());
    assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(c["acr"], "aal2");
    // A wrong password still gets the same answer as ever: the second step is never revealed.
    app.login(TENANT, &email, "wrong-password-1").await.assert_problem(401, "invalid_credentials");
}

async fn the_mfa_token_is_never_a_bearer_token(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, _, _) = agent_with_totp(&app, "hal").await;
    let token = mfa_token(&app, &email, &password).await;
    app.get_auth("/api/v1/me", &token).await.assert_problem(401, "unauthenticated");
}

async fn totp_accepts_the_current_and_previous_step_only(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "ivy").await;
    // One more step, so the previous step is not the one the set-up already spent.
    app.clock.advance(30);
    let step = totp::step_of(app.clock_now());
    let token = mfa_token(&app, &email, &password).await;
    verify(&app, &token, "code", &totp::code_at_step(&secret, step - 2)).await.assert_problem(401, "invalid_code");
    verify(&app, &token, "code", &totp::code_at_step(&secret, step + 1)).await.assert_problem(401, "invalid_code");
    assert_eq!(verify(&app, &token, "code", &totp::code_at_step(&secret, step - 1)).await.status, 200);
    app.clock.advance(30);
    let token = mfa_token(&app, &email, &password).await;
    assert_eq!(verify(&app, &token, "code", &code_now(&app, &secret)).await.status, 200);
}

async fn totp_codes_are_exact_six_digit_strings(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "jack").await;
    // Find a step whose code starts with 0, so the shortened form is meaningful.
    let mut step = totp::step_of(app.clock_now());
    while !totp::code_at_step(&secret, step).starts_with('0') {
        app.clock.advance(30);
        step += 1;
    }
    let code = totp::code_at_step(&secret, step);
    let token = mfa_token(&app, &email, &password).await;
    // Four wrong forms: a fifth wrong code would lock the account.
    for bad in [code[1..].to_string(), format!("{code}0"), format!(" {code}"), format!("{code} ")] {
        verify(&app, &token, "code", &bad).await.assert_problem(401, "invalid_code");
    }
    assert_eq!(verify(&app, &token, "code", &code).await.status, 200, "{code} with its leading zero works");
}

async fn a_totp_code_is_accepted_once_including_the_confirming_code(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "kim").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let r = app.post_auth("/api/v1/me/2fa/totp/setup", &token, json!({})).await;
    let secret = totp::decode_secret(r.body["secret"].as_str().unwrap()).unwrap();
    let confirming = code_now(&app, &secret);
    assert_eq!(app.post_auth("/api/v1/me/2fa/totp/confirm", &token, json!({"code": confirming})).await.status, 200);
    let t = mfa_token(&app, &email, &password).await;
    verify(&app, &t, "code", &confirming).await.assert_problem(401, "invalid_code");
    app.clock.advance(30);
    let fresh = code_now(&app, &secret);
    assert_eq!(verify(&app, &t, "code", &fresh).await.status, 200);
    let t2 = mfa_token(&app, &email, &password).await;
    verify(&app, &t2, "code", &fresh).await.assert_problem(401, "invalid_code");
}

async fn twelve_concurrent_sign_ins_with_one_code_succeed_exactly_once(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "lee").await;
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(mfa_token(&app, &email, &password).await);
    }
    let code = code_now(&app, &secret);
    let replies = join_all(tokens.iter().map(|t| verify(&app, t, "code", &code))).await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
}

async fn email_sign_in_sends_a_code_and_resend_voids_the_old_one_with_a_cool_down(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "max").await;
    let (token, _) = app.sign_in(&email, &password).await;
    enable_email(&app, &token, &email).await;

    let r = app.login(TENANT, &email, &password).await;
    assert_eq!(r.body["status"], "mfa_required");
    assert_eq!(r.body["method"], "email");
    let t = r.body["mfa_token"].as_str().unwrap().to_string();
    let first = app.smtp.next_code_for(&email).await;
    app.post("/api/v1/auth/mfa/resend", json!({"mfa_token": t})).await.assert_problem(429, "too_many_attempts");
    app.clock.advance(61);
    let resent = app.post("/api/v1/auth/mfa/resend", json!({"mfa_token": t})).await;
    assert_eq!(resent.status, 202, "{}", resent.text);
    let second = app.smtp.next_code_for(&email).await;
    if first != second {
        verify(&app, &t, "code", &first).await.assert_problem(401, "invalid_code");
    }
    let ok = verify(&app, &t, "code", &second).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(claims_of(ok.body["access_token"].as_str().unwrap())["amr"], json!(["pwd", "email", "mfa"]));
    // Single use.
    let t2 = mfa_token(&app, &email, &password).await;
    let third = app.smtp.next_code_for(&email).await;
    if third != second {
        verify(&app, &t2, "code", &second).await.assert_problem(401, "invalid_code");
    }
    assert_eq!(verify(&app, &t2, "code", &third).await.status, 200);
    verify(&app, &t2, "code", &third).await.assert_problem(401, "invalid_mfa_token");
}

async fn an_emailed_code_expires_after_ten_minutes(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "ned").await;
    let (token, _) = app.sign_in(&email, &password).await;
    enable_email(&app, &token, &email).await;
    let t = mfa_token(&app, &email, &password).await;
    let code = app.smtp.next_code_for(&email).await;
    // The mfa_token lives 5 minutes, so a resend at 4:30 carries the attempt; its code then expires at 14:30.
    app.clock.advance(4 * 60 + 30);
    assert_eq!(app.post("/api/v1/auth/mfa/resend", json!({"mfa_token": t})).await.status, 202);
    let late = app.smtp.next_code_for(&email).await;
    let _ = code;
    app.clock.advance(60);
    verify(&app, &t, "code", &late).await.assert_problem(401, "invalid_mfa_token");
    // Within one attempt, a code older than 10 minutes is refused even with a live mfa_token:
    // shown with a setup code, whose attempt is the setup itself.
    let (_, email2, password2) = app.create_agent(&admin, "nia").await;
    let (token2, _) = app.sign_in(&email2, &password2).await;
    app.post_auth("/api/v1/me/2fa/email/setup", &token2, json!({})).await;
    let setup_code = app.smtp.next_code_for(&email2).await;
    app.clock.advance(10 * 60 + 1);
    app.post_auth("/api/v1/me/2fa/email/confirm", &token2, json!({"code": setup_code}))
        .await
        .assert_problem(403, "invalid_code");
}

async fn the_mfa_token_survives_wrong_codes_dies_on_success_and_after_five_minutes(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "ole").await;
    let t = mfa_token(&app, &email, &password).await;
    for _ in 0..3 {
        verify(&app, &t, "code", "000001").await.assert_problem(401, "invalid_code");
    }
    assert_eq!(verify(&app, &t, "code", &code_now(&app, &secret)).await.status, 200);
    app.clock.advance(30);
    verify(&app, &t, "code", &code_now(&app, &secret)).await.assert_problem(401, "invalid_mfa_token");
    let t = mfa_token(&app, &email, &password).await;
    app.clock.advance(5 * 60 + 1);
    verify(&app, &t, "code", &code_now(&app, &secret)).await.assert_problem(401, "invalid_mfa_token");
    verify(&app, "garbage", "code", "123456").await.assert_problem(401, "invalid_mfa_token");
    app.post("/api/v1/auth/mfa/verify", json!({"mfa_token": t})).await.assert_problem(422, "validation_failed");
}

async fn a_backup_code_signs_in_once(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, _, codes) = agent_with_totp(&app, "pia").await;
    let t = mfa_token(&app, &email, &password).await;
    // Typed loosely: upper case, spaces instead of the hyphen.
    let loose = codes[0].to_uppercase().replace('-', " ");
    let ok = verify(&app, &t, "backup_code", &loose).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(claims_of(ok.body["access_token"].as_str().unwrap())["amr"], json!(["pwd", "backup_code", "mfa"]));
    let t2 = mfa_token(&app, &email, &password).await;
    verify(&app, &t2, "backup_code", &codes[0]).await.assert_problem(401, "invalid_code");
    verify(&app, &t2, "backup_code", "zzzzz-zzzzz").await.assert_problem(401, "invalid_code");
    let token = ok.body["access_token"].as_str().unwrap();
    let status = app.get_auth("/api/v1/me/2fa", token).await;
    assert_eq!(status.body["backup_codes"]["remaining"], 9);
    let admin = app.admin_token().await;
    assert_eq!(app.audit(&admin, "backup_code_used").await.len(), 1);
}

async fn the_user_is_warned_when_only_two_backup_codes_are_left(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, _, codes) = agent_with_totp(&app, "pam").await;
    for code in &codes[..7] {
        let t = mfa_token(&app, &email, &password).await;
        assert_eq!(verify(&app, &t, "backup_code", code).await.status, 200);
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!app.smtp.all_for(&email).iter().any(|m| m.data.contains("only two unused")), "three left: no warning yet");
    let t = mfa_token(&app, &email, &password).await;
    assert_eq!(verify(&app, &t, "backup_code", &codes[7]).await.status, 200);
    app.smtp.wait_for(&email, |m| m.data.contains("only two unused"), std::time::Duration::from_secs(10)).await;
}

async fn concurrent_uses_of_one_backup_code_succeed_once(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, _, codes) = agent_with_totp(&app, "quinn").await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(mfa_token(&app, &email, &password).await);
    }
    let replies = join_all(tokens.iter().map(|t| verify(&app, t, "backup_code", &codes[3]))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1);
}

async fn backup_codes_can_be_viewed_downloaded_and_regenerated(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, codes) = agent_with_totp(&app, "rita").await;
    let t = mfa_token(&app, &email, &password).await;
    let signed = verify(&app, &t, "backup_code", &codes[1]).await;
    let token = signed.body["access_token"].as_str().unwrap().to_string();

    let view = app.get_auth("/api/v1/me/2fa/backup-codes", &token).await;
    assert_eq!(view.status, 200, "{}", view.text);
    let listed: Vec<&Value> = view.body["codes"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 10);
    assert_eq!(listed[1]["code"], codes[1].as_str());
    assert_eq!(listed[1]["used"], true);
    assert!(listed[1]["used_at"].is_string());
    assert_eq!(listed[0]["used"], false);
    assert!(view.body["downloaded_at"].is_null());

    let dl = Reply::from(
        app.client.post(app.url("/api/v1/me/2fa/backup-codes/download")).bearer_auth(&token).send().await.unwrap(),
    )
    .await;
    assert_eq!(dl.status, 200);
    assert!(dl.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(dl.header("content-disposition"), Some("attachment; filename=\"cloudcx-backup-codes.txt\""));
    for c in &codes {
        assert!(dl.text.contains(c.as_str()), "{c} missing from the file");
    }
    assert!(dl.text.contains(&format!("{}  (used)", codes[1])));
    let status = app.get_auth("/api/v1/me/2fa", &token).await;
    assert!(status.body["backup_codes"]["downloaded_at"].is_string(), "the app stops asking");

    let regen = app.post_auth("/api/v1/me/2fa/backup-codes/regenerate", &token, json!({})).await;
    assert_eq!(regen.status, 200, "{}", regen.text);
    let new_codes: Vec<String> =
        regen.body["backup_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(new_codes.len(), 10);
    let status = app.get_auth("/api/v1/me/2fa", &token).await;
    assert!(status.body["backup_codes"]["downloaded_at"].is_null(), "a new set must be downloaded again");
    assert_eq!(status.body["backup_codes"]["remaining"], 10);
    let t = mfa_token(&app, &email, &password).await;
    verify(&app, &t, "backup_code", &codes[2]).await.assert_problem(401, "invalid_code");
    assert_eq!(verify(&app, &t, "backup_code", &new_codes[2]).await.status, 200);
    let _ = secret;
    let admin = app.admin_token().await;
    for kind in ["backup_codes_downloaded", "backup_codes_regenerated"] {
        assert_eq!(app.audit(&admin, kind).await.len(), 1, "{kind}");
    }
    app.smtp.wait_for(&email, |m| m.data.contains("new set of backup codes"), std::time::Duration::from_secs(10)).await;
}

async fn sensitive_two_factor_actions_need_a_recent_sign_in(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "sam").await;
    let t = mfa_token(&app, &email, &password).await;
    let token =
        verify(&app, &t, "code", &code_now(&app, &secret)).await.body["access_token"].as_str().unwrap().to_string();
    app.clock.advance(10 * 60 + 1);
    // Still signed in (the access token lives 15 minutes), but not recently enough.
    assert_eq!(app.get_auth("/api/v1/me/2fa", &token).await.status, 200);
    app.get_auth("/api/v1/me/2fa/backup-codes", &token).await.assert_problem(403, "reauth_required");
    app.post_auth("/api/v1/me/2fa/backup-codes/download", &token, json!({}))
        .await
        .assert_problem(403, "reauth_required");
    app.post_auth("/api/v1/me/2fa/backup-codes/regenerate", &token, json!({}))
        .await
        .assert_problem(403, "reauth_required");
    app.post_auth("/api/v1/me/2fa/disable", &token, json!({"password": password}))
        .await
        .assert_problem(403, "reauth_required");
    let admin = app.admin_token().await;
    let (_, e2, p2) = app.create_agent(&admin, "sid").await;
    let (plain, _) = app.sign_in(&e2, &p2).await;
    app.clock.advance(10 * 60 + 1);
    app.post_auth("/api/v1/me/2fa/totp/setup", &plain, json!({})).await.assert_problem(403, "reauth_required");
    app.post_auth("/api/v1/me/2fa/email/setup", &plain, json!({})).await.assert_problem(403, "reauth_required");
}

async fn turning_off_needs_the_password_and_kills_the_backup_codes(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, codes) = agent_with_totp(&app, "tom").await;
    let t = mfa_token(&app, &email, &password).await;
    let token =
        verify(&app, &t, "code", &code_now(&app, &secret)).await.body["access_token"].as_str().unwrap().to_string();
    app.post_auth("/api/v1/me/2fa/disable", &token, json!({"password": "not-the-password"}))
        .await
        .assert_problem(403, "invalid_credentials");
    let r = app.post_auth("/api/v1/me/2fa/disable", &token, json!({"password": password})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"enabled": false}));
    assert_eq!(app.get_auth("/api/v1/me/2fa", &token).await.body["enabled"], false);
    app.post_auth("/api/v1/me/2fa/disable", &token, json!({"password": password}))
        .await
        .assert_problem(409, "mfa_not_enabled");
    assert_eq!(app.login(TENANT, &email, &password).await.body["status"], "authenticated");
    let count = app
        .with_db(|conn| {
            use cloudcx_auth::db::schema::backup_codes;
            use diesel::prelude::*;
            backup_codes::table.count().get_result::<i64>(conn)
        })
        .await;
    assert_eq!(count, 0, "the backup codes died with it");
    let _ = codes;
    app.smtp.wait_for(&email, |m| m.data.contains("turned off"), std::time::Duration::from_secs(10)).await;
    let admin = app.admin_token().await;
    assert_eq!(app.audit(&admin, "mfa_disabled").await.len(), 1);
    // Switching to e-mail after turning off works.
    enable_email(&app, &token, &email).await;
}

async fn five_wrong_codes_lock_with_retry_after_across_attempts_and_warn_the_user(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "uma").await;
    for i in 0..5 {
        // A fresh mfa_token each time: the budget belongs to the account, not the attempt.
        let t = mfa_token(&app, &email, &password).await;
        verify(&app, &t, "code", "000002").await.assert_problem(401, "invalid_code");
        let _ = i;
    }
    let t = mfa_token(&app, &email, &password).await;
    let locked = verify(&app, &t, "code", &code_now(&app, &secret)).await;
    locked.assert_problem(429, "too_many_attempts");
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry));
    app.smtp
        .wait_for(&email, |m| m.data.contains("wrong second-factor codes"), std::time::Duration::from_secs(10))
        .await;
    let admin = app.admin_token().await;
    let users = app.get_auth("/api/v1/admin/users", &admin).await;
    assert!(users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["email"] == email.as_str() && u["locked"] == true));
    app.clock.advance(31);
    // The next wrong one locks for longer.
    verify(&app, &t, "code", "000003").await.assert_problem(401, "invalid_code");
    let longer = verify(&app, &t, "code", &code_now(&app, &secret)).await;
    longer.assert_problem(429, "too_many_attempts");
    assert!(longer.header("retry-after").unwrap().parse::<i64>().unwrap() > 30);
    assert!(app.audit(&admin, "mfa_failed").await.len() >= 6);
}

async fn a_hundred_wrong_codes_hard_lock_the_account_for_a_day(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, _) = agent_with_totp(&app, "vic").await;
    for n in 1..=100 {
        // Past any lock of the growing kind (at most an hour), so every guess is counted.
        app.clock.advance(3601);
        let t = mfa_token(&app, &email, &password).await;
        verify(&app, &t, "code", "000004").await.assert_problem(401, "invalid_code");
        let _ = n;
    }
    app.clock.advance(3601);
    let t = mfa_token(&app, &email, &password).await;
    let r = verify(&app, &t, "code", &code_now(&app, &secret)).await;
    r.assert_problem(429, "too_many_attempts");
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 20 * 3600, "a hard lock of a day: {retry}");
    app.clock.advance(24 * 3600);
    let t = mfa_token(&app, &email, &password).await;
    assert_eq!(verify(&app, &t, "code", &code_now(&app, &secret)).await.status, 200, "lifted after 24 hours");
}

async fn admin_reset_removes_the_method_ends_sessions_audits_and_emails(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (id, email, password) = app.create_agent(&admin, "wes").await;
    let (token, _) = app.sign_in(&email, &password).await;
    let (secret, _) = enable_totp(&app, &token).await;
    let t = mfa_token(&app, &email, &password).await;
    let live = verify(&app, &t, "code", &code_now(&app, &secret)).await;
    let (live_access, live_refresh) = (
        live.body["access_token"].as_str().unwrap().to_string(),
        live.body["refresh_token"].as_str().unwrap().to_string(),
    );

    let path = format!("/api/v1/admin/users/{id}/2fa/reset");
    app.post_auth(&path, &admin, json!({"reason": ""})).await.assert_problem(422, "validation_failed");
    let (agent_token, _) = {
        let (_, e2, p2) = app.create_agent(&admin, "xena").await;
        app.sign_in(&e2, &p2).await
    };
    app.post_auth(&path, &agent_token, json!({"reason": "x"})).await.assert_problem(403, "forbidden");
    let r = app.post_auth(&path, &admin, json!({"reason": "lost phone and codes", "ticket": "SUP-42"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    app.get_auth("/api/v1/me", &live_access).await.assert_problem(401, "unauthenticated");
    app.post("/api/v1/auth/token/refresh", json!({"refresh_token": live_refresh, "token_delivery": "body"}))
        .await
        .assert_problem(401, "invalid_refresh_token");
    assert_eq!(app.login(TENANT, &email, &password).await.body["status"], "authenticated");
    let events = app.audit(&admin, "mfa_admin_reset").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_id"], claims_of(&admin)["sub"]);
    assert_eq!(events[0]["user_id"], id.as_str());
    assert_eq!(events[0]["details"]["reason"], "lost phone and codes");
    assert_eq!(events[0]["details"]["ticket"], "SUP-42");
    app.smtp.wait_for(&email, |m| m.data.contains("administrator removed"), std::time::Duration::from_secs(10)).await;
    app.post_auth(&path, &admin, json!({"reason": "again"})).await.assert_problem(409, "mfa_not_enabled");
    app.post_auth(&format!("/api/v1/admin/users/{}/2fa/reset", uuid::Uuid::new_v4()), &admin, json!({"reason": "x"}))
        .await
        .assert_problem(404, "not_found");
}

async fn a_site_that_requires_2fa_confines_users_without_it(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let (_, email, password) = app.create_agent(&admin, "yara").await;
    assert_eq!(app.get_auth("/api/v1/admin/settings", &admin).await.body["require_2fa"], false);
    let r = Reply::from(
        app.client
            .patch(app.url("/api/v1/admin/settings"))
            .bearer_auth(&admin)
            .json(&json!({"require_2fa": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["require_2fa"], true);

    let (token, refresh) = app.sign_in(&email, &password).await;
    assert_eq!(claims_of(&token)["mfa_setup_required"], true);
    // A refreshed token carries the site's policy too.
    let r = app.post("/api/v1/auth/token/refresh", json!({"refresh_token": refresh, "token_delivery": "body"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims_of(r.body["access_token"].as_str().unwrap())["mfa_setup_required"], true);
    let me = app.get_auth("/api/v1/me", &token).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["mfa_setup_required"], true);
    assert_eq!(app.get_auth("/api/v1/me/2fa", &token).await.status, 200);
    // The admin, without 2FA either, is confined the same way.
    app.get_auth("/api/v1/admin/users", &admin).await.assert_problem(403, "mfa_setup_required");
    let (secret, _) = enable_totp(&app, &token).await;
    let _ = secret;
    assert_eq!(app.get_auth("/api/v1/me", &token).await.body["mfa_setup_required"], false);
    app.post_auth("/api/v1/me/2fa/disable", &token, json!({"password": password}))
        .await
        .assert_problem(409, "mfa_required_by_site");
    let (admin_secret, _) = enable_totp(&app, &admin).await;
    let _ = admin_secret;
    assert_eq!(app.get_auth("/api/v1/admin/users", &admin).await.status, 200);
}

async fn reauth_for_a_user_with_2fa_needs_a_second_factor(b: Backend) {
    let app = spawn_app(b).await;
    let (email, password, secret, codes) = agent_with_totp(&app, "zed").await;
    let t = mfa_token(&app, &email, &password).await;
    let token =
        verify(&app, &t, "code", &code_now(&app, &secret)).await.body["access_token"].as_str().unwrap().to_string();
    app.clock.advance(11 * 60);
    app.post_auth("/api/v1/auth/reauth", &token, json!({"password": password}))
        .await
        .assert_problem(403, "invalid_code");
    app.post_auth("/api/v1/auth/reauth", &token, json!({"password": password, "code": "000005"}))
        .await
        .assert_problem(403, "invalid_code");
    app.post_auth("/api/v1/auth/reauth", &token, json!({"password": "wrong-one-1", "code": code_now(&app, &secret)}))
        .await
        .assert_problem(403, "invalid_credentials");
    let r = app
        .post_auth(
            "/api/v1/auth/reauth",
            &token,
            json!({"password": password, "code": code_now(&app, &secret), "token_delivery": "body"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims_of(&fresh)["acr"], "aal2");
    assert_eq!(app.get_auth("/api/v1/me/2fa/backup-codes", &fresh).await.status, 200);
    let r = app.post_auth("/api/v1/auth/reauth", &fresh, json!({"password": password, "backup_code": codes[5]})).await;
    assert_eq!(r.status, 200, "a backup code works too: {}", r.text);
    // E-mail method: the code comes from /auth/reauth/email-code.
    let admin = app.admin_token().await;
    let (_, e2, p2) = app.create_agent(&admin, "zoe").await;
    let (tok2, _) = app.sign_in(&e2, &p2).await;
    enable_email(&app, &tok2, &e2).await;
    let sent = app.post_auth("/api/v1/auth/reauth/email-code", &tok2, json!({})).await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let code = app.smtp.next_code_for(&e2).await;
    let r = app.post_auth("/api/v1/auth/reauth", &tok2, json!({"password": p2, "code": code})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(claims_of(r.body["access_token"].as_str().unwrap())["amr"], json!(["pwd", "email", "mfa"]));
    app.post_auth("/api/v1/auth/reauth/email-code", &fresh, json!({})).await.assert_problem(409, "mfa_not_enabled");
}

async fn secrets_and_codes_are_not_stored_in_clear(b: Backend) {
    let app = spawn_app(b).await;
    let (_, _, secret, codes) = agent_with_totp(&app, "abe").await;
    let dump = app
        .with_db(|conn| {
            use cloudcx_auth::db::schema::{backup_code_sets, backup_codes, user_mfa};
            use diesel::prelude::*;
            let a: Vec<Option<String>> = user_mfa::table.select(user_mfa::totp_secret).load(conn)?;
            let b: Vec<String> = backup_codes::table.select(backup_codes::code_hash).load(conn)?;
            let c: Vec<String> = backup_code_sets::table.select(backup_code_sets::sealed_codes).load(conn)?;
            Ok(format!("{a:?}{b:?}{c:?}"))
        })
        .await;
    assert!(!dump.contains(&totp::encode_secret(&secret)));
    for c in &codes {
        assert!(!dump.contains(c.as_str()) && !dump.contains(&c.replace('-', "")));
    }
}

async fn a_code_mail_the_server_refuses_answers_503_and_changes_nothing(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    app.smtp.set_refusing(true);
    app.post_auth("/api/v1/me/2fa/email/setup", &admin, json!({})).await.assert_problem(503, "email_delivery_failed");
    let pending = app
        .with_db(|conn| {
            use cloudcx_auth::db::schema::mfa_setups;
            use diesel::prelude::*;
            mfa_setups::table.count().get_result::<i64>(conn)
        })
        .await;
    assert_eq!(pending, 0, "nothing changed");
    app.smtp.set_refusing(false);
    let (_, email, password) = app.create_agent(&admin, "bea").await;
    let (token, _) = app.sign_in(&email, &password).await;
    enable_email(&app, &token, &email).await;
    app.smtp.set_refusing(true);
    app.login(TENANT, &email, &password).await.assert_problem(503, "email_delivery_failed");
}

async fn notices_wait_out_an_smtp_outage_and_are_delivered_after(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    // The sign-in's new-device notice goes out first; then the mail server goes away.
    app.smtp.wait_for(ADMIN_EMAIL, |m| m.data.contains("new device"), std::time::Duration::from_secs(10)).await;
    app.smtp.set_refusing(true);
    // The security action goes through despite the outage.
    let (secret, _) = enable_totp(&app, &admin).await;
    let _ = secret;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(app.smtp.all().iter().all(|m| !m.data.contains("turned on")));
    let pending = app.with_db(cloudcx_auth::db::outbox::pending_count).await;
    assert_eq!(pending, 1, "the notice waits in the outbox");
    app.smtp.set_refusing(false);
    // Retries back off; move the clock past the next attempt.
    app.clock.advance(30);
    app.smtp.wait_for(ADMIN_EMAIL, |m| m.data.contains("turned on"), std::time::Duration::from_secs(15)).await;
}

async fn join_all<F: std::future::Future<Output = Reply>>(futs: impl Iterator<Item = F>) -> Vec<Reply> {
    let mut set: Vec<_> = futs.map(Box::pin).collect();
    let mut results: Vec<Option<Reply>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => results[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.expect("done")).collect()
}
