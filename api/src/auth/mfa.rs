//! Second-factor mechanics inside a transaction: checking a code or a backup code (each
//! usable once), minting backup-code sets, and the methods named in `amr`.

use crate::auth::secrets::{self, DataKey};
use crate::auth::totp;
use crate::db::mfa::{self, BackupCode, BackupSet, Challenge, UserMfa};
use crate::db::AnyConnection;
use crate::error::{ApiError, Context};

pub const BACKUP_CODES_PER_SET: usize = 10;
/// An `mfa_token` lives 5 minutes; an e-mailed code 10 (within it); a pending TOTP setup 15.
pub const MFA_TOKEN_SECS: i64 = 5 * 60;
pub const EMAIL_CODE_SECS: i64 = 10 * 60;
pub const TOTP_SETUP_SECS: i64 = 15 * 60;
/// Between two e-mailed codes of one attempt.
pub const RESEND_COOLDOWN_SECS: i64 = 60;

/// What proved the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Totp,
    Email,
    BackupCode,
}

impl Factor {
    /// `amr` of a sign-in whose first factor was `first` (`pwd`, or `sso google`…) completed by
    /// this factor (docs/API.md, "Tokens").
    pub fn amr(self, first: &str) -> Vec<String> {
        let second = match self {
            Self::Totp => "otp",
            Self::Email => "email",
            Self::BackupCode => "backup_code",
        };
        let mut amr: Vec<String> = first.split_whitespace().map(str::to_string).collect();
        amr.push(second.to_string());
        amr.push("mfa".to_string());
        amr
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Email => "email",
            Self::BackupCode => "backup_code",
        }
    }
}

/// What the user typed: a code (authenticator or e-mail) or a backup code.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub code: Option<String>,
    pub backup_code: Option<String>,
}

/// The keyed hash stored for an e-mailed code, bound to what it was sent for.
pub fn otp_hash(key: &DataKey, context: &str, code: &str) -> String {
    key.backup_code_hash(&format!("email-otp\n{context}"), code)
}

/// The additional data that binds a sealed TOTP secret to its user.
pub fn totp_aad(user_id: &str) -> Vec<u8> {
    format!("totp\n{user_id}").into_bytes()
}

fn backup_aad(user_id: &str) -> Vec<u8> {
    format!("backup-codes\n{user_id}").into_bytes()
}

/// Checks a second factor of `user` and spends it. `challenge` carries the e-mailed code, if any.
/// `Ok(None)`: wrong, expired or already used.
pub fn verify(
    conn: &mut AnyConnection,
    key: &DataKey,
    method: &UserMfa,
    challenge: Option<&Challenge>,
    submission: &Submission,
    now: i64,
) -> Result<Option<Factor>, ApiError> {
    if let Some(input) = &submission.backup_code {
        return Ok(spend_backup_code(conn, key, &method.user_id, input, now)?.then_some(Factor::BackupCode));
    }
    let Some(code) = submission.code.as_deref() else { return Ok(None) };
    if !secrets::is_six_digits(code) {
        return Ok(None);
    }
    match method.method.as_str() {
        "totp" => {
            let sealed = method.totp_secret.as_deref().context_api("an authenticator method without its secret")?;
            let secret = key.open(sealed, &totp_aad(&method.user_id)).context_api("opening a TOTP secret")?;
            match totp::matching_step(&secret, code, now) {
                Some(step) if mfa::spend_totp_step(conn, &method.user_id, step)? => Ok(Some(Factor::Totp)),
                _ => Ok(None),
            }
        }
        "email" => {
            let Some(c) = challenge else { return Ok(None) };
            let (Some(stored), Some(expires)) = (c.code_hash.as_deref(), c.code_expires_at) else { return Ok(None) };
            if expires <= now || !secrets::ct_eq(stored, &otp_hash(key, &c.token_hash, code)) {
                return Ok(None);
            }
            Ok(mfa::void_challenge_code(conn, &c.token_hash)?.then_some(Factor::Email))
        }
        _ => Ok(None),
    }
}

/// Finds the backup code among the user's unused ones (salted keyed hashes) and spends it.
pub fn spend_backup_code(
    conn: &mut AnyConnection,
    key: &DataKey,
    user_id: &str,
    input: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let Some(code) = secrets::normalize_backup_code(input) else { return Ok(false) };
    let mut found = None;
    // Every stored code is hashed and compared, match or not, so the time says nothing.
    for row in mfa::backup_codes(conn, user_id)? {
        let hit = secrets::ct_eq(&row.code_hash, &key.backup_code_hash(&row.salt, &code));
        if hit && row.used_at.is_none() {
            found = Some(row.id);
        }
    }
    match found {
        Some(id) => Ok(mfa::spend_backup_code(conn, &id, now)?),
        None => Ok(false),
    }
}

/// A new set of backup codes for the user, replacing the old one. Returns the codes in clear
/// (shown once in the answer; the readable copy is sealed in the set).
pub fn new_backup_codes(
    conn: &mut AnyConnection,
    key: &DataKey,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, ApiError> {
    let plain: Vec<String> = (0..BACKUP_CODES_PER_SET).map(|_| secrets::new_backup_code()).collect();
    let set_id = uuid::Uuid::new_v4().to_string();
    let sealed = key.seal(serde_json::to_string(&plain).map_err(ApiError::internal)?.as_bytes(), &backup_aad(user_id));
    let set = BackupSet {
        user_id: user_id.into(),
        id: set_id.clone(),
        sealed_codes: sealed,
        generated_at: now,
        downloaded_at: None,
    };
    let rows: Vec<BackupCode> = plain
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let salt = secrets::new_salt();
            BackupCode {
                id: uuid::Uuid::new_v4().to_string(),
                user_id: user_id.into(),
                set_id: set_id.clone(),
                position: i as i32,
                code_hash: key.backup_code_hash(&salt, code),
                salt,
                used_at: None,
            }
        })
        .collect();
    mfa::replace_backup_codes(conn, &set, &rows)?;
    Ok(plain)
}

/// Each backup code in clear with the time it was used, if it was.
pub type ReadableCodes = Vec<(String, Option<i64>)>;

/// The readable copy of the user's backup codes, with each one's use.
pub fn read_backup_codes(
    conn: &mut AnyConnection,
    key: &DataKey,
    user_id: &str,
) -> Result<Option<(BackupSet, ReadableCodes)>, ApiError> {
    let Some(set) = mfa::backup_set(conn, user_id)? else { return Ok(None) };
    let plain: Vec<String> = serde_json::from_slice(
        &key.open(&set.sealed_codes, &backup_aad(user_id)).context_api("opening the backup codes")?,
    )
    .context_api("reading the opened backup codes")?;
    let rows = mfa::backup_codes(conn, user_id)?;
    let codes = plain
        .into_iter()
        .enumerate()
        .map(|(i, code)| {
            let used = rows.iter().find(|r| r.position == i as i32).and_then(|r| r.used_at);
            (code, used)
        })
        .collect();
    Ok(Some((set, codes)))
}

/// Unused backup codes left.
pub fn remaining_backup_codes(conn: &mut AnyConnection, user_id: &str) -> Result<usize, ApiError> {
    Ok(mfa::backup_codes(conn, user_id)?.iter().filter(|c| c.used_at.is_none()).count())
}
