//! Prometheus counters kept in memory: requests by route and status, latencies, sign-in outcomes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Histogram {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    signins: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut map) = self.requests.lock() else { return };
        let h = map.entry((method.to_string(), route.to_string(), status)).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.buckets[i] += 1;
            }
        }
    }

    /// `outcome`: success, mfa_required, invalid_credentials, locked, rate_limited.
    pub fn signin(&self, outcome: &'static str) {
        if let Ok(mut map) = self.signins.lock() {
            *map.entry(outcome).or_default() += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        let requests = self.requests.lock().map(|m| {
            m.iter().map(|((me, r, s), h)| (me.clone(), r.clone(), *s, h.count, h.sum, h.buckets)).collect::<Vec<_>>()
        });
        let requests = requests.unwrap_or_default();
        for (method, route, status, count, _, _) in &requests {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (method, route, status, count, sum, buckets) in &requests {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}", buckets[i]);
            }
            let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "http_request_duration_seconds_count{{{labels}}} {count}");
        }
        out.push_str("# HELP auth_signin_total Sign-in attempts by outcome.\n");
        out.push_str("# TYPE auth_signin_total counter\n");
        if let Ok(map) = self.signins.lock() {
            for (outcome, n) in map.iter() {
                let _ = writeln!(out, "auth_signin_total{{outcome=\"{outcome}\"}} {n}");
            }
        }
        out
    }
}
