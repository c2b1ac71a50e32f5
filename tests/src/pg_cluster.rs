//! A private PostgreSQL cluster for fault tests: started by `scripts/ensure-postgres.sh` on its own
//! port (never the shared server), stopped and started again at will, removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivateCluster {
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub url: String,
    state_file: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    /// The server's command-line options of its first start, used again on each restart.
    options: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs a PostgreSQL program as the user `postgres` when we are root (the server refuses root).
fn run_pg(program: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = if is_root() {
        let quoted: Vec<String> = std::iter::once(program.display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let mut c = Command::new("su");
        c.args(["postgres", "-s", "/bin/sh", "-c", &format!("cd / && {}", quoted.join(" "))]);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    };
    cmd.stdin(std::process::Stdio::null()).output().expect("run a PostgreSQL program")
}

impl PrivateCluster {
    /// Starts a fresh cluster (`initdb` + `pg_ctl start`) on a free port from `first_port`.
    pub fn start(first_port: u16) -> Self {
        let root = repo_root();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let state_file = std::env::temp_dir().join(format!("cloudcx-fault-pg-{id}.dir"));
        let out = Command::new("bash")
            .arg(root.join("scripts/ensure-postgres.sh"))
            .env("ENSURE_PG_FORCE_PRIVATE", "1")
            .env("PG_STATE_FILE", &state_file)
            .env("PG_PRIVATE_PORT", first_port.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/ensure-postgres.sh");
        assert!(out.status.success(), "a private PostgreSQL cluster could not be started");
        let url = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
        let data = PathBuf::from(std::fs::read_to_string(&state_file).expect("state file").trim());
        // postmaster.opts: `/usr/lib/postgresql/N/bin/postgres "-D" "DIR" "-c" "…" …`
        let opts = std::fs::read_to_string(data.join("postmaster.opts")).expect("postmaster.opts");
        let (binary, rest) = opts.trim().split_once(' ').expect("postmaster.opts has options");
        let pg_ctl = Path::new(binary).with_file_name("pg_ctl");
        let dash_d = format!("\"-D\" \"{}\"", data.display());
        let options = rest.replace(&dash_d, "").trim().to_string();
        Self { url, state_file, data, pg_ctl, options }
    }

    /// Stops the server (fast: open sessions are cut, as in a crash of the database host's service).
    pub fn stop_server(&self) {
        let out = run_pg(&self.pg_ctl, &["-D", &self.data.display().to_string(), "-m", "fast", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the stopped server again with its original options, waiting until it accepts connections.
    pub fn start_server(&self) {
        let log = self.data.parent().expect("base dir").join("server.log");
        let out = run_pg(
            &self.pg_ctl,
            &[
                "-D",
                &self.data.display().to_string(),
                "-l",
                &log.display().to_string(),
                "-o",
                &self.options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/stop-postgres.sh"))
            .env("PG_STATE_FILE", &self.state_file)
            .output();
        let _ = std::fs::remove_file(&self.state_file);
    }
}
