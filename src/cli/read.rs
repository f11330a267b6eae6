//! Read-only commands over journals: `status`, `log`, `deployments`. They take no
//! lock, so they work while another process runs the release.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::context::{Context, out, parse_version};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::domain::escape;
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
                "no releases in {} (`shipdeck deploy --help` says how to start one)",
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
    load_at(ctx, dir, label)
}

fn load_at(
    ctx: &Context,
    dir: StateDir,
    label: String,
) -> Result<(StateDir, String, ReleaseState, Vec<engine::Event>), CliError> {
    let (state, events, chain) =
        history::load_release_accepting(&dir, &label, ctx.global.accept_tampered)
            .map_err(CliError::error)?;
    if let Some(first) = chain.unaccepted().first() {
        eprintln!(
            "shipdeck: warning: the journal of {label} was changed after it was written (chain broken at line {}); read anyway because of --accept-tampered",
            first.line
        );
    }
    Ok((dir, label, state, events))
}

/// `log --verify`: the journal's hash chain, line by line, in words; exit 0 when
/// every line is intact (or its break was accepted and journaled), 2 when it would
/// be refused.
pub fn verify(ctx: &Context, version: Option<&str>, w: &mut dyn std::io::Write) -> CliResult {
    let dir = ctx.state_dir()?;
    let label = label_for(&dir, version)?;
    let path = dir.journal_path(&label);
    let replay = crate::runtime::release_journal::read(&path, true)
        .map_err(|e| CliError::error(e.to_string()))?;
    let c = &replay.chain;
    let total = c.unchained + c.chained;
    let mut t = format!("journal {}: {total} lines\n", path.display());
    if c.unchained > 0 {
        t += &format!(
            "unchained: lines 1–{} (written before journals were chained; they cannot be checked)\n",
            c.unchained
        );
    }
    if c.chained > 0 {
        t += &format!("chained: lines {}–{total}\n", c.unchained + 1);
    }
    let open = c.unaccepted();
    for b in &c.breaks {
        let seen = if c.accepted.contains(&b.line) {
            " (accepted with --accept-tampered; journaled)"
        } else {
            ""
        };
        t += &format!("BROKEN at line {}: {}{seen}\n", b.line, b.reason);
    }
    let status = if !open.is_empty() {
        "chain: BROKEN — the journal was changed after it was written; shipdeck refuses it"
    } else if !c.breaks.is_empty() {
        "chain: broken, accepted (see the decision log for who accepted it)"
    } else if c.chained == 0 {
        "chain: none (an unchained journal from an older shipdeck)"
    } else {
        "chain: intact"
    };
    t += &format!(
        "{status}\nhead: {} (keep it elsewhere: it vouches for the journal up to its last line)\n",
        c.head
    );
    out(w, &t)?;
    Ok(if open.is_empty() {
        EXIT_OK
    } else {
        super::error::EXIT_ERROR
    })
}

fn hms(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%m-%d %H:%M:%S").to_string())
}

pub fn status(ctx: &Context, version: Option<&str>, w: &mut dyn std::io::Write) -> CliResult {
    // Like the commands that act on a release: a running demo's, when no state
    // dir was named and the default one has no such release.
    let (dir, label) = super::attach::release_to_act_on(ctx, version)?;
    let (dir, label, s, _) = load_at(ctx, dir, label)?;
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
            "drill_speed": s.plan.drill_speed,
            "last_event_at": s.last_event_at,
            "notices": notices_json(&s),
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
        escape(&s.started_by),
        s.started_at.format("%Y-%m-%d %H:%M UTC")
    );
    if let Some(speed) = s.plan.drill_speed {
        // A drill's times are release time, ahead of the wall clock: say so, or
        // "startup at 05:47" reads as hours away when it is seconds.
        t += &format!(
            "drill: release time runs {speed}× real time (a resume without --speed keeps it); last event at {} release time\n",
            s.last_event_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    match &holder {
        Some(h) => {
            t += &format!("running: {}\n", escape(&h.to_string()));
            // Where to reach it: attach, and commands from any terminal, go here.
            if let Some(sock) = crate::runtime::endpoint::socket_path(&dir, &label) {
                t += &format!(
                    "socket: {}{}\n",
                    escape(&sock.display().to_string()),
                    if sock.starts_with(dir.release_dir(&label)) {
                        ""
                    } else {
                        " (the state dir's path is too long for a socket; see socket.path)"
                    }
                );
            }
        }
        // Over, with nothing left in flight: there is nothing to resume.
        None if engine::is_settled(&s) => {
            t += &format!(
                "running: no process (the release is {}; nothing to resume)\n",
                s.phase.as_str()
            );
        }
        None => {
            let args = format!(
                "--version {} --type {}",
                s.plan.version, s.plan.release_type
            );
            t += &format!(
                "running: no process (resume with `{}`, `{}` or `{}`)\n",
                ctx.command_in(&dir, &format!("start --resume --detach --version {label}")),
                ctx.command_in(&dir, &format!("deploy {args}")),
                ctx.command_in(&dir, &format!("cockpit {args}"))
            );
        }
    }
    if let Some(p) = &s.pause {
        t += &format!(
            "PAUSED by {} since {}: {}\n",
            escape(&p.actor),
            p.since.format("%H:%M:%S"),
            escape(&p.reason)
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
            escape(wv.tier.as_str()),
            state,
            hms(wv.started_at),
            hms(wv.completed_at),
            done,
            wv.customer_count,
            failed,
            back,
            escape(&gate)
        );
    }
    let mut by_status: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in &s.customers {
        let st = if c.window_missed.is_some() {
            "window missed (came due while away): confirm or skip-wait"
        } else {
            c.status.as_str()
        };
        by_status.entry(st).or_default().push(c.name.as_str());
    }
    t += "\n";
    for (st, names) in by_status {
        t += &format!("  {st:<18} {}\n", escape(&names.join(", ")));
    }
    if let Some(until) = s.monitoring_until {
        t += &format!(
            "\nmonitoring until {}; rollback window until {}\n",
            until.format("%Y-%m-%d %H:%M UTC"),
            hms(s.rollback_window_until)
        );
    }
    t += &notices_text(ctx, &dir, &s);
    out(w, &t)?;
    Ok(EXIT_OK)
}

/// The outbox for `status --json`: counts and every failed delivery.
fn notices_json(s: &ReleaseState) -> serde_json::Value {
    use crate::engine::DeliveryStatus;
    let ob = &s.outbox;
    json!({
        "sent": ob.sent(),
        "queued": ob.queued(),
        "failed": ob.failed(),
        "failures": ob.with_status(DeliveryStatus::Failed).map(|(n, d)| json!({
            "key": n.key, "to": d.to, "attempts": d.attempts, "answer": d.answer, "at": d.at,
        })).collect::<Vec<_>>(),
    })
}

/// The outbox for people: counts, and each failed delivery with the receiver's answer.
fn notices_text(ctx: &Context, dir: &StateDir, s: &ReleaseState) -> String {
    use crate::engine::DeliveryStatus;
    let ob = &s.outbox;
    if ob.notices.is_empty() {
        return String::new();
    }
    let mut t = format!(
        "\nnotices: {} delivered, {} queued, {} FAILED\n",
        ob.sent(),
        ob.queued(),
        ob.failed()
    );
    for (n, d) in ob.with_status(DeliveryStatus::Failed) {
        t += &format!(
            "  FAILED {} → {} after {} attempt(s): {}\n",
            n.key,
            d.to,
            d.attempts,
            crate::adapters::notify::sanitize(&d.answer, 200)
        );
    }
    if ob.failed() > 0 {
        t += &format!(
            "  resend with `{}`\n",
            ctx.command_in(dir, &format!("notify retry --version {}", s.plan.version))
        );
    }
    t
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
            escape(&d.actor),
            escape(&d.what)
        );
        if !d.reason.is_empty() {
            t += &format!(" — {}", escape(&d.reason));
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
        // A name or id from config, or an id the journals know (a customer since
        // removed from config); anything else is a typo, not "no deployments".
        let cfg = ctx.config().ok();
        let id = cfg
            .as_ref()
            .and_then(|cfg| cfg.find_customer(key).map(|c| c.id.to_string()))
            .or_else(|| {
                records
                    .iter()
                    .find(|r| r.customer.as_str().eq_ignore_ascii_case(key))
                    .map(|r| r.customer.to_string())
            });
        let Some(id) = id else {
            let mut known: Vec<String> = cfg
                .iter()
                .flat_map(|cfg| cfg.customers.iter().map(|c| c.id.to_string()))
                .chain(records.iter().map(|r| r.customer.to_string()))
                .collect();
            known.sort();
            known.dedup();
            return Err(CliError::error(format!(
                "unknown customer `{key}` (known: {})",
                known.join(", ")
            )));
        };
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
            escape(r.customer.as_str()),
            r.release.to_string(),
            r.action,
            result,
            escape(&r.detail)
        );
    }
    out(w, &t)?;
    Ok(EXIT_OK)
}
