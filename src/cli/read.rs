//! Read-only commands over journals: `status`, `log`, `deployments`. They take no
//! lock, so they work while another process runs the release.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::context::{Context, out, parse_version};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::engine::{self, CustomerStatus, ReleaseState, WaveStatus};
use crate::runtime::history;
use crate::runtime::lock;
use crate::runtime::state_dir::StateDir;

/// The release a command means: `--version`, else the current one.
pub fn label_for(dir: &StateDir, version: Option<&str>) -> Result<String, CliError> {
    match version {
        Some(v) => Ok(parse_version(v)?.to_string()),
        None => history::current_label(dir).ok_or_else(|| {
            CliError::error(format!(
                "no releases in {}; start one with `shipdeck deploy --version … --type …`",
                dir.root.display()
            ))
        }),
    }
}

fn load(
    ctx: &Context,
    version: Option<&str>,
) -> Result<(StateDir, String, ReleaseState, Vec<engine::Event>), CliError> {
    let dir = ctx.state_dir()?;
    let label = label_for(&dir, version)?;
    let (state, events) = history::load_release(&dir, &label).map_err(CliError::error)?;
    Ok((dir, label, state, events))
}

fn hms(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%m-%d %H:%M:%S").to_string())
}

pub fn status(ctx: &Context, version: Option<&str>, w: &mut dyn std::io::Write) -> CliResult {
    let (dir, label, s, _) = load(ctx, version)?;
    let now = Utc::now().max(s.last_event_at);
    let holder = lock::current_holder(&dir.lock_path(&label));
    let count = |wi: usize, st: CustomerStatus| {
        s.wave_customers(wi)
            .iter()
            .filter(|c| c.status == st)
            .count()
    };
    if ctx.global.json {
        let waves: Vec<_> = s
            .waves
            .iter()
            .enumerate()
            .map(|(i, wv)| {
                let gate = engine::gate(&s, i, now);
                json!({
                    "tier": wv.tier,
                    "status": wv.status,
                    "started_at": wv.started_at,
                    "completed_at": wv.completed_at,
                    "due_at": s.due_at(i),
                    "gate": gate.describe(),
                    "approvals": wv.approvals.iter().map(|(r, p)| json!({"role": r, "by": p})).collect::<Vec<_>>(),
                    "missing_roles": match gate { engine::Gate::Approval { missing } => missing, _ => vec![] },
                    "customers": s.wave_customers(i).iter().map(|c| json!({
                        "id": c.id, "name": c.name, "status": c.status, "version": c.version, "failure": c.failure,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let doc = json!({
            "version": s.plan.version,
            "type": s.plan.release_type,
            "emergency": s.emergency,
            "phase": s.phase,
            "paused": s.pause.as_ref().map(|p| json!({"by": p.actor, "reason": p.reason, "since": p.since, "cause": p.cause})),
            "started_by": s.started_by,
            "started_at": s.started_at,
            "running_by": holder.as_ref().map(|h| json!({"pid": h.pid, "host": h.host})),
            "socket": holder.as_ref().and(crate::runtime::endpoint::socket_path(&dir, &label)),
            "waves": waves,
            "monitoring_until": s.monitoring_until,
            "rollback_window_until": s.rollback_window_until,
            "events": s.events_applied,
        });
        out(
            w,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
        )?;
        return Ok(EXIT_OK);
    }
    let mut t = format!(
        "{} {}{} · {} · started by {} at {}\n",
        s.plan.version,
        s.plan.release_type,
        if s.emergency { " EMERGENCY" } else { "" },
        s.phase.as_str().to_uppercase(),
        s.started_by,
        s.started_at.format("%Y-%m-%d %H:%M UTC")
    );
    match &holder {
        Some(h) => {
            t += &format!("running: {h}\n");
            // Where to reach it: attach, and commands from any terminal, go here.
            if let Some(sock) = crate::runtime::endpoint::socket_path(&dir, &label) {
                t += &format!(
                    "socket: {}{}\n",
                    sock.display(),
                    if sock.starts_with(dir.release_dir(&label)) {
                        ""
                    } else {
                        " (the state dir's path is too long for a socket; see socket.path)"
                    }
                );
            }
        }
        None => {
            t += &format!(
                "running: no process (resume with `shipdeck start --resume --detach --version {label}`, or `shipdeck`)\n"
            )
        }
    }
    if let Some(p) = &s.pause {
        t += &format!(
            "PAUSED by {} since {}: {}\n",
            p.actor,
            p.since.format("%H:%M:%S"),
            p.reason
        );
    }
    t += &format!(
        "\n  {:<12} {:<12} {:<16} {:<16} {:>8} {:>6} {:>6}  {}\n",
        "WAVE", "STATE", "STARTED", "COMPLETED", "DONE", "FAIL", "BACK", "GATE / NEXT"
    );
    for (i, wv) in s.waves.iter().enumerate() {
        let done = count(i, CustomerStatus::Healthy);
        let failed = count(i, CustomerStatus::Failed);
        let back = count(i, CustomerStatus::RolledBack) + count(i, CustomerStatus::RollingBack);
        let gate = match wv.status {
            WaveStatus::Waiting | WaveStatus::HeldOverdue => engine::gate(&s, i, now).describe(),
            _ => String::new(),
        };
        let state = format!("{:?}", wv.status).to_lowercase();
        t += &format!(
            "  {:<12} {:<12} {:<16} {:<16} {:>5}/{:<2} {:>6} {:>6}  {}\n",
            wv.tier.as_str(),
            state,
            hms(wv.started_at),
            hms(wv.completed_at),
            done,
            wv.customer_count,
            failed,
            back,
            gate
        );
    }
    let mut by_status: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in &s.customers {
        by_status
            .entry(c.status.as_str())
            .or_default()
            .push(c.name.as_str());
    }
    t += "\n";
    for (st, names) in by_status {
        t += &format!("  {st:<18} {}\n", names.join(", "));
    }
    if let Some(until) = s.monitoring_until {
        t += &format!(
            "\nmonitoring until {}; rollback window until {}\n",
            until.format("%Y-%m-%d %H:%M UTC"),
            hms(s.rollback_window_until)
        );
    }
    out(w, &t)?;
    Ok(EXIT_OK)
}

pub fn log(ctx: &Context, version: Option<&str>, w: &mut dyn std::io::Write) -> CliResult {
    let (_, _, s, _) = load(ctx, version)?;
    if ctx.global.json {
        out(
            w,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&s.decisions).unwrap_or_default()
            ),
        )?;
        return Ok(EXIT_OK);
    }
    let mut t = format!(
        "Decision log of {} {}\n",
        s.plan.version, s.plan.release_type
    );
    for d in &s.decisions {
        t += &format!(
            "{}  {:<10} {}",
            d.at.format("%Y-%m-%d %H:%M:%S"),
            d.actor,
            d.what
        );
        if !d.reason.is_empty() {
            t += &format!(" — {}", d.reason);
        }
        t += "\n";
    }
    out(w, &t)?;
    Ok(EXIT_OK)
}

pub fn deployments(ctx: &Context, customer: Option<&str>, w: &mut dyn std::io::Write) -> CliResult {
    let dir = ctx.state_dir()?;
    let mut records = history::deploy_records(&dir);
    if let Some(key) = customer {
        // Accept a name from config as well as an id.
        let id = ctx
            .config()
            .ok()
            .and_then(|cfg| cfg.find_customer(key).map(|c| c.id.to_string()))
            .unwrap_or_else(|| key.to_string());
        records.retain(|r| r.customer.as_str().eq_ignore_ascii_case(&id));
    }
    if ctx.global.json {
        out(
            w,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&records).unwrap_or_default()
            ),
        )?;
        return Ok(EXIT_OK);
    }
    if records.is_empty() {
        out(w, "no deployments recorded\n")?;
        return Ok(EXIT_OK);
    }
    let mut t = format!(
        "{:<20} {:<20} {:<9} {:<18} {:<6} {}\n",
        "TIME", "CUSTOMER", "RELEASE", "ACTION", "RESULT", "DETAIL"
    );
    for r in records {
        let result = match r.ok {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "",
        };
        t += &format!(
            "{:<20} {:<20} {:<9} {:<18} {:<6} {}\n",
            r.at.format("%Y-%m-%d %H:%M:%S"),
            r.customer.as_str(),
            r.release.to_string(),
            r.action,
            result,
            r.detail
        );
    }
    out(w, &t)?;
    Ok(EXIT_OK)
}
