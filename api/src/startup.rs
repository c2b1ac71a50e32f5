//! `Application::build`: configuration in, a bound server out (port 0 works, for tests).

use std::net::TcpListener;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle, Service as _, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use tracing::Instrument as _;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::KeySet;
use crate::auth::password::PasswordHasher;
use crate::bootstrap::{self, Outcome};
use crate::clock::Clock;
use crate::config::{Config, Transport};
use crate::db::{self, Db};
use crate::error::extractors;
use crate::metrics::Metrics;
use crate::request_id::RequestId;
use crate::routes;
use crate::security_headers::{self, SecurityHeaders};
use crate::state::AppState;
use crate::telemetry::LogFormat;

pub struct Application {
    port: u16,
    state: AppState,
    server: Server,
    stopper: Stopper,
}

/// How long a stop waits for the workers to let go of the state (and the database pool in it).
const RELEASE_LIMIT: Duration = Duration::from_secs(5);

/// Stops a running [`Application`] from another task and waits for its workers (tests).
#[derive(Clone)]
pub struct Stopper {
    handle: ServerHandle,
    /// The state as the workers hold it: gone once every worker has dropped its app.
    served: Weak<AppState>,
}

impl Stopper {
    /// Blocking: stops the server at once and waits until every worker thread has dropped its app,
    /// so that nothing of the app's is still being torn down on another thread when the caller
    /// goes on (or the process exits). The server's own task must be able to run meanwhile (a
    /// multi-threaded runtime). False after [`RELEASE_LIMIT`].
    pub fn stop_and_wait(&self) -> bool {
        drop(self.handle.stop(false));
        let started = Instant::now();
        while self.served.strong_count() > 0 {
            if started.elapsed() > RELEASE_LIMIT {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }
}

impl Application {
    /// Resolves secrets, migrates, bootstraps, binds. Fails with a message naming what is wrong.
    pub async fn build(mut config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        config.resolve_generated_secrets()?;
        let db = Db::with_options(
            config.database.clone(),
            db::DbOptions {
                min_idle: config.db_min_idle,
                idle_timeout: Duration::from_secs(config.db_idle_timeout_secs),
                stale_after: Duration::from_millis(config.revocation_stale_ms),
            },
        );
        let migrate_db = db.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let mut conn = migrate_db.get_blocking().context("DATABASE_URL: connecting to migrate the database")?;
            db::migrate(&mut conn).context("DATABASE_URL: migrating the database")
        })
        .await
        .context("the migration thread")??;

        let listener = TcpListener::bind(config.listen)
            .map_err(|e| anyhow::anyhow!("AUTH_LISTEN: cannot bind {}: {e}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_url: Arc<str> = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}")).into();
        let transport = Transport::of(&public_url);

        let current = config.jwt_key_pem.as_ref().ok_or_else(|| anyhow::anyhow!("AUTH_JWT_KEY_FILE: required"))?;
        let previous: Vec<&str> = config.jwt_previous_key_pems.iter().map(|p| p.expose().as_str()).collect();
        let keys = KeySet::new(current.expose(), &previous, public_url.to_string(), config.jwt_audience.clone())
            .map_err(|e| anyhow::anyhow!("AUTH_JWT_KEY_FILE: {e}"))?;

        if let (Some(tenant), Some(email)) = (config.bootstrap_tenant.clone(), config.bootstrap_admin_email.clone()) {
            let password = config.bootstrap_admin_password.as_ref().map(|p| p.expose().clone());
            let (boot_db, now) = (db.clone(), clock.unix());
            let outcome = tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
                let mut conn = boot_db.get_blocking()?;
                bootstrap::ensure_admin(&mut conn, &tenant, &email, password.as_deref(), now)
            })
            .await
            .context("the bootstrap thread")?
            // The whole chain (`AUTH_BOOTSTRAP_*: creating …: <the database's words>`), not only its head.
            .context("AUTH_BOOTSTRAP_*")?;
            if let Outcome::CreatedWithPassword(password) = outcome {
                // Shown once on the terminal, never logged: the operator's only copy. Standard
                // error, not standard output, which is the JSON log stream that collectors keep.
                eprintln!(
                    "\n  Demo site '{}' with admin {} created.\n  Admin password (shown only this once): {}\n",
                    config.bootstrap_tenant.as_deref().unwrap_or_default(),
                    config.bootstrap_admin_email.as_deref().unwrap_or_default(),
                    password.expose(),
                );
            }
        }

        let data_key = crate::auth::secrets::DataKey::new(
            *config.data_key.as_ref().ok_or_else(|| anyhow::anyhow!("AUTH_DATA_KEY: required"))?.expose(),
        );
        let outbox_dir = config.data_dir().unwrap_or_else(|| std::path::PathBuf::from("data")).join("outbox");
        let mailer =
            crate::mail::Mailer::new(config.smtp_url.as_deref(), outbox_dir, "CloudCX <no-reply@cloudcx.local>")
                .context("AUTH_SMTP_URL")?;
        let outbound = crate::outbound::Outbound::new(config.allow_insecure_issuers)
            .context("building the outbound HTTP client")?;
        let webauthn = crate::auth::passkeys::relying_party(&public_url).map_err(|e| anyhow::anyhow!(e))?;
        if webauthn.is_none() {
            tracing::warn!(public_url = %public_url, "passkeys are unavailable: WebAuthn needs a domain, not an IP address, in AUTH_PUBLIC_URL");
        }
        let state = AppState {
            config: Arc::new(config),
            public_url,
            db,
            keys: Arc::new(keys),
            hasher: PasswordHasher::new(),
            clock,
            metrics: Arc::new(Metrics::default()),
            data_key,
            mailer,
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            oidc: Arc::new(crate::auth::oidc::OidcClient::new(outbound)),
            transport,
            webauthn: webauthn.map(Arc::new),
        };
        // Migrated: the log exists. Until the listener's first read, checks ask the database.
        crate::revocation::listener::spawn(
            state.db.view(),
            state.config.database.clone(),
            Duration::from_millis(state.config.revocation_poll_ms),
            state.clock.clone(),
        );
        crate::notices::spawn_sender(
            state.db.clone(),
            state.data_key.clone(),
            state.mailer.clone(),
            state.clock.clone(),
            state.outbox_wake.clone(),
        );
        let (server, served) = run(listener, state.clone())?;
        spawn_housekeeping(state.clone());
        tracing::info!(address = %addr, public_url = %state.public_url, "listening");
        let stopper = Stopper { handle: server.handle(), served };
        Ok(Self { port: addr.port(), state, server, stopper })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The one plain line that ends start-up: where to open the app and, when the settings name a
    /// bootstrap site and admin, as whom to sign in (never a password).
    pub fn ready_line(&self) -> String {
        ready_line(&self.state.public_url, &self.state.config)
    }

    /// Prints [`Self::ready_line`] for the person who started the service: on stdout with readable
    /// logs; on stderr (beside the demo password) with JSON logs, so that stdout stays one JSON
    /// object a line for the collectors that read it.
    pub fn announce_ready(&self, format: LogFormat) {
        match format {
            LogFormat::Text { .. } => println!("{}", self.ready_line()),
            LogFormat::Json => eprintln!("{}", self.ready_line()),
        }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until stopped; SIGTERM lets in-flight requests finish (10 s at most). Returns once
    /// the workers have dropped their apps, so that the caller's exit races no connection's close.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let started = Instant::now();
        while self.stopper.served.strong_count() > 0 && started.elapsed() < RELEASE_LIMIT {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        served
    }
}

fn ready_line(public_url: &str, config: &Config) -> String {
    match (&config.bootstrap_tenant, &config.bootstrap_admin_email) {
        (Some(tenant), Some(email)) => {
            format!("CloudCX Auth is ready: open {public_url} and sign in to site \"{tenant}\" as {email}")
        }
        _ => format!("CloudCX Auth is ready: open {public_url}"),
    }
}

fn run(listener: TcpListener, state: AppState) -> anyhow::Result<(Server, Weak<AppState>)> {
    let data = web::Data::new(state);
    let served = Arc::downgrade(&data.clone().into_inner());
    // The OpenAPI document is built and serialized once; every worker serves the same bytes
    // (built per worker, it cost each a copy of the whole document: docs/PERFORMANCE.md).
    let spec_json =
        web::Bytes::from(serde_json::to_vec(&crate::openapi::spec()).context("serializing the OpenAPI document")?);
    let security = SecurityHeaders::new(data.transport);
    let server = HttpServer::new(move || {
        let metrics = data.metrics.clone();
        let spec_json = spec_json.clone();
        App::new()
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(extractors::BODY_LIMIT).error_handler(extractors::json))
            .app_data(web::QueryConfig::default().error_handler(extractors::query))
            .app_data(web::PathConfig::default().error_handler(extractors::path))
            .app_data(web::PayloadConfig::new(extractors::BODY_LIMIT))
            .wrap_fn(move |req, srv| {
                let started = Instant::now();
                let method = req.method().to_string();
                let route = routes::route_label(&req);
                let request_id = RequestId::of(req.headers());
                // Classified now: an error answer below is built after the request is gone.
                let class = security_headers::Class::of(req.path());
                // Every line logged while serving the request carries these (never the raw
                // path: it may hold ids).
                let span = tracing::info_span!("request", method = %method, route = %route, request_id = %request_id);
                let metrics = metrics.clone();
                let fut = span.in_scope(|| srv.call(req));
                async move {
                    let (res, status) = match fut.await {
                        Ok(res) => {
                            let (req, res) = routes::problem_guard(res).into_parts();
                            let mut res = request_id.stamp(res);
                            security.stamp(class, res.headers_mut());
                            let status = res.status();
                            (Ok(ServiceResponse::new(req, res)), status)
                        }
                        // An error a middleware returned (the request is gone with it): its
                        // answer is built here, inside the span, so that it is logged, counted
                        // and stamped like any other, and handed on ready-made.
                        Err(e) => {
                            let mut answer = request_id.stamp(e.error_response());
                            security.stamp(class, answer.headers_mut());
                            let status = answer.status();
                            (Err(InternalError::from_response(e, answer).into()), status)
                        }
                    };
                    let elapsed = started.elapsed();
                    let status = status.as_u16();
                    metrics.observe_request(&method, &route, status, elapsed.as_secs_f64());
                    tracing::info!(
                        method = %method,
                        route = %route,
                        status,
                        latency_ms = elapsed.as_secs_f64() * 1000.0,
                        "request"
                    );
                    res
                }
                .instrument(span)
            })
            .configure(routes::configure)
            .route(
                "/api-docs/openapi.json",
                web::get().to(move || {
                    let body = spec_json.clone();
                    async move { actix_web::HttpResponse::Ok().content_type("application/json").body(body) }
                }),
            )
            .service(SwaggerUi::new("/docs/{_:.*}").config(utoipa_swagger_ui::Config::new(["/api-docs/openapi.json"])))
            .default_service(web::to(routes::fallback))
    })
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok((server, served))
}

/// Every ten minutes: forget revocation-log rows no view needs any more (kept twice the horizon:
/// a view starting afresh reads one horizon back), rate counters, WebAuthn challenges and
/// trusted devices.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let now = state.now();
            let result = state
                .db
                .run(move |conn| -> Result<usize, db::DbError> {
                    Ok(db::revocations::purge(conn, now - 2 * db::REVOCATION_HORIZON_SECS)?
                        + db::throttle::purge(conn, now)?
                        + db::passkeys::purge_expired_challenges(conn, now)?
                        + db::trusted_devices::purge_expired(conn, now)?)
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "housekeeping: purging the revocation log and expired rows failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_says_where_to_open_the_app_and_as_whom_to_sign_in() {
        let mut config = Config::from_lookup(|_| None).expect("defaults");
        assert_eq!(ready_line("http://localhost:8080", &config), "CloudCX Auth is ready: open http://localhost:8080");
        config.bootstrap_tenant = Some("demo".into());
        config.bootstrap_admin_email = Some("admin@demo.example".into());
        assert_eq!(
            ready_line("http://localhost:8080", &config),
            "CloudCX Auth is ready: open http://localhost:8080 and sign in to site \"demo\" as admin@demo.example"
        );
    }
}
