//! `shipdeck report`, `changelog` and `digest`: documents made from every journal
//! in the state dir (read-only, no lock: they work while releases run).

use std::io::IsTerminal;
use std::path::Path;

use chrono::{DateTime, Datelike, Utc};

use super::context::{Context, out, parse_type};
use super::error::{CliError, CliResult, EXIT_OK, EXIT_WAITING};
use crate::adapters::notify::{Message, Outbox, Renderer};
use crate::domain::{HumanDuration, NoticeKind, NotifyTiming, ReleaseType};
use crate::engine::{Event, Phase, ReleasePlan, ReleaseState};
use crate::present::changelog::{self, ChangelogEntry};
use crate::present::report::{self, Journal};
use crate::runtime::clock::Clock;
use crate::runtime::history;
use crate::runtime::state_dir::StateDir;

/// Every release's state and events (unreadable ones are skipped and logged).
pub fn all_journals(dir: &StateDir) -> Vec<(ReleaseState, Vec<Event>)> {
    let mut out = Vec::new();
    for label in dir.list_releases().unwrap_or_default() {
        match history::load_release(dir, &label) {
            Ok(r) => out.push(r),
            Err(e) => tracing::warn!("report skips {label}: {e}"),
        }
    }
    out
}

fn parse_since(s: &str) -> Result<HumanDuration, CliError> {
    s.parse::<HumanDuration>()
        .map_err(|e| CliError::error(format!("--since {s}: {e} (e.g. 7d, 30d, 12h)")))
}

/// Plain output: `--no-color`, `NO_COLOR`, or not a terminal.
fn plain(ctx: &Context) -> bool {
    ctx.global.no_color
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
        || !std::io::stdout().is_terminal()
}

/// The report over the state dir's journals, as of `now`.
pub fn report_of(
    dir: &StateDir,
    since: HumanDuration,
    only: Option<ReleaseType>,
    now: DateTime<Utc>,
) -> report::Report {
    let all = all_journals(dir);
    let journals: Vec<Journal<'_>> = all
        .iter()
        .map(|(state, events)| Journal { state, events })
        .collect();
    // A drill's release time may run ahead of the wall clock; the window ends at
    // the latest of both.
    let until = all
        .iter()
        .map(|(s, _)| s.last_event_at)
        .max()
        .map_or(now, |t| t.max(now));
    report::build(&journals, until - since.to_delta(), until, only)
}

/// The cockpit's report page (`R`): the last 30 days, read when asked.
pub fn report_source(dir: StateDir, plain: bool) -> crate::tui::cockpit::ReportSource {
    Box::new(move || {
        report_of(
            &dir,
            HumanDuration::from_secs(30 * 86_400),
            None,
            Utc::now(),
        )
        .text(plain)
    })
}

pub fn report(
    ctx: &Context,
    since: &str,
    release_type: Option<&str>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let since = parse_since(since)?;
    let only = release_type.map(parse_type).transpose()?;
    let dir = ctx.state_dir()?;
    let r = report_of(&dir, since, only, Utc::now());
    if ctx.global.json {
        out(w, &format!("{}\n", r.json()))?;
    } else {
        out(w, &r.text(plain(ctx)))?;
    }
    Ok(EXIT_OK)
}

/// The changelog entries of every release in the state dir.
pub fn changelog_entries(dir: &StateDir) -> Vec<ChangelogEntry> {
    all_journals(dir)
        .into_iter()
        .map(|(s, events)| {
            let reached = events.iter().find_map(|e| match e.event {
                crate::engine::EventKind::RolloutCompleted { .. } => Some(e.at),
                _ => None,
            });
            let date = reached.or(s.ended_at).unwrap_or(s.started_at);
            ChangelogEntry {
                version: s.plan.version.clone(),
                release_type: s.plan.release_type,
                phase: s.phase,
                date: date.format("%Y-%m-%d").to_string(),
                notes: s.plan.notes.clone(),
            }
        })
        .collect()
}

/// Writes `text` to `path` atomically (a temporary file renamed over it).
pub fn write_atomic(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = crate::runtime::state_dir::parent_or_dot(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("changelog"),
        std::process::id()
    ));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    crate::runtime::state_dir::sync_dir(dir)
}

pub fn changelog(ctx: &Context, write: Option<&Path>, w: &mut dyn std::io::Write) -> CliResult {
    let dir = ctx.state_dir()?;
    let text = changelog::render(&changelog_entries(&dir));
    match write {
        Some(path) => {
            write_atomic(path, &text, 0o644)
                .map_err(|e| CliError::error(format!("cannot write {}: {e}", path.display())))?;
            out(w, &format!("wrote {}\n", path.display()))?;
        }
        None => out(w, &crate::present::printable(&text))?,
    }
    Ok(EXIT_OK)
}

/// Regenerates the state dir's own `CHANGELOG.md` (0600) after a release ends.
pub fn refresh_state_changelog(dir: &StateDir) {
    let text = changelog::render(&changelog_entries(dir));
    if let Err(e) = write_atomic(&dir.root.join("CHANGELOG.md"), &text, 0o600) {
        tracing::warn!("cannot update the state dir's CHANGELOG.md: {e}");
    }
}

/// The weekly summary: releases in the window, documentation ones (told weekly
/// by policy) listed with the customers that were to hear about them.
pub fn digest_text(
    all: &[(ReleaseState, Vec<Event>)],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (String, Vec<String>) {
    let mut lines = Vec::new();
    let mut customers = Vec::new();
    let mut chosen: Vec<&ReleaseState> = all
        .iter()
        .map(|(s, _)| s)
        .filter(|s| s.started_at >= since && s.started_at <= until)
        .collect();
    chosen.sort_by(|a, b| a.plan.version.cmp(&b.plan.version));
    for s in &chosen {
        let weekly: Vec<&str> = s
            .plan
            .waves
            .iter()
            .flat_map(|w| w.customers.iter())
            .filter(|c| c.notify.timing == NotifyTiming::WeeklySummary)
            .filter(|c| {
                s.customer(&c.id)
                    .is_some_and(|st| st.status == crate::engine::CustomerStatus::Healthy)
            })
            .map(|c| c.name.as_str())
            .collect();
        let summary = s
            .plan
            .notes
            .as_ref()
            .map(|n| n.summary.clone())
            .filter(|x| !x.is_empty())
            .unwrap_or_default();
        let mut line = format!(
            "{} {} — {}{}",
            s.plan.version,
            s.plan.release_type,
            s.phase.as_str(),
            if summary.is_empty() {
                String::new()
            } else {
                format!(": {summary}")
            }
        );
        if !weekly.is_empty() {
            line.push_str(&format!(" (deployed to {})", weekly.join(", ")));
            customers.extend(weekly.iter().map(|n| n.to_string()));
        }
        lines.push(line);
    }
    let week = until.iso_week();
    let mut text = format!(
        "Weekly summary {}-W{:02} ({} → {}): {} release(s)\n",
        week.year(),
        week.week(),
        since.format("%Y-%m-%d"),
        until.format("%Y-%m-%d"),
        lines.len()
    );
    for l in &lines {
        text.push_str(&format!("- {l}\n"));
    }
    if lines.is_empty() {
        text.push_str("- nothing was released\n");
    }
    customers.sort();
    customers.dedup();
    (text, customers)
}

pub async fn digest(
    ctx: &Context,
    since: &str,
    send: bool,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let since = parse_since(since)?;
    let dir = ctx.state_dir()?;
    let all = all_journals(&dir);
    let until = all
        .iter()
        .map(|(s, _)| s.last_event_at)
        .max()
        .map_or(Utc::now(), |t| t.max(Utc::now()));
    let from = until - since.to_delta();
    let (text, customers) = digest_text(&all, from, until);
    out(w, &crate::present::printable(&text))?;
    if !send {
        return Ok(EXIT_OK);
    }
    crate::cli::logging::init(&dir);
    let cfg = ctx.config()?;
    let week = until.iso_week();
    let key = format!("digest/{}-W{:02}", week.year(), week.week());
    let sent_log = dir.root.join("digests.log");
    let already = std::fs::read_to_string(&sent_log).unwrap_or_default();
    let to = cfg
        .notifications
        .destinations(NoticeKind::WeeklySummary, None, &[]);
    let message = Message {
        dedupe_key: key.clone(),
        kind: NoticeKind::WeeklySummary,
        title: format!("Weekly summary · {}-W{:02}", week.year(), week.week()),
        text: text.lines().next().unwrap_or_default().to_string(),
        version: String::new(),
        release_type: String::new(),
        wave: None,
        customers: Vec::new(),
        eta: None,
        what_to_do: "Nothing to do.".into(),
        command: None,
        roles: Vec::new(),
        link: None,
        notes: Some(text.clone()),
        notes_slack: None,
        at: Utc::now(),
    };
    let _ = customers;
    // Any release's plan serves the renderer; the digest brings its own message.
    let Some((first, _)) = all.first() else {
        out(w, "nothing to send: no releases\n")?;
        return Ok(EXIT_OK);
    };
    let mut plan = ReleasePlan::clone(&first.plan);
    plan.notifications = cfg.notifications.clone();
    let outbox = Outbox::new(Renderer::new(plan), Clock::System, dir.notifications_path());
    let mut failed = 0;
    for dest in to {
        let line = format!("{key} {dest}");
        if already.lines().any(|l| l == line) {
            out(w, &format!("already sent {key} to {dest}\n"))?;
            continue;
        }
        let d = outbox.deliver_message(&message, &dest).await;
        if d.ok {
            let _ = append_line(&sent_log, &line);
            out(w, &format!("sent {key} to {dest}\n"))?;
        } else {
            failed += 1;
            out(w, &format!("NOT sent {key} to {dest}: {}\n", d.answer))?;
        }
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_WAITING })
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{line}\n").as_bytes())
}

/// Whether a release's end should refresh the changelog.
pub fn ended(phase: Phase) -> bool {
    matches!(
        phase,
        Phase::Completed | Phase::RolledBack | Phase::Monitoring
    )
}
