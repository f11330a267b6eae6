//! `shipdeck health [CUSTOMER] [--json]`: one round of health checks now, outside
//! any release, with the same probes the rollback triggers judge by.
//!
//! It answers "can I trust what shipdeck will see?" before a deploy: a customer whose
//! check is down or inconclusive now would hold or roll back a release later. So the
//! exit code follows the CLI contract: 0 when every customer is up, 1 when any is down
//! or inconclusive (someone should look), 2 for a bad customer name or setup error.

use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use super::error::{CliError, CliResult, EXIT_OK, EXIT_WAITING};
use crate::adapters::health::{ProbeLimits, ProbeTarget, Prober};
use crate::domain::{Configuration, Customer, ProbeOutcome, escape};

/// Probes running at once: enough for a config of a few hundred customers to finish
/// in about one timeout, few enough not to look like a flood to anyone's edge proxy.
const CONCURRENCY: usize = 32;

/// One customer's line, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthRow {
    pub id: String,
    pub name: String,
    pub tier: String,
    /// `up`, `down` or `inconclusive`.
    pub status: &'static str,
    /// Percent (0.4 means 0.4 %), when the check gave one.
    pub error_rate: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    /// Why a check is down or inconclusive; empty when up.
    pub reason: String,
    pub took_ms: u64,
}

/// Runs one round over `cfg`'s customers (or the one named by id or name, any case)
/// and writes a line per customer, or a JSON array with `json`.
pub async fn run(
    cfg: &Configuration,
    customer: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> CliResult {
    let chosen: Vec<&Customer> = match customer {
        Some(key) => vec![
            cfg.find_customer(key)
                .ok_or_else(|| unknown_customer(cfg, key))?,
        ],
        None => cfg.customers.iter().collect(),
    };
    let prober = Prober::new(ProbeLimits::default()).map_err(|e| CliError::error(e.to_string()))?;
    // Names and tiers go along: prometheus queries may name them, and customers that
    // share a prometheus source are answered by one query.
    let targets: Vec<ProbeTarget> = chosen
        .iter()
        .map(|c| {
            ProbeTarget::new(
                c.id.clone(),
                c.name.as_str(),
                c.tier.as_str(),
                c.health.clone(),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let outcomes = prober.probe_targets(&targets, CONCURRENCY).await;
    let round = started.elapsed();
    let rows: Vec<HealthRow> = chosen
        .iter()
        .zip(outcomes)
        .map(|(c, (_, outcome, took))| row(c, &outcome, took))
        .collect();
    let write_err = |e: std::io::Error| CliError::error(format!("cannot write the report: {e}"));
    // A refused query is a config error: said once, above the rows it makes down.
    if !json {
        for e in prober.config_errors() {
            writeln!(out, "config error: {e}").map_err(write_err)?;
        }
    }
    if json {
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| CliError::error(e.to_string()))?;
        writeln!(out, "{text}").map_err(write_err)?;
    } else {
        write_table(&rows, round, out).map_err(write_err)?;
    }
    let all_up = rows.iter().all(|r| r.status == "up");
    Ok(if all_up { EXIT_OK } else { EXIT_WAITING })
}

fn unknown_customer(cfg: &Configuration, key: &str) -> CliError {
    let mut ids: Vec<&str> = cfg.customers.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    let shown = ids.len().min(12);
    let more = if ids.len() > shown {
        format!(", … ({} in all)", ids.len())
    } else {
        String::new()
    };
    CliError::error(format!(
        "no customer `{key}`; give an id or a name from config/customers.json: {}{more}",
        ids[..shown].join(", ")
    ))
}

/// One customer's row from its check.
pub fn row(c: &Customer, outcome: &ProbeOutcome, took: Duration) -> HealthRow {
    let (status, error_rate, latency_p95_ms, reason) = match outcome {
        ProbeOutcome::Up { sample } => (
            "up",
            sample.error_rate,
            sample.latency_p95_ms,
            String::new(),
        ),
        ProbeOutcome::Down { reason } => ("down", None, None, reason.clone()),
        ProbeOutcome::Inconclusive { reason } => ("inconclusive", None, None, reason.clone()),
    };
    HealthRow {
        id: c.id.to_string(),
        name: c.name.clone(),
        tier: c.tier.as_str().to_string(),
        status,
        error_rate,
        latency_p95_ms,
        reason,
        took_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    }
}

fn write_table(rows: &[HealthRow], round: Duration, out: &mut dyn Write) -> std::io::Result<()> {
    let name_w = rows
        .iter()
        .map(|r| escape(&r.name).chars().count())
        .max()
        .unwrap_or(4)
        .max(8);
    let tier_w = rows.iter().map(|r| r.tier.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "{:<name_w$}  {:<tier_w$}  {:<12}  {:>8}  {:>7}  REASON",
        "CUSTOMER", "TIER", "STATUS", "P95", "ERRORS"
    )?;
    for r in rows {
        let p95 = r
            .latency_p95_ms
            .map_or_else(|| "-".to_string(), |l| format!("{l:.0}ms"));
        let err = r
            .error_rate
            .map_or_else(|| "-".to_string(), |e| format!("{e:.1}%"));
        writeln!(
            out,
            "{:<name_w$}  {:<tier_w$}  {:<12}  {p95:>8}  {err:>7}  {}",
            escape(&r.name),
            escape(&r.tier),
            r.status,
            escape(&r.reason)
        )?;
    }
    let up = rows.iter().filter(|r| r.status == "up").count();
    // The round's own time (process start and config load left out): what the
    // scale benchmark compares with wrk.
    writeln!(
        out,
        "{up}/{} up; the round took {:.3} s",
        rows.len(),
        round.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::domain::HealthSource;

    #[tokio::test]
    async fn simulated_customers_are_up_and_unknown_names_are_refused() {
        let cfg = config::load_builtin().unwrap();
        let mut out = Vec::new();
        let code = run(&cfg, Some("TECHSTART"), false, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, EXIT_OK, "{text}");
        assert!(
            text.contains("TechStart")
                && text.contains("startup")
                && text.contains("0.4%")
                && text.contains("1/1 up; the round took "),
            "{text}"
        );

        let mut out = Vec::new();
        let code = run(&cfg, None, true, &mut out).await.unwrap();
        assert_eq!(code, EXIT_OK);
        let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), cfg.customers.len());
        assert_eq!(rows[0]["status"], "up");
        assert!(rows[0]["took_ms"].is_u64());

        let err = run(&cfg, Some("nobody"), false, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.code, super::super::error::EXIT_ERROR);
        assert!(err.message.contains("techstart"), "{}", err.message);
    }

    #[tokio::test]
    async fn a_down_customer_exits_one_with_its_reason() {
        let mut cfg = config::load_builtin().unwrap();
        cfg.customers.truncate(1);
        cfg.customers[0].health = HealthSource::Command {
            program: "sh".into(),
            args: vec!["-c".into(), "echo pool exhausted >&2; exit 3".into()],
            timeout: None,
            error_rate_pointer: None,
            latency_pointer: None,
        };
        let mut out = Vec::new();
        let code = run(&cfg, None, false, &mut out).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, EXIT_WAITING, "{text}");
        assert!(
            text.contains("down") && text.contains("pool exhausted"),
            "{text}"
        );
    }
}
