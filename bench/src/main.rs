//! `cloudcx-bench`: the ceilings that `make bench` sets the service's figures beside, and the
//! seed data its scenarios spend. Driven by `bench/bench.py`; every command prints one JSON line.
//!
//! - `argon2 --threads N --seconds S`: Argon2id verifications of a hash made by the service's
//!   own `hash_now` (so the same parameters), N threads in parallel.
//! - `sign --key PEM --threads N --seconds S`: access tokens signed by the service's `KeySet`.
//! - `bare --listen ADDR`: an actix-web server with one JSON handler, default workers (as the
//!   service): the framework's ceiling.
//! - `seed --out DIR --data-key B64 --tenant-id ID --prefix P --password PW --users N
//!   --totp-users N --backup-users N [--now UNIX] [--code-horizon SECS]`: TSV files for `COPY`
//!   (users, 2FA methods, backup codes, pending sign-in challenges) and the tokens and codes
//!   the load generator sends.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use base64::Engine;
use cloudcx_auth::auth::jwt::{Claims, KeySet};
use cloudcx_auth::auth::secrets::{self, DataKey};
use cloudcx_auth::auth::{mfa, password, tokens, totp};

const USAGE: &str = "usage: cloudcx-bench argon2|sign|bare|seed [flags] (see the source's header)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("argon2") => argon2_rate(rest),
        Some("sign") => sign_rate(rest),
        Some("bare") => bare(rest),
        Some("seed") => seed(rest),
        _ => Err(anyhow!(USAGE)),
    };
    if let Err(e) = result {
        eprintln!("cloudcx-bench: {e:#}");
        std::process::exit(1);
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone())
}

fn required(args: &[String], name: &str) -> anyhow::Result<String> {
    flag(args, name).ok_or_else(|| anyhow!("{name} is required\n{USAGE}"))
}

fn number<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> anyhow::Result<T> {
    match flag(args, name) {
        Some(v) => v.parse().map_err(|_| anyhow!("{name}: not a number: {v}")),
        None => Ok(default),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// utime + stime of this process, in seconds (clock ticks of 1/100 s on Linux).
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat; here 0-based after the name: 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `work` on `threads` threads until `seconds` have passed; returns (operations, wall
/// seconds, CPU seconds of this process).
fn run_parallel(
    threads: usize,
    seconds: f64,
    work: impl Fn() -> anyhow::Result<()> + Sync,
) -> anyhow::Result<(u64, f64, f64)> {
    let cpu_before = own_cpu_seconds();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let counts: Vec<anyhow::Result<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<u64> {
                    let mut n = 0;
                    while Instant::now() < deadline {
                        work()?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a worker panicked")))).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut ops = 0;
    for c in counts {
        ops += c?;
    }
    Ok((ops, elapsed, own_cpu_seconds() - cpu_before))
}

fn report(kind: &str, threads: usize, (ops, elapsed, cpu): (u64, f64, f64), extra: serde_json::Value) {
    let mut out = serde_json::json!({
        "kind": kind,
        "threads": threads,
        "cores": cores(),
        "ops": ops,
        "seconds": elapsed,
        "rate": ops as f64 / elapsed,
        "cpu_seconds": cpu,
        "per_cpu_second": if cpu > 0.0 { ops as f64 / cpu } else { 0.0 },
    });
    if let (Some(out), Some(extra)) = (out.as_object_mut(), extra.as_object()) {
        out.extend(extra.clone());
    }
    println!("{out}");
}

const BENCH_PASSWORD: &str = "bench password, long enough";

fn argon2_rate(args: &[String]) -> anyhow::Result<()> {
    let threads = number(args, "--threads", cores())?;
    let seconds = number(args, "--seconds", 5.0)?;
    // The service's own hash: its parameters are the ones verified below (they travel in the hash).
    let hash = password::hash_now(BENCH_PASSWORD)?;
    let parsed = PasswordHash::new(&hash).map_err(|e| anyhow!("{e}"))?;
    let params = hash.split('$').nth(3).unwrap_or_default().to_string();
    let verifier = argon2::Argon2::default();
    let measured = run_parallel(threads, seconds, || {
        verifier.verify_password(BENCH_PASSWORD.as_bytes(), &parsed).map_err(|e| anyhow!("verify: {e}"))
    })?;
    report("argon2id_verify", threads, measured, serde_json::json!({ "params": params }));
    Ok(())
}

fn sample_claims(keys: &KeySet, now: i64) -> Claims {
    Claims {
        iss: keys.issuer().to_string(),
        sub: uuid::Uuid::new_v4().to_string(),
        aud: keys.audience().to_string(),
        exp: now + 900,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().to_string(),
        tid: uuid::Uuid::new_v4().to_string(),
        role: Some("agent".into()),
        auth_time: Some(now),
        amr: vec!["pwd".into()],
        acr: Some("aal1".into()),
        sid: Some(uuid::Uuid::new_v4().to_string()),
        mfa_setup_required: None,
        client_id: None,
        scope: None,
    }
}

fn sign_rate(args: &[String]) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(required(args, "--key")?).context("--key")?;
    let threads = number(args, "--threads", cores())?;
    let seconds = number(args, "--seconds", 5.0)?;
    let keys = KeySet::new(&pem, &[], "http://127.0.0.1:8080".into(), "cloudcx".into())?;
    let claims = sample_claims(&keys, 1_800_000_000);
    let measured = run_parallel(threads, seconds, || {
        // A fresh `jti` each time, as the service mints one per token.
        let mut c = claims.clone();
        c.jti = uuid::Uuid::new_v4().to_string();
        keys.sign(&c).map(|_| ())
    })?;
    report("jwt_sign", threads, measured, serde_json::json!({ "alg": format!("{:?}", keys.current.alg) }));
    Ok(())
}

async fn bare_handler() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

fn bare(args: &[String]) -> anyhow::Result<()> {
    let listen = required(args, "--listen")?;
    actix_web::rt::System::new().block_on(async move {
        // Default workers (one per core), as the service's HttpServer.
        actix_web::HttpServer::new(|| actix_web::App::new().route("/bare", actix_web::web::get().to(bare_handler)))
            .bind(&listen)?
            .run()
            .await
    })?;
    Ok(())
}

/// A user row for `COPY users FROM` (tab-separated, `\N` for null).
fn user_row(out: &mut String, id: &str, tenant_id: &str, email: &str, hash: &str, now: i64) {
    let _ = writeln!(out, "{id}\t{tenant_id}\t{email}\tBench user\t{hash}\tagent\tf\t{now}\t\\N\t{now}\t\\N");
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        let mut f = std::fs::File::create(&path).with_context(|| path.display().to_string())?;
        f.write_all(text.as_bytes())?;
        Ok(())
    }
}

fn seed(args: &[String]) -> anyhow::Result<()> {
    let dir = PathBuf::from(required(args, "--out")?);
    std::fs::create_dir_all(&dir)?;
    let files = Files { dir: dir.clone() };
    let raw = base64::engine::general_purpose::STANDARD.decode(required(args, "--data-key")?.trim())?;
    let key = DataKey::new(raw.as_slice().try_into().map_err(|_| anyhow!("--data-key: 32 bytes, base64"))?);
    let tenant_id = required(args, "--tenant-id")?;
    let prefix = required(args, "--prefix")?;
    let pw = flag(args, "--password").unwrap_or_else(|| BENCH_PASSWORD.to_string());
    let n_users: usize = number(args, "--users", 0)?;
    let n_totp: usize = number(args, "--totp-users", 0)?;
    let n_backup: usize = number(args, "--backup-users", 0)?;
    let now: i64 = match flag(args, "--now") {
        Some(v) => v.parse()?,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64,
    };
    let horizon: i64 = number(args, "--code-horizon", 900)?;

    // One Argon2id hash (the service's parameters) shared by every seeded user: verifying it
    // costs what verifying a per-user hash costs, and seeding stays fast.
    let hash = password::hash_now(&pw)?;
    // One authenticator secret shared by the TOTP users (sealed per user, bound to the user id
    // as the service does), so the load generator needs one code per 30-second step.
    let totp_secret = totp::generate_secret();

    let (mut users, mut user_mfa, mut sets, mut codes, mut challenges) =
        (String::new(), String::new(), String::new(), String::new(), String::new());
    let (mut login, mut totp_tokens, mut backup_tokens) = (String::new(), String::new(), String::new());

    for i in 0..n_users {
        let email = format!("{prefix}-pwd-{i}@bench.example");
        user_row(&mut users, &uuid::Uuid::new_v4().to_string(), &tenant_id, &email, &hash, now);
        let _ = writeln!(login, "{email}");
    }
    let mut challenge = |user_id: &str| -> String {
        let token = tokens::random_token(16);
        let th = tokens::token_hash(&token);
        // token_hash user_id purpose method code_hash code_expires_at last_sent_at expires_at
        // consumed_at created_at first_factor link_token_hash
        let _ = writeln!(
            challenges,
            "{th}\t{user_id}\tsignin\ttotp\t\\N\t\\N\t\\N\t{}\t\\N\t{now}\tpwd\t\\N",
            now + mfa::MFA_TOKEN_SECS
        );
        token
    };
    for (kind, n) in [("totp", n_totp), ("backup", n_backup)] {
        for i in 0..n {
            let user_id = uuid::Uuid::new_v4().to_string();
            let email = format!("{prefix}-{kind}-{i}@bench.example");
            user_row(&mut users, &user_id, &tenant_id, &email, &hash, now);
            let sealed = key.seal(&totp_secret, &mfa::totp_aad(&user_id));
            let _ = writeln!(user_mfa, "{user_id}\ttotp\t{sealed}\t0\t{now}");
            // A full set of backup codes for every 2FA user (a backup-code check hashes them all).
            let plain: Vec<String> = (0..mfa::BACKUP_CODES_PER_SET).map(|_| secrets::new_backup_code()).collect();
            let set_id = uuid::Uuid::new_v4().to_string();
            let sealed_codes =
                key.seal(serde_json::to_string(&plain)?.as_bytes(), format!("backup-codes\n{user_id}").as_bytes());
            let _ = writeln!(sets, "{user_id}\t{set_id}\t{sealed_codes}\t{now}\t\\N");
            for (pos, code) in plain.iter().enumerate() {
                let salt = secrets::new_salt();
                let code_hash = key.backup_code_hash(&salt, code);
                let id = uuid::Uuid::new_v4();
                let _ = writeln!(codes, "{id}\t{user_id}\t{set_id}\t{pos}\t{salt}\t{code_hash}\t\\N");
            }
            let token = challenge(&user_id);
            if kind == "totp" {
                let _ = writeln!(totp_tokens, "{token}");
            } else {
                let _ = writeln!(backup_tokens, "{token}\t{}", plain[0]);
            }
        }
    }
    let mut step_codes = String::new();
    for step in totp::step_of(now) - 2..=totp::step_of(now + horizon) + 1 {
        let _ = writeln!(step_codes, "{step} {}", totp::code_at_step(&totp_secret, step));
    }

    files.write("users.tsv", &users)?;
    files.write("user_mfa.tsv", &user_mfa)?;
    files.write("backup_code_sets.tsv", &sets)?;
    files.write("backup_codes.tsv", &codes)?;
    files.write("mfa_challenges.tsv", &challenges)?;
    files.write("login.txt", &login)?;
    files.write("totp.txt", &totp_tokens)?;
    files.write("backup.txt", &backup_tokens)?;
    files.write("totp-codes.txt", &step_codes)?;
    println!(
        "{}",
        serde_json::json!({
            "out": path_str(&dir), "users": n_users, "totp_users": n_totp, "backup_users": n_backup,
            "hash_params": hash.split('$').nth(3).unwrap_or_default(),
        })
    );
    if n_users + n_totp + n_backup == 0 {
        bail!("nothing to seed: give --users, --totp-users or --backup-users");
    }
    Ok(())
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}
