//! What the HTTP benches share: the appliance's own time per route from its `/metrics`
//! histogram, quantiles and milliseconds as the tables print them, the machine they ran on.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::appliance::Appliance;

/// The appliance's own time per route from its `/metrics` histogram
/// (`hromada_http_request_duration_seconds`): from the request's arrival in the router to its
/// answer, without the client, the connection or the kernel.
pub struct ServerTime {
    pub method: String,
    pub route: String,
    pub count: f64,
    pub sum: f64,
    /// Cumulative counts by upper bound (seconds).
    pub buckets: Vec<(f64, f64)>,
}

impl ServerTime {
    /// The smallest bucket bound under which `q` of the requests fell.
    pub fn bound(&self, q: f64) -> String {
        self.buckets
            .iter()
            .find(|(le, n)| le.is_finite() && *n >= q * self.count)
            .map_or("> 10 s".into(), |(le, _)| {
                format!("≤ {}", ms(Duration::from_secs_f64(*le)))
            })
    }
}

/// The page routes' times (not `/api`, not `/metrics`) the appliance measured so far.
pub fn server_times(app: &Appliance) -> Vec<ServerTime> {
    let (status, text) = app.get("/metrics");
    if status != 200 {
        return Vec::new();
    }
    let mut by_route: BTreeMap<(String, String), ServerTime> = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("hromada_http_request_duration_seconds") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let (kind, labels) = labels.split_once('{').unwrap_or_default();
        let label = |name: &str| {
            labels
                .split(&format!("{name}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        let (method, route) = (label("method"), label("route"));
        if !route.starts_with('/') || route.starts_with("/api") || route == "/metrics" {
            continue;
        }
        let value: f64 = value.trim().parse().unwrap_or(0.0);
        let entry = by_route
            .entry((route.clone(), method.clone()))
            .or_insert_with(|| ServerTime {
                method,
                route,
                count: 0.0,
                sum: 0.0,
                buckets: Vec::new(),
            });
        match kind {
            "_sum" => entry.sum = value,
            "_count" => entry.count = value,
            "_bucket" => {
                if let Ok(le) = label("le").parse::<f64>() {
                    entry.buckets.push((le, value));
                }
            }
            _ => {}
        }
    }
    let mut times: Vec<ServerTime> = by_route.into_values().collect();
    for t in &mut times {
        t.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    times
}

/// The server's times as a table, when there are any.
pub fn print_server_times(times: &[ServerTime]) {
    if times.is_empty() {
        return;
    }
    println!(
        "\nthe appliance's own time (its /metrics histogram):\n| route | count | mean ms | p50 | p99 |\n|---|---:|---:|---:|---:|"
    );
    for t in times {
        println!(
            "| {} {} | {} | {:.1} | {} | {} |",
            t.method,
            t.route,
            t.count,
            t.sum / t.count.max(1.0) * 1000.0,
            t.bound(0.5),
            t.bound(0.99)
        );
    }
}

pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} is a whole number, not `{v}`")),
        Err(_) => default,
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The value below which `q` of the sorted `times` lie (nearest rank).
pub fn quantile(times: &[Duration], q: f64) -> Duration {
    let rank = ((q * times.len() as f64).ceil() as usize).clamp(1, times.len());
    times[rank - 1]
}

/// The cores and the CPU, as a figures table names the machine.
pub fn machine() -> String {
    format!(
        "{} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    )
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into())
}
