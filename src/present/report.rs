//! The release report: how releases went, against the seed's targets (success
//! rate above 99 %, rollback rate under 1 %, deployment speed under 1 h critical
//! and 12 h standard),
//! DORA's four keys, the rollback rate per tier (what waves buy), and the time
//! spent waiting on people (approvals, waves that came due while away, pauses)
//! apart from machine time.
//!
//! Figures come from journals only (the truth), by the definitions written on each
//! field, so a test can compute them independently. `Report` serializes as the
//! stable `--json` document; [`Report::text`] draws it for people.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::domain::{CustomerId, NoticeKind, ReleaseType, Urgency};
use crate::engine::{Event, EventKind, Phase, ReleaseState};

/// One release's journal, folded and raw.
pub struct Journal<'a> {
    pub state: &'a ReleaseState,
    pub events: &'a [Event],
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Window {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub days: i64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub started: usize,
    /// Reached every customer (monitoring or completed).
    pub completed: usize,
    pub rolled_back: usize,
    pub aborted: usize,
    pub in_progress: usize,
}

/// A rate with its parts and its target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    pub numerator: usize,
    pub denominator: usize,
    /// numerator / denominator, in percent; None when there is nothing to divide.
    pub percent: Option<f64>,
    pub target: Option<String>,
    pub met: Option<bool>,
}

impl Rate {
    fn new(numerator: usize, denominator: usize, target: Option<(&str, bool, f64)>) -> Rate {
        let percent = (denominator > 0).then(|| 100.0 * numerator as f64 / denominator as f64);
        let (target, met) = match target {
            Some((words, above, limit)) => (
                Some(words.to_string()),
                percent.map(|p| if above { p > limit } else { p < limit }),
            ),
            None => (None, None),
        };
        Rate {
            numerator,
            denominator,
            percent,
            target,
            met,
        }
    }
}

/// Seconds, summarised.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Spread {
    pub count: usize,
    /// Nearest-rank percentiles over the sorted samples.
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
    pub total_secs: i64,
}

impl Spread {
    pub fn of(mut samples: Vec<i64>) -> Spread {
        samples.sort_unstable();
        Spread {
            count: samples.len(),
            median_secs: percentile(&samples, 0.5),
            p90_secs: percentile(&samples, 0.9),
            total_secs: samples.iter().sum(),
        }
    }
}

/// Nearest-rank percentile of sorted samples: the smallest value with at least
/// `q` of the samples at or below it.
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeTiming {
    pub release_type: ReleaseType,
    /// The seed's target: < 1 h for critical urgency, < 12 h for medium and high.
    pub target_secs: Option<i64>,
    /// Plan to last tier (`release_planned` → `rollout_completed`), per release.
    pub time_to_deploy: Spread,
    pub within_target: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Dora {
    /// Releases that reached every customer, per week of the window.
    pub deployment_frequency_per_week: f64,
    pub deployments: usize,
    /// Plan to last tier.
    pub lead_time: Spread,
    /// Finished releases that deployed to anyone and needed a rollback (or a
    /// trigger fired, or a deploy failed), of those finished releases.
    pub change_failure_rate: Rate,
    /// First failure (trigger, failed deploy, rollback request) to the last
    /// successful rollback after it, per failed release.
    pub recovery_time: Spread,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TierRate {
    pub tier: String,
    pub rollback_rate: Rate,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct People {
    /// Per role: from when the gate needed it (the approval-needed notice, else the
    /// wave's due time) to the signature; an early signature waited 0.
    pub approval_latency: BTreeMap<String, Spread>,
    /// Waves held because they came due while nobody ran the release, until confirmed.
    pub came_due_while_away: Spread,
    /// Pauses, from pause to resume.
    pub paused: Spread,
    /// The three above, summed.
    pub people_secs: i64,
    /// Lead time of the releases, less the time waiting on people (not below 0).
    pub machine_secs: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub window: Window,
    pub release_type: Option<ReleaseType>,
    pub releases: Counts,
    /// Customer deployments that finished healthy and were not rolled back, of
    /// those started.
    pub success_rate: Rate,
    /// Customer deployments rolled back, of those started.
    pub rollback_rate: Rate,
    pub time_to_deploy: Vec<TypeTiming>,
    pub dora: Dora,
    pub rollback_by_tier: Vec<TierRate>,
    pub waiting_on_people: People,
    /// Releases started per week of the window, oldest first.
    pub per_week: Vec<usize>,
}

fn target_of(urgency: Urgency) -> Option<i64> {
    match urgency {
        Urgency::Critical => Some(3600),
        Urgency::High | Urgency::Medium => Some(12 * 3600),
        Urgency::Low => None,
    }
}

fn secs(d: TimeDelta) -> i64 {
    d.num_seconds().max(0)
}

fn completed_at(events: &[Event]) -> Option<DateTime<Utc>> {
    events.iter().find_map(|e| match e.event {
        EventKind::RolloutCompleted { .. } => Some(e.at),
        _ => None,
    })
}

/// Builds the report over the journals whose release started in `[since, until]`
/// (and of `only` type, if given).
pub fn build(
    journals: &[Journal<'_>],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    only: Option<ReleaseType>,
) -> Report {
    let chosen: Vec<&Journal<'_>> = journals
        .iter()
        .filter(|j| j.state.started_at >= since && j.state.started_at <= until)
        .filter(|j| only.is_none_or(|t| j.state.plan.release_type == t))
        .collect();
    let mut counts = Counts::default();
    let mut deployments = 0usize;
    let mut succeeded = 0usize;
    let mut rolled_back = 0usize;
    let mut by_tier: BTreeMap<usize, (String, usize, usize)> = BTreeMap::new();
    let mut timing: BTreeMap<ReleaseType, (Option<i64>, Vec<i64>)> = BTreeMap::new();
    let mut leads = Vec::new();
    let mut finished_deployed = 0usize;
    let mut failed_releases = 0usize;
    let mut recoveries = Vec::new();
    let mut latency: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut overdue = Vec::new();
    let mut paused = Vec::new();
    let weeks = ((until - since).num_days().max(1) + 6) / 7;
    let mut per_week = vec![0usize; weeks as usize];
    for j in &chosen {
        let s = j.state;
        counts.started += 1;
        let w = ((s.started_at - since).num_days() / 7) as usize;
        if let Some(slot) = per_week.get_mut(w) {
            *slot += 1;
        }
        match s.phase {
            Phase::Monitoring | Phase::Completed => counts.completed += 1,
            Phase::RolledBack => counts.rolled_back += 1,
            Phase::Aborted => counts.aborted += 1,
            _ => counts.in_progress += 1,
        }
        // Customer deployments.
        let mut started: Vec<&CustomerId> = Vec::new();
        let mut ok: Vec<&CustomerId> = Vec::new();
        let mut back: Vec<&CustomerId> = Vec::new();
        let mut failure_at: Option<DateTime<Utc>> = None;
        let mut restored_at: Option<DateTime<Utc>> = None;
        for e in j.events {
            match &e.event {
                EventKind::DeployStarted { customer, .. } => started.push(customer),
                EventKind::DeployFinished {
                    customer, ok: true, ..
                } => ok.push(customer),
                EventKind::DeployFinished { ok: false, .. }
                | EventKind::TriggerFired { .. }
                | EventKind::RollbackRequested { .. } => {
                    failure_at.get_or_insert(e.at);
                }
                EventKind::RollbackFinished { ok: true, .. } if failure_at.is_some() => {
                    restored_at = Some(e.at)
                }
                _ => {}
            }
            if let EventKind::RollbackStarted { customer, .. } = &e.event {
                if started.contains(&customer) {
                    back.push(customer);
                }
            }
        }
        started.dedup();
        back.sort();
        back.dedup();
        deployments += started.len();
        rolled_back += back.len();
        succeeded += started
            .iter()
            .filter(|c| ok.contains(c) && !back.contains(c))
            .count();
        for c in &started {
            if let Some(wi) = s.plan.wave_of(c) {
                let entry = by_tier
                    .entry(wi)
                    .or_insert_with(|| (s.plan.waves[wi].tier.to_string(), 0, 0));
                entry.1 += 1;
                if back.contains(c) {
                    entry.2 += 1;
                }
            }
        }
        // Speed and lead time.
        if let Some(done) = completed_at(j.events) {
            let t = secs(done - s.started_at);
            let entry = timing
                .entry(s.plan.release_type)
                .or_insert((target_of(s.plan.policy.urgency), Vec::new()));
            entry.1.push(t);
            leads.push(t);
        }
        // Change failure and recovery.
        if s.phase.is_final() && !started.is_empty() {
            finished_deployed += 1;
            if let Some(f) = failure_at {
                failed_releases += 1;
                if let Some(r) = restored_at {
                    recoveries.push(secs(r - f));
                }
            }
        }
        // Waiting on people.
        let mut needed: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        let mut held: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        let mut pause_since: Option<DateTime<Utc>> = None;
        for e in j.events {
            match &e.event {
                EventKind::Notified {
                    kind: NoticeKind::ApprovalNeeded,
                    wave: Some(w),
                    ..
                } => {
                    needed.entry(w.to_string()).or_insert(e.at);
                }
                EventKind::ApprovalSigned { wave, role, .. } => {
                    let since = needed
                        .get(wave.as_str())
                        .copied()
                        .or_else(|| s.wave_index(wave).and_then(|wi| s.due_at(wi)));
                    if let Some(since) = since {
                        latency
                            .entry(role.to_string())
                            .or_default()
                            .push(secs(e.at - since));
                    }
                }
                EventKind::WaveHeldOverdue { wave } => {
                    held.insert(wave.to_string(), e.at);
                }
                EventKind::OverdueConfirmed { waves, .. } => {
                    for w in waves {
                        if let Some(at) = held.remove(w.as_str()) {
                            overdue.push(secs(e.at - at));
                        }
                    }
                }
                EventKind::Paused { .. } => {
                    pause_since.get_or_insert(e.at);
                }
                EventKind::Resumed { .. } => {
                    if let Some(p) = pause_since.take() {
                        paused.push(secs(e.at - p));
                    }
                }
                _ => {}
            }
        }
    }
    let weeks_f = ((until - since).num_seconds() as f64 / (7.0 * 86_400.0)).max(1.0 / 7.0);
    let approval_latency: BTreeMap<String, Spread> = latency
        .into_iter()
        .map(|(r, v)| (r, Spread::of(v)))
        .collect();
    let came_due = Spread::of(overdue);
    let paused = Spread::of(paused);
    let people_secs = approval_latency.values().map(|s| s.total_secs).sum::<i64>()
        + came_due.total_secs
        + paused.total_secs;
    let lead_total: i64 = leads.iter().sum();
    Report {
        window: Window {
            since,
            until,
            days: (until - since).num_days(),
        },
        release_type: only,
        releases: counts.clone(),
        success_rate: Rate::new(succeeded, deployments, Some(("> 99 %", true, 99.0))),
        rollback_rate: Rate::new(rolled_back, deployments, Some(("< 1 %", false, 1.0))),
        time_to_deploy: timing
            .into_iter()
            .map(|(t, (target, samples))| {
                let within = target.map_or(0, |lim| samples.iter().filter(|s| **s < lim).count());
                TypeTiming {
                    release_type: t,
                    target_secs: target,
                    time_to_deploy: Spread::of(samples),
                    within_target: within,
                }
            })
            .collect(),
        dora: Dora {
            deployment_frequency_per_week: counts.completed as f64 / weeks_f,
            deployments: counts.completed,
            lead_time: Spread::of(leads),
            change_failure_rate: Rate::new(failed_releases, finished_deployed, None),
            recovery_time: Spread::of(recoveries),
        },
        rollback_by_tier: by_tier
            .into_values()
            .map(|(tier, n, back)| TierRate {
                tier,
                rollback_rate: Rate::new(back, n, None),
            })
            .collect(),
        waiting_on_people: People {
            approval_latency,
            came_due_while_away: came_due,
            paused,
            people_secs,
            machine_secs: (lead_total - people_secs).max(0),
        },
        per_week,
    }
}

/// Durations as people read them: `45s`, `12m`, `3h05m`, `2d4h`.
pub fn human(secs: i64) -> String {
    let s = secs.max(0);
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        let m = (s % 3600) / 60;
        if m == 0 {
            format!("{}h", s / 3600)
        } else {
            format!("{}h{m:02}m", s / 3600)
        }
    } else {
        let h = (s % 86_400) / 3600;
        if h == 0 {
            format!("{}d", s / 86_400)
        } else {
            format!("{}d{h}h", s / 86_400)
        }
    }
}

fn opt(secs: Option<i64>) -> String {
    secs.map_or_else(|| "-".into(), human)
}

/// A bar of `width` cells, `fraction` full.
pub fn bar(fraction: f64, width: usize, plain: bool) -> String {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let full = (f * width as f64).round() as usize;
    let (on, off) = if plain { ('#', '.') } else { ('█', '░') };
    std::iter::repeat_n(on, full)
        .chain(std::iter::repeat_n(off, width - full))
        .collect()
}

/// A sparkline of counts (plain: the numbers).
pub fn sparkline(values: &[usize], plain: bool) -> String {
    if plain {
        return values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" ");
    }
    const TICKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|v| TICKS[(v * (TICKS.len() - 1)).div_ceil(max).min(TICKS.len() - 1)])
        .collect()
}

fn pct(r: &Rate) -> String {
    r.percent
        .map_or_else(|| "   - ".into(), |p| format!("{p:5.1} %"))
}

fn verdict(met: Option<bool>, plain: bool) -> &'static str {
    match (met, plain) {
        (Some(true), false) => "✓ met",
        (Some(false), false) => "✗ missed",
        (Some(true), true) => "met",
        (Some(false), true) => "MISSED",
        (None, _) => "",
    }
}

impl Report {
    /// The report drawn for a terminal; `plain` (NO_COLOR): ASCII bars, numbers
    /// for sparklines, no colour.
    pub fn text(&self, plain: bool) -> String {
        let mut t = String::new();
        let c = &self.releases;
        t += &format!(
            "shipdeck report · last {} days ({} → {}) · {}\n\n",
            self.window.days,
            self.window.since.format("%Y-%m-%d"),
            self.window.until.format("%Y-%m-%d"),
            self.release_type
                .map_or_else(|| "all types".to_string(), |t| t.to_string())
        );
        t += &format!(
            "Releases        {} started · {} completed · {} rolled back · {} aborted · {} in progress\n",
            c.started, c.completed, c.rolled_back, c.aborted, c.in_progress
        );
        t += &format!("Started/week    {}\n", sparkline(&self.per_week, plain));
        for (name, r) in [
            ("Success rate", &self.success_rate),
            ("Rollback rate", &self.rollback_rate),
        ] {
            t += &format!(
                "{name:<15} {}  ({}/{} deployments)  target {}  {}\n",
                pct(r),
                r.numerator,
                r.denominator,
                r.target.as_deref().unwrap_or("-"),
                verdict(r.met, plain)
            );
        }
        t += "\nTime to deploy (plan → last tier)\n";
        t += &format!(
            "  {:<14} {:>8} {:>8} {:>8}  {:>7}\n",
            "type", "median", "p90", "target", "within"
        );
        let longest = self
            .time_to_deploy
            .iter()
            .filter_map(|x| x.time_to_deploy.p90_secs)
            .max()
            .unwrap_or(1)
            .max(1);
        for x in &self.time_to_deploy {
            let s = &x.time_to_deploy;
            let met = x.target_secs.map(|_| x.within_target == s.count);
            let within = match x.target_secs {
                Some(_) => format!("{:>3}/{:<3}", x.within_target, s.count),
                None => format!("{:>3} {:<3}", "-", ""),
            };
            t += &format!(
                "  {:<14} {:>8} {:>8} {:>8}  {} {} {}\n",
                x.release_type.to_string(),
                opt(s.median_secs),
                opt(s.p90_secs),
                x.target_secs
                    .map_or("-".into(), |v| format!("< {}", human(v))),
                within,
                bar(
                    s.median_secs.unwrap_or(0) as f64 / longest as f64,
                    12,
                    plain
                ),
                verdict(met, plain)
            );
        }
        let d = &self.dora;
        t += "\nDORA's four keys\n";
        t += &format!(
            "  Deployment frequency   {:.1} per week ({} releases reached every customer)\n",
            d.deployment_frequency_per_week, d.deployments
        );
        t += &format!(
            "  Lead time              median {} · p90 {} (plan → last tier)\n",
            opt(d.lead_time.median_secs),
            opt(d.lead_time.p90_secs)
        );
        t += &format!(
            "  Change failure rate    {} ({}/{} finished releases)\n",
            pct(&d.change_failure_rate).trim(),
            d.change_failure_rate.numerator,
            d.change_failure_rate.denominator
        );
        t += &format!(
            "  Recovery time          median {} over {} failure(s)\n",
            opt(d.recovery_time.median_secs),
            d.recovery_time.count
        );
        t += "\nRollback rate per tier (what waves buy)\n";
        for tr in &self.rollback_by_tier {
            let r = &tr.rollback_rate;
            t += &format!(
                "  {:<12} {}  {}  {}/{}\n",
                tr.tier,
                pct(r),
                bar(r.percent.unwrap_or(0.0) / 100.0, 20, plain),
                r.numerator,
                r.denominator
            );
        }
        let p = &self.waiting_on_people;
        t += "\nWaiting on people\n";
        if p.approval_latency.is_empty() {
            t += "  approvals              none signed\n";
        }
        for (role, s) in &p.approval_latency {
            t += &format!(
                "  approval by {:<12} median {} · p90 {} · {} signature(s)\n",
                role,
                opt(s.median_secs),
                opt(s.p90_secs),
                s.count
            );
        }
        t += &format!(
            "  came due while away    {} wave(s), {} in all\n",
            p.came_due_while_away.count,
            human(p.came_due_while_away.total_secs)
        );
        t += &format!(
            "  paused                 {} time(s), {} in all\n",
            p.paused.count,
            human(p.paused.total_secs)
        );
        let total = (p.people_secs + p.machine_secs).max(1);
        t += &format!(
            "  people {} machine   {} waiting on people, {} machine time\n",
            bar(p.people_secs as f64 / total as f64, 20, plain),
            human(p.people_secs),
            human(p.machine_secs)
        );
        t
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[5], 0.9), Some(5));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), Some(9));
    }

    #[test]
    fn bars_and_sparklines() {
        assert_eq!(bar(0.5, 4, true), "##..");
        assert_eq!(bar(1.0, 3, false), "███");
        assert_eq!(sparkline(&[0, 1, 2], true), "0 1 2");
        assert_eq!(sparkline(&[0, 7], false), "▁█");
        assert_eq!(human(3 * 3600 + 300), "3h05m");
        assert_eq!(human(2 * 86_400 + 4 * 3600), "2d4h");
    }
}
