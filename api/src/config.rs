//! Typed configuration, read once from the environment (see docs/API.md, "Configuration").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use ipnet::IpNet;

use crate::db::DbTarget;
use crate::domain::Secret;

/// A setting that is missing or malformed: start-up stops with this one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{var}: {expects}")]
pub struct ConfigError {
    pub var: &'static str,
    pub expects: String,
}

fn err(var: &'static str, expects: impl Into<String>) -> ConfigError {
    ConfigError { var, expects: expects.into() }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DbTarget,
    pub listen: SocketAddr,
    /// `None`: `http://{the bound address}`, resolved once the socket is bound.
    pub public_url: Option<String>,
    pub smtp_url: Option<String>,
    /// 32 bytes; `None` only until [`Config::resolve_generated_secrets`] for SQLite.
    pub data_key: Option<Secret<[u8; 32]>>,
    /// PEM of the signing key; `None` only until generated for SQLite.
    pub jwt_key_pem: Option<Secret<String>>,
    pub jwt_previous_key_pems: Vec<Secret<String>>,
    pub jwt_audience: String,
    pub session_max_hours: i64,
    pub session_idle_minutes: i64,
    pub bootstrap_tenant: Option<String>,
    pub bootstrap_admin_email: Option<String>,
    pub bootstrap_admin_password: Option<Secret<String>>,
    pub signin_per_ip_per_min: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub allow_insecure_issuers: bool,
    pub metrics_allow: Vec<IpNet>,
    pub web_dir: PathBuf,
    /// `AUTH_REVOCATION_POLL_MS`: how often each instance reads the revocation log even without
    /// a notification (the second path beside PostgreSQL `LISTEN`/`NOTIFY`).
    pub revocation_poll_ms: u64,
    /// `AUTH_REVOCATION_STALE_MS`: an instance whose view of the revocation log has not been
    /// confirmed for this long stops trusting it and asks the database on every request.
    pub revocation_stale_ms: u64,
    /// `AUTH_DB_MIN_IDLE`: connections the pool keeps open when idle (default 1).
    pub db_min_idle: u32,
    /// `AUTH_DB_IDLE_TIMEOUT_SECS`: a pooled connection idle this long is closed (down to the minimum).
    pub db_idle_timeout_secs: u64,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `get` (the environment, or a map in tests). Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/cloudcx-auth.db".into());
        let database = DbTarget::parse(&database_url).map_err(|e| err("DATABASE_URL", e))?;

        let listen = get("AUTH_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| err("AUTH_LISTEN", "an address and port such as 127.0.0.1:8080"))?;

        let public_url = get("AUTH_PUBLIC_URL").map(|u| parse_public_url(&u)).transpose()?;

        let smtp_url = get("AUTH_SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(err("AUTH_SMTP_URL", "smtp://host:port or smtps://host:port"));
            }
        }

        let data_key = get("AUTH_DATA_KEY").map(|v| parse_data_key(&v)).transpose()?;
        let jwt_key_pem = get("AUTH_JWT_KEY_FILE").map(|path| read_pem("AUTH_JWT_KEY_FILE", &path)).transpose()?;
        let jwt_previous_key_pems = match get("AUTH_JWT_PREVIOUS_KEY_FILES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| read_pem("AUTH_JWT_PREVIOUS_KEY_FILES", p))
                .collect::<Result<_, _>>()?,
        };
        if !database.is_sqlite() {
            if data_key.is_none() {
                return Err(err("AUTH_DATA_KEY", "32 bytes in base64; required with PostgreSQL"));
            }
            if jwt_key_pem.is_none() {
                return Err(err("AUTH_JWT_KEY_FILE", "a PEM private key file; required with PostgreSQL"));
            }
        }

        let session_max_hours = parse_range(get("AUTH_SESSION_MAX_HOURS"), "AUTH_SESSION_MAX_HOURS", 12, 1, 24 * 90)?;
        let session_idle_minutes =
            parse_range(get("AUTH_SESSION_IDLE_MINUTES"), "AUTH_SESSION_IDLE_MINUTES", 120, 1, 60 * 24 * 90)?;
        let signin_per_ip_per_min =
            parse_range(get("AUTH_SIGNIN_PER_IP_PER_MIN"), "AUTH_SIGNIN_PER_IP_PER_MIN", 60, 1, 1_000_000)? as u32;

        let bootstrap_tenant = get("AUTH_BOOTSTRAP_TENANT");
        let bootstrap_admin_email = get("AUTH_BOOTSTRAP_ADMIN_EMAIL");
        if bootstrap_tenant.is_some() != bootstrap_admin_email.is_some() {
            return Err(err(
                "AUTH_BOOTSTRAP_ADMIN_EMAIL",
                "AUTH_BOOTSTRAP_TENANT and AUTH_BOOTSTRAP_ADMIN_EMAIL go together",
            ));
        }

        Ok(Self {
            database,
            listen,
            public_url,
            smtp_url,
            data_key,
            jwt_key_pem,
            jwt_previous_key_pems,
            jwt_audience: get("AUTH_JWT_AUDIENCE").unwrap_or_else(|| "cloudcx".into()),
            session_max_hours,
            session_idle_minutes,
            bootstrap_tenant,
            bootstrap_admin_email,
            bootstrap_admin_password: get("AUTH_BOOTSTRAP_ADMIN_PASSWORD").map(Secret::new),
            signin_per_ip_per_min,
            trusted_proxies: parse_cidrs(get("AUTH_TRUSTED_PROXIES"), "AUTH_TRUSTED_PROXIES", "")?,
            allow_insecure_issuers: parse_bool(get("AUTH_ALLOW_INSECURE_ISSUERS"), "AUTH_ALLOW_INSECURE_ISSUERS")?,
            metrics_allow: parse_cidrs(get("AUTH_METRICS_ALLOW"), "AUTH_METRICS_ALLOW", "127.0.0.0/8,::1/128")?,
            web_dir: PathBuf::from(get("AUTH_WEB_DIR").unwrap_or_else(|| "web/dist".into())),
            revocation_poll_ms: parse_range(get("AUTH_REVOCATION_POLL_MS"), "AUTH_REVOCATION_POLL_MS", 250, 10, 10_000)?
                as u64,
            revocation_stale_ms: parse_range(
                get("AUTH_REVOCATION_STALE_MS"),
                "AUTH_REVOCATION_STALE_MS",
                1000,
                100,
                600_000,
            )? as u64,
            db_min_idle: parse_range(get("AUTH_DB_MIN_IDLE"), "AUTH_DB_MIN_IDLE", 1, 0, 16)? as u32,
            db_idle_timeout_secs: parse_range(
                get("AUTH_DB_IDLE_TIMEOUT_SECS"),
                "AUTH_DB_IDLE_TIMEOUT_SECS",
                60,
                1,
                86_400,
            )? as u64,
        })
    }

    /// The folder beside the SQLite file (`data/` by default) that holds generated keys.
    pub fn data_dir(&self) -> Option<PathBuf> {
        match &self.database {
            DbTarget::Sqlite(path) => Some(
                Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf(),
            ),
            DbTarget::Postgres(_) => None,
        }
    }

    /// For the embedded database only: generates the data key and the signing key once into
    /// the data folder (with a warning), so that a first `make run` needs no setup.
    pub fn resolve_generated_secrets(&mut self) -> anyhow::Result<()> {
        let Some(dir) = self.data_dir() else { return Ok(()) };
        if self.data_key.is_some() && self.jwt_key_pem.is_some() {
            return Ok(());
        }
        std::fs::create_dir_all(&dir)?;
        if self.data_key.is_none() {
            let path = dir.join("data-key");
            if !path.exists() {
                let mut key = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
                write_private(&path, &base64::engine::general_purpose::STANDARD.encode(key))?;
                tracing::warn!(path = %path.display(), "AUTH_DATA_KEY unset: generated a data key; set AUTH_DATA_KEY in production");
            }
            let text = std::fs::read_to_string(&path)?;
            self.data_key = Some(parse_data_key(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?);
        }
        if self.jwt_key_pem.is_none() {
            let path = dir.join("jwt-signing-key.pem");
            if !path.exists() {
                write_private(&path, &crate::auth::jwt::generate_rsa_pem()?)?;
                tracing::warn!(path = %path.display(), "AUTH_JWT_KEY_FILE unset: generated an RSA signing key");
            }
            self.jwt_key_pem = Some(Secret::new(std::fs::read_to_string(&path)?));
        }
        Ok(())
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// `AUTH_PUBLIC_URL`, parsed (not prefix-matched): `http` or `https`, a host, no credentials,
/// query or fragment. Answered in its normal form — scheme and host in lower case, no trailing
/// slash — which is what browsers send as `Origin` and what `iss` carries.
fn parse_public_url(input: &str) -> Result<String, ConfigError> {
    let invalid = || err("AUTH_PUBLIC_URL", "an origin such as https://auth.example.com");
    if input.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    let url = url::Url::parse(input).map_err(|_| invalid())?;
    let plain = url.username().is_empty() && url.password().is_none() && url.query().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !plain || url.fragment().is_some() {
        return Err(invalid());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// What the public URL's scheme and host decide for browsers, judged once at start-up on the
/// parsed URL. (A prefix match took `http://localhost.example.com` for the loopback, and saw no
/// `https` in `HTTPS://…`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// The scheme is `https`: answers carry `Strict-Transport-Security`.
    pub https: bool,
    /// Cookies carry `Secure`: always, except for plain `http` on the loopback (development),
    /// where a browser would not keep a `Secure` cookie.
    pub cookies_secure: bool,
}

impl Transport {
    /// Decides for `public_url` (`AUTH_PUBLIC_URL`, or `http://{the bound address}`). Anything
    /// unparseable gets secure cookies and no HSTS: it can only be a configuration mistake.
    pub fn of(public_url: &str) -> Self {
        let Ok(url) = url::Url::parse(public_url) else { return Self { https: false, cookies_secure: true } };
        let https = url.scheme() == "https";
        let loopback = match url.host() {
            // The parser lower-cases names (and would have turned a numeric host into an address).
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        Self { https, cookies_secure: https || !(url.scheme() == "http" && loopback) }
    }
}

fn parse_data_key(value: &str) -> Result<Secret<[u8; 32]>, ConfigError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| err("AUTH_DATA_KEY", "32 bytes in base64"))?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| err("AUTH_DATA_KEY", "32 bytes in base64"))?;
    Ok(Secret::new(key))
}

fn read_pem(var: &'static str, path: &str) -> Result<Secret<String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| err(var, format!("a readable PEM file ({path}: {e})")))?;
    if !text.contains("-----BEGIN") {
        return Err(err(var, format!("a PEM private key ({path} is not PEM)")));
    }
    Ok(Secret::new(text))
}

fn parse_range(value: Option<String>, var: &'static str, default: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| err(var, format!("a whole number from {min} to {max}"))),
    }
}

fn parse_bool(value: Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    match value.as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(err(var, "true or false")),
    }
}

fn parse_cidrs(value: Option<String>, var: &'static str, default: &str) -> Result<Vec<IpNet>, ConfigError> {
    let text = value.unwrap_or_else(|| default.to_string());
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| err(var, "comma-separated CIDRs such as 10.0.0.0/8,::1"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = Config::from_lookup(lookup(&[])).expect("defaults");
        assert_eq!(c.database, DbTarget::Sqlite("data/cloudcx-auth.db".into()));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.session_max_hours, 12);
        assert_eq!(c.session_idle_minutes, 120);
        assert_eq!(c.signin_per_ip_per_min, 60);
        assert_eq!(c.jwt_audience, "cloudcx");
        assert_eq!(c.web_dir, PathBuf::from("web/dist"));
        assert!(!c.allow_insecure_issuers);
        assert_eq!(c.metrics_allow.len(), 2);
    }

    #[test]
    fn postgres_requires_the_data_key_and_the_signing_key() {
        let e = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://x@localhost/db")])).unwrap_err();
        assert_eq!(e.var, "AUTH_DATA_KEY");
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let e = Config::from_lookup(lookup(&[("DATABASE_URL", "postgres://x@localhost/db"), ("AUTH_DATA_KEY", &key)]))
            .unwrap_err();
        assert_eq!(e.var, "AUTH_JWT_KEY_FILE");
    }

    #[test]
    fn malformed_settings_name_their_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x"),
            ("AUTH_LISTEN", "nope"),
            ("AUTH_PUBLIC_URL", "ftp://x"),
            ("AUTH_DATA_KEY", "c2hvcnQ="),
            ("AUTH_SESSION_MAX_HOURS", "0"),
            ("AUTH_SIGNIN_PER_IP_PER_MIN", "many"),
            ("AUTH_TRUSTED_PROXIES", "10.0.0.0/99"),
            ("AUTH_ALLOW_INSECURE_ISSUERS", "yes please"),
            ("AUTH_METRICS_ALLOW", "x"),
            ("AUTH_JWT_KEY_FILE", "/nonexistent/key.pem"),
            ("AUTH_SMTP_URL", "http://mail"),
            ("AUTH_PUBLIC_URL", "https://user:pw@auth.example.com"),
            ("AUTH_PUBLIC_URL", "https://auth.example.com/?x=1"),
            ("AUTH_PUBLIC_URL", "https://"),
            ("AUTH_PUBLIC_URL", "https-proxy.example.com"),
        ] {
            let e = Config::from_lookup(lookup(&[(var, value)])).unwrap_err();
            assert_eq!(e.var, var, "{var}={value} gave {e}");
        }
    }

    #[test]
    fn the_public_url_is_parsed_into_its_normal_form() {
        let url = |v: &str| Config::from_lookup(lookup(&[("AUTH_PUBLIC_URL", v)])).expect(v).public_url;
        assert_eq!(url("HTTPS://Auth.Example.COM/").as_deref(), Some("https://auth.example.com"));
        assert_eq!(url("https://auth.example.com:8443/cx/").as_deref(), Some("https://auth.example.com:8443/cx"));
        assert_eq!(url("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
    }

    #[test]
    fn the_transport_is_decided_on_the_parsed_scheme_and_host() {
        let https = Transport { https: true, cookies_secure: true };
        let plain_dev = Transport { https: false, cookies_secure: false };
        let plain_public = Transport { https: false, cookies_secure: true };
        for (url, expected) in [
            ("https://auth.example.com", https),
            ("HTTPS://Auth.Example.COM", https),
            ("https://localhost:8443", https),
            ("http://localhost:8080", plain_dev),
            ("HTTP://LOCALHOST:8080", plain_dev),
            ("http://127.0.0.1:8080", plain_dev),
            ("http://[::1]:8080", plain_dev),
            // What the prefix match took for the loopback.
            ("http://localhost.example.com", plain_public),
            ("http://127.0.0.1.example.com", plain_public),
            ("http://localhost@auth.example.com", plain_public),
            ("not a url", plain_public),
        ] {
            assert_eq!(Transport::of(url), expected, "{url}");
        }
    }
}
