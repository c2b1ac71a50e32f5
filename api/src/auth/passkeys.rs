//! Passkey mechanics (WebAuthn, with Kanidm's `webauthn-rs`), free of actix and of the database:
//! the relying party built once from `AUTH_PUBLIC_URL`, the ceremonies' options and states, and
//! the verification of what an authenticator answered. States go to the database as JSON
//! (`db::passkeys`): several instances share them, and each is taken once.

use base64::Engine;
use serde::Deserialize;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

/// A ceremony's challenge lives this long.
pub const CHALLENGE_SECS: i64 = 5 * 60;

/// What a challenge is for; stored in `webauthn_challenges.purpose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SignIn,
    Reauth,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "signin",
            Self::Reauth => "reauth",
        }
    }
}

/// The relying party of `public_url` (`AUTH_PUBLIC_URL`): its host is the RP ID, its origin the
/// only origin accepted, "CloudCX" its name. `Ok(None)` when the host is an IP address (the
/// default `http://127.0.0.1:8080`): WebAuthn needs a domain, so passkeys are then unavailable
/// rather than the service refusing to start.
pub fn relying_party(public_url: &str) -> Result<Option<Webauthn>, String> {
    let origin = Url::parse(public_url).map_err(|e| format!("AUTH_PUBLIC_URL: {e}"))?;
    let Some(rp_id) = origin.domain().map(str::to_string) else { return Ok(None) };
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|b| b.rp_name("CloudCX").build())
        .map(Some)
        .map_err(|e| format!("AUTH_PUBLIC_URL: not usable as a WebAuthn relying party: {e}"))
}

/// The WebAuthn user handle of a user: their id when it is a UUID (always, for users made here),
/// else 16 bytes of its SHA-256 — stable, and never the e-mail, which may change.
pub fn user_handle(user_id: &str) -> Uuid {
    Uuid::parse_str(user_id).unwrap_or_else(|_| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(user_id.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Uuid::from_bytes(bytes)
    })
}

/// base64url (unpadded) of a credential ID: how `passkeys.credential_id` stores it.
pub fn credential_id_text(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// RFC 8176 `amr` of a passkey sign-in: `swk` (a software-protected key: a synced passkey, which
/// its backup-eligible flag reveals) or `hwk` (a key bound to one device), and `user` (user
/// verification was required and performed).
pub fn amr(backup_eligible: bool) -> Vec<String> {
    vec![if backup_eligible { "swk" } else { "hwk" }.into(), "user".into()]
}

/// Why a ceremony failed (for the log and the audit row; the client gets one answer for all).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the stored ceremony state is unreadable: {0}")]
    State(String),
    #[error("the stored credential is unreadable: {0}")]
    Credential(String),
    #[error("WebAuthn refused the response: {0}")]
    Webauthn(#[from] webauthn_rs::prelude::WebauthnError),
}

/// A credential's flags and counter, as the library keeps them inside its `Passkey` (whose
/// fields are private: its JSON form is the stable way to read them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub counter: i64,
}

#[derive(Deserialize)]
struct PasskeyJson {
    cred: CredJson,
}

#[derive(Deserialize)]
struct CredJson {
    counter: u32,
    backup_eligible: bool,
    backup_state: bool,
}

fn flags_of(passkey_json: &str) -> Result<Flags, Refused> {
    let p: PasskeyJson = serde_json::from_str(passkey_json).map_err(|e| Refused::Credential(e.to_string()))?;
    Ok(Flags {
        backup_eligible: p.cred.backup_eligible,
        backed_up: p.cred.backup_state,
        counter: p.cred.counter.into(),
    })
}

/// Options for the browser (`navigator.credentials.create`) and the state to store.
pub struct Started {
    /// The library's `CreationChallengeResponse` or `RequestChallengeResponse`, JSON.
    pub options: serde_json::Value,
    /// The ceremony state, JSON.
    pub state: String,
}

/// Starts adding a passkey for a user, excluding the credentials they already have. The options
/// ask for a discoverable credential (`residentKey: "required"`) with user verification: a
/// passkey must sign in without an e-mail typed first. The library asks for neither, and does
/// not check residency when finishing, so the options are edited before they are answered.
pub fn start_registration(
    webauthn: &Webauthn,
    user_id: &str,
    email: &str,
    display_name: &str,
    existing: &[String],
) -> Result<Started, Refused> {
    let exclude = existing
        .iter()
        .filter_map(|json| serde_json::from_str::<Passkey>(json).ok())
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (ccr, state): (CreationChallengeResponse, PasskeyRegistration) =
        webauthn.start_passkey_registration(user_handle(user_id), email, display_name, Some(exclude))?;
    let mut options = serde_json::to_value(&ccr).map_err(|e| Refused::State(e.to_string()))?;
    if let Some(public_key) = options.get_mut("publicKey").and_then(|p| p.as_object_mut()) {
        let selection = public_key.entry("authenticatorSelection").or_insert_with(|| serde_json::json!({}));
        if let Some(selection) = selection.as_object_mut() {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
            selection.insert("userVerification".into(), "required".into());
        }
    }
    Ok(Started { options, state: serde_json::to_string(&state).map_err(|e| Refused::State(e.to_string()))? })
}

/// A credential the authenticator just made, ready to store.
pub struct NewCredential {
    pub credential_id: String,
    /// The library's `Passkey`, JSON.
    pub credential: String,
    pub flags: Flags,
}

/// Checks the authenticator's answer against the stored registration state.
pub fn finish_registration(
    webauthn: &Webauthn,
    state: &str,
    answer: &RegisterPublicKeyCredential,
) -> Result<NewCredential, Refused> {
    let state: PasskeyRegistration = serde_json::from_str(state).map_err(|e| Refused::State(e.to_string()))?;
    let passkey = webauthn.finish_passkey_registration(answer, &state)?;
    let credential = serde_json::to_string(&passkey).map_err(|e| Refused::Credential(e.to_string()))?;
    Ok(NewCredential {
        credential_id: credential_id_text(passkey.cred_id().as_ref()),
        flags: flags_of(&credential)?,
        credential,
    })
}

/// Starts a discoverable sign-in: no credentials named, the browser offers the site's passkeys.
pub fn start_sign_in(webauthn: &Webauthn) -> Result<Started, Refused> {
    let (rcr, state) = webauthn.start_discoverable_authentication()?;
    Ok(Started {
        options: serde_json::to_value(&rcr).map_err(|e| Refused::State(e.to_string()))?,
        state: serde_json::to_string(&state).map_err(|e| Refused::State(e.to_string()))?,
    })
}

/// Starts a re-authentication with one of the user's passkeys (`credentials`: their stored JSON).
pub fn start_reauth(webauthn: &Webauthn, credentials: &[String]) -> Result<Started, Refused> {
    let passkeys = credentials
        .iter()
        .map(|json| serde_json::from_str::<Passkey>(json).map_err(|e| Refused::Credential(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let (rcr, state) = webauthn.start_passkey_authentication(&passkeys)?;
    Ok(Started {
        options: serde_json::to_value(&rcr).map_err(|e| Refused::State(e.to_string()))?,
        state: serde_json::to_string(&state).map_err(|e| Refused::State(e.to_string()))?,
    })
}

/// A verified assertion: the credential as it must now be stored (counter and backup flags
/// updated from the assertion, as the library advises), and its flags.
#[derive(Debug)]
pub struct Verified {
    pub credential: String,
    pub flags: Flags,
}

/// Which ceremony an assertion answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    SignIn,
    Reauth,
}

/// Verifies an assertion against the stored state of `ceremony` and the stored credential
/// (`credential`: the `Passkey` JSON of the row found by the assertion's credential ID). The
/// library checks the challenge, the origin, the RP ID, user verification, the signature, and
/// refuses a counter that did not go up against the stored one (a possible clone); the caller
/// stores the result only if the stored counter is still below it (`db::passkeys::record_use`).
pub fn verify_assertion(
    webauthn: &Webauthn,
    ceremony: Ceremony,
    state: &str,
    credential: &str,
    answer: &PublicKeyCredential,
) -> Result<Verified, Refused> {
    let mut passkey: Passkey = serde_json::from_str(credential).map_err(|e| Refused::Credential(e.to_string()))?;
    let result = match ceremony {
        Ceremony::SignIn => {
            let state: DiscoverableAuthentication =
                serde_json::from_str(state).map_err(|e| Refused::State(e.to_string()))?;
            webauthn.finish_discoverable_authentication_v2(answer, state, &passkey)?
        }
        Ceremony::Reauth => {
            let state: PasskeyAuthentication =
                serde_json::from_str(state).map_err(|e| Refused::State(e.to_string()))?;
            // The state carries the user's credentials as they were when it started; a counter
            // that moved since then is caught when the use is recorded against the stored one.
            webauthn.finish_passkey_authentication(answer, &state)?
        }
    };
    passkey.update_credential(&result);
    let credential = serde_json::to_string(&passkey).map_err(|e| Refused::Credential(e.to_string()))?;
    let mut flags = flags_of(&credential)?;
    flags.counter = result.counter().into();
    Ok(Verified { credential, flags })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_urls_host_and_an_ip_address_has_none() {
        assert!(relying_party("https://auth.example.com").unwrap().is_some());
        assert!(relying_party("http://localhost:8080").unwrap().is_some());
        assert!(relying_party("http://127.0.0.1:8080").unwrap().is_none());
    }

    #[test]
    fn a_synced_passkey_says_swk_and_a_device_bound_one_hwk() {
        assert_eq!(amr(true), vec!["swk", "user"]);
        assert_eq!(amr(false), vec!["hwk", "user"]);
    }

    /// What `@simplewebauthn/browser` (the web app's WebAuthn calls) hands over, extra fields
    /// and all, is taken as it comes.
    #[test]
    fn the_browser_libraries_json_is_accepted_as_it_comes() {
        let registration = serde_json::json!({
            "id": "AQID", "rawId": "AQID", "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": true}},
            "response": {
                "attestationObject": "AQID", "clientDataJSON": "AQID", "transports": ["internal", "hybrid", "smart-card"],
                "publicKeyAlgorithm": -7, "publicKey": "AQID", "authenticatorData": "AQID"
            }
        });
        assert!(serde_json::from_value::<RegisterPublicKeyCredential>(registration).is_ok());
        let assertion = serde_json::json!({
            "id": "AQID", "rawId": "AQID", "type": "public-key", "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {},
            "response": {"authenticatorData": "AQID", "clientDataJSON": "AQID", "signature": "AQID", "userHandle": "AQID"}
        });
        let parsed = serde_json::from_value::<PublicKeyCredential>(assertion).expect("assertion");
        assert_eq!(parsed.get_credential_id(), &[1, 2, 3]);
        assert_eq!(parsed.get_user_unique_id(), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn a_user_handle_is_the_users_uuid() {
        let id = "6f1c0d2e-4b7a-4f7e-9a51-0c2b8f8e1d33";
        assert_eq!(user_handle(id).to_string(), id);
        assert_eq!(user_handle("not-a-uuid"), user_handle("not-a-uuid"));
    }
}
