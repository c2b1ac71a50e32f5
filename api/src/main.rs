//! `cloudcx-auth [serve|migrate|openapi|create-admin --tenant SLUG --email EMAIL]`

use std::io::Read;
use std::sync::Arc;

use cloudcx_auth::clock::{Clock, SystemClock};
use cloudcx_auth::config::Config;
use cloudcx_auth::startup::Application;
use cloudcx_auth::{bootstrap, db, openapi, telemetry};

const USAGE: &str = "usage: cloudcx-auth [serve | migrate | openapi | create-admin --tenant SLUG --email EMAIL]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    let result = match command {
        "openapi" => openapi::yaml().map(|y| print!("{y}")),
        "serve" | "migrate" | "create-admin" => with_config(command, args.get(1..).unwrap_or_default()),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(anyhow::anyhow!("unknown command {other:?}\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("cloudcx-auth: {e:#}");
        std::process::exit(1);
    }
}

fn with_config(command: &str, args: &[String]) -> anyhow::Result<()> {
    let format = telemetry::LogFormat::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    telemetry::init_as(format);
    let mut config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    match command {
        "serve" => actix_web::rt::System::new().block_on(async move {
            let app = Application::build(config, Arc::new(SystemClock)).await?;
            app.announce_ready(format);
            // Returns after a graceful stop: SIGTERM/SIGINT let in-flight requests finish (10 s at most).
            app.run_until_stopped().await?;
            Ok(())
        }),
        "migrate" => {
            config.resolve_generated_secrets()?;
            let database = db::Db::new(config.database.clone());
            let mut conn = database.get_blocking()?;
            db::migrate(&mut conn)?;
            println!("migrations applied");
            Ok(())
        }
        _ => create_admin(config, args),
    }
}

fn create_admin(mut config: Config, args: &[String]) -> anyhow::Result<()> {
    let flag = |name: &str| args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone());
    let tenant = flag("--tenant").ok_or_else(|| anyhow::anyhow!("--tenant SLUG is required\n{USAGE}"))?;
    let email = flag("--email").ok_or_else(|| anyhow::anyhow!("--email EMAIL is required\n{USAGE}"))?;
    let password = match std::env::var("AUTH_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            input.lines().next().unwrap_or_default().to_string()
        }
    };
    if password.is_empty() {
        anyhow::bail!("the password comes from standard input or AUTH_ADMIN_PASSWORD");
    }
    config.resolve_generated_secrets()?;
    let database = db::Db::new(config.database.clone());
    let mut conn = database.get_blocking()?;
    db::migrate(&mut conn)?;
    match bootstrap::ensure_admin(&mut conn, &tenant, &email, Some(&password), SystemClock.unix())? {
        bootstrap::Outcome::AlreadyThere => anyhow::bail!("{email} already exists on site {tenant}"),
        _ => println!("admin {email} created on site {tenant}"),
    }
    Ok(())
}
