//! The timeline: one row per wave (after a validation row) with a bar on a shared
//! time axis, a "now" marker, progress, the countdown to its start and the gate that
//! holds it. Gate wording comes from the engine (`Gate::describe`) so the cockpit
//! and the headless CLI say the same thing.

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Widget};

use super::{countdown, pad, pane, put};
use crate::engine::{self, CustomerStatus, Gate, Phase, ReleaseState, WaveStatus};
use crate::tui::app::{App, Focus};
use crate::tui::strings;
use crate::tui::theme::{Symbols, Theme};

const LABEL: usize = 12;

/// Start and end of a row's bar on the axis, and how to draw it.
struct Span2 {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    kind: BarKind,
}

#[derive(Clone, Copy, PartialEq)]
enum BarKind {
    Done,
    Running,
    Waiting,
    Held,
    None,
}

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    state: &ReleaseState,
    now: DateTime<Utc>,
    app: &App,
    theme: &Theme,
    sym: &Symbols,
) {
    let block = pane(
        strings::PANE_TIMELINE.into(),
        Focus::Timeline,
        app,
        theme,
        Borders::TOP,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let bar_w = (width * 35 / 100).max(10);
    let text_w = width.saturating_sub(LABEL + bar_w + 2);

    let mut spans: Vec<Span2> = Vec::with_capacity(state.waves.len() + 1);
    // Validation: from the start until the demo wave starts.
    let val_end = state.waves.first().and_then(|w| w.started_at);
    spans.push(Span2 {
        start: state.started_at,
        end: val_end.unwrap_or(now),
        kind: if val_end.is_some() {
            BarKind::Done
        } else if state.phase.is_final() {
            BarKind::None
        } else {
            BarKind::Running
        },
    });
    for (i, w) in state.waves.iter().enumerate() {
        // A wave that has not started starts now at the earliest: never drawn in
        // the past (while paused its countdown stands still, so it moves with now).
        let est = match state.wait_left(i, now) {
            Some(left) => now + left.max(TimeDelta::zero()),
            None => now + state.plan.effective_delay(i, state.emergency).to_delta(),
        };
        let start = w.started_at.unwrap_or(est);
        let (end, kind) = match w.status {
            WaveStatus::Completed => (w.completed_at.unwrap_or(now), BarKind::Done),
            WaveStatus::Running => (now.max(start), BarKind::Running),
            WaveStatus::Waiting => (start, BarKind::Waiting),
            WaveStatus::HeldOverdue => (start, BarKind::Held),
            WaveStatus::Cancelled => (start, BarKind::None),
        };
        spans.push(Span2 { start, end, kind });
    }
    let t0 = state.started_at;
    let last = spans
        .iter()
        .map(|s| s.end.max(s.start))
        .max()
        .unwrap_or(now)
        .max(now);
    let raw = (last - t0).max(TimeDelta::minutes(10));
    let span_secs = (raw.num_seconds() as f64 * 1.15).max(1.0);
    let x_of = |t: DateTime<Utc>| -> usize {
        let f = ((t - t0).num_seconds() as f64 / span_secs).clamp(0.0, 1.0);
        ((f * (bar_w as f64 - 1.0)).round() as usize).min(bar_w.saturating_sub(1))
    };
    let now_x = x_of(now);

    // Axis row: start and end clock times, and the now marker.
    let fmt = if raw > TimeDelta::hours(20) {
        "%a %H:%M"
    } else {
        "%H:%M"
    };
    // The now marker and its word first; the clock labels only where they fit
    // without covering them.
    let mut axis: Vec<char> = vec![' '; bar_w];
    let mut taken = vec![false; bar_w];
    taken[now_x] = true;
    let word = "now";
    let word_at = if now_x + 1 + word.len() <= bar_w {
        Some(now_x + 1)
    } else {
        now_x.checked_sub(word.len())
    };
    if let Some(at) = word_at {
        for (i, c) in word.chars().enumerate() {
            axis[at + i] = c;
            taken[at + i] = true;
        }
    }
    let place = |text: &str, at: usize, axis: &mut Vec<char>, taken: &mut Vec<bool>| {
        let end = at + text.chars().count();
        if end > bar_w
            || taken[at.saturating_sub(1)..(end + 1).min(bar_w)]
                .iter()
                .any(|t| *t)
        {
            return;
        }
        for (i, c) in text.chars().enumerate() {
            axis[at + i] = c;
            taken[at + i] = true;
        }
    };
    let left = t0.format(fmt).to_string();
    let right = (t0 + TimeDelta::seconds(span_secs as i64))
        .format(fmt)
        .to_string();
    place(&left, 0, &mut axis, &mut taken);
    place(
        &right,
        bar_w.saturating_sub(right.chars().count()),
        &mut axis,
        &mut taken,
    );
    let axis_text: String = axis.iter().collect();
    let (before, after) = split_at_char(&axis_text, now_x);
    let axis_line = Line::from(vec![
        Span::raw(" ".repeat(LABEL + 1)),
        Span::styled(before, theme.muted),
        Span::styled(sym.now, theme.accent),
        Span::styled(after, theme.muted),
    ]);
    put(buf, inner, 0, &axis_line);

    for (row, sp) in spans.iter().enumerate() {
        let y = row as u16 + 1;
        if y >= inner.height {
            break;
        }
        let wave = row.checked_sub(1);
        let selected = wave == Some(app.wave_sel);
        let focused = app.focus == Focus::Timeline;
        let label = match wave {
            None => strings::VALIDATION.to_string(),
            Some(i) => state.waves[i].tier.to_string(),
        };
        let pointer = if selected && focused {
            sym.pointer
        } else {
            " "
        };
        let label_style = if selected && focused {
            theme.selected
        } else {
            Style::new()
        };
        let (text, text_style) = match wave {
            None => validation_text(state, theme, sym),
            Some(i) => wave_text(state, i, now, theme, sym),
        };
        let bar_style = match sp.kind {
            BarKind::Done => theme.ok,
            BarKind::Running => theme.in_progress,
            BarKind::Held => theme.warning,
            _ => theme.muted,
        };
        let mut cells: Vec<(&str, Style)> = vec![(" ", Style::new()); bar_w];
        let (a, b) = (x_of(sp.start), x_of(sp.end));
        match sp.kind {
            BarKind::Done => (a..=b.max(a)).for_each(|x| cells[x] = (sym.bar_done, bar_style)),
            BarKind::Running => {
                (a..b.max(a)).for_each(|x| cells[x] = (sym.bar_done, bar_style));
                cells[b.max(a)] = (sym.bar_head, bar_style);
            }
            BarKind::Waiting | BarKind::Held => {
                (a..(a + 3).min(bar_w)).for_each(|x| cells[x] = (sym.bar_todo, bar_style));
            }
            BarKind::None => {}
        }
        if cells[now_x].0 == " " {
            cells[now_x] = ("│", theme.muted);
        }
        let mut spans_out = vec![
            Span::styled(pointer.to_string(), label_style),
            Span::styled(pad(&label, LABEL - 1), label_style),
            Span::raw(" "),
        ];
        spans_out.extend(cells.into_iter().map(|(s, st)| Span::styled(s, st)));
        spans_out.push(Span::raw(" "));
        spans_out.push(Span::styled(super::fit(&text, text_w), text_style));
        put(buf, inner, y, &Line::from(spans_out));
    }
}

fn split_at_char(s: &str, at: usize) -> (String, String) {
    let before: String = s.chars().take(at).collect();
    let after: String = s.chars().skip(at + 1).collect();
    (before, after)
}

fn validation_text(state: &ReleaseState, theme: &Theme, sym: &Symbols) -> (String, Style) {
    match state.phase {
        Phase::Planned => {
            let open = state.unticked_gating(crate::domain::GatedPhase::Validation);
            if open.is_empty() {
                (format!("{} waiting", sym.pending), theme.muted)
            } else {
                (
                    format!("{} needs checklist: {}", sym.warning, open.join(", ")),
                    theme.warning,
                )
            }
        }
        Phase::Validating => {
            let failed: Vec<&str> = state
                .checks
                .iter()
                .filter(|(_, s)| matches!(s, crate::engine::state::CheckStatus::Failed(_)))
                .map(|(k, _)| k.as_str())
                .collect();
            let running = state.running_checks().count();
            if !failed.is_empty() && running == 0 {
                (
                    format!(
                        "{} FAILED: {} (resume runs them again)",
                        sym.failed,
                        failed.join(", ")
                    ),
                    theme.failed,
                )
            } else {
                (
                    format!("{} checking ({running} running)", sym.in_progress),
                    theme.in_progress,
                )
            }
        }
        // Passed is passed, whatever came after (a demo waiting on an item, a
        // rollback, an abort).
        _ if state.validated_at.is_some() => (format!("{} passed", sym.ok), theme.ok),
        _ => (format!("{} stopped", sym.failed), theme.muted),
    }
}

fn wave_text(
    state: &ReleaseState,
    i: usize,
    now: DateTime<Utc>,
    theme: &Theme,
    sym: &Symbols,
) -> (String, Style) {
    let w = &state.waves[i];
    let cs = state.wave_customers(i);
    let total = cs.len();
    let count = |f: fn(CustomerStatus) -> bool| cs.iter().filter(|c| f(c.status)).count();
    let healthy = count(|s| s == CustomerStatus::Healthy);
    let failed = count(|s| s == CustomerStatus::Failed);
    let rolled_back = count(|s| s == CustomerStatus::RolledBack);
    let rolling_back = count(|s| s == CustomerStatus::RollingBack);
    let mut extra = String::new();
    if failed > 0 {
        extra.push_str(&format!(", {failed} failed"));
    }
    if rolling_back > 0 {
        extra.push_str(&format!(", {rolling_back} rolling back"));
    }
    if rolled_back > 0 {
        extra.push_str(&format!(", {rolled_back} rolled back"));
    }
    match w.status {
        WaveStatus::Completed if rolled_back == total && total > 0 => (
            format!("{} rolled back {rolled_back}/{total}", sym.failed),
            theme.warning,
        ),
        WaveStatus::Completed => (
            format!("{} done {healthy}/{total}{extra}", sym.ok),
            if failed > 0 { theme.failed } else { theme.ok },
        ),
        WaveStatus::Running => {
            let parts = running_parts(state, i, now);
            (
                format!(
                    "{} {healthy}/{total} healthy · {}",
                    sym.in_progress,
                    parts.join(" · ")
                ),
                if failed > 0 {
                    theme.failed
                } else if rolling_back > 0 || rolled_back > 0 {
                    theme.warning
                } else {
                    theme.in_progress
                },
            )
        }
        WaveStatus::Cancelled => (format!("{} cancelled{extra}", sym.failed), theme.muted),
        WaveStatus::HeldOverdue => (
            format!("{} overdue: confirm to start (c)", sym.warning),
            theme.warning,
        ),
        WaveStatus::Waiting => {
            let g = engine::gate(state, i, now);
            let mut parts: Vec<String> = Vec::new();
            if let Some(left) = state.wait_left(i, now).filter(|l| *l > TimeDelta::zero()) {
                if state.is_paused() {
                    parts.push(format!("paused, {} remaining", countdown(left)));
                } else if !w.wait_skipped {
                    parts.push(format!("in {}", countdown(left)));
                }
            }
            if matches!(g, Gate::AfterPrevious(_)) && !state.emergency {
                // Say now that signatures will be needed, so they can be sought
                // while the earlier wave still runs.
                let missing = engine::query::missing_roles(state, i);
                if !missing.is_empty() {
                    parts.push(Gate::Approval { missing }.describe());
                }
            }
            match &g {
                Gate::Time { .. } | Gate::Ready | Gate::Done | Gate::Paused => {}
                other => parts.push(other.describe()),
            }
            if parts.is_empty() {
                parts.push(if state.is_paused() {
                    "paused".into()
                } else {
                    g.describe()
                });
            }
            let style = match g {
                Gate::Approval { .. } | Gate::Items(_) | Gate::HeldOverdue => theme.warning,
                _ => theme.muted,
            };
            (format!("{} {}", sym.pending, parts.join(" · ")), style)
        }
    }
}

/// What a running wave's customers are doing, in the words an operator scans
/// for: deploying, soaking (with the time left), held for lack of data, rolling
/// back, rolled back, failed, waiting for their window.
fn running_parts(state: &ReleaseState, wave: usize, now: DateTime<Utc>) -> Vec<String> {
    let cs = state.wave_customers(wave);
    let count = |f: &dyn Fn(&crate::engine::state::CustomerState) -> bool| {
        cs.iter().filter(|c| f(c)).count()
    };
    let mut parts = Vec::new();
    let deploying = count(&|c| c.status == CustomerStatus::Deploying);
    if deploying > 0 {
        parts.push(format!("{deploying} deploying"));
    }
    let soaking: Vec<DateTime<Utc>> = cs
        .iter()
        .filter(|c| c.status == CustomerStatus::Verifying)
        .filter_map(|c| c.soak_until)
        .collect();
    let still = soaking.iter().filter(|t| **t > now).count();
    if let Some(last) = soaking.iter().copied().filter(|t| *t > now).max() {
        parts.push(format!("{still} soaking, {} left", countdown(last - now)));
    }
    let held = soaking.len() - still;
    if held > 0 {
        parts.push(format!("{held} held: no data yet"));
    }
    for (status, word) in [
        (CustomerStatus::RollingBack, "rolling back"),
        (CustomerStatus::RolledBack, "rolled back"),
        (CustomerStatus::Failed, "failed"),
        (CustomerStatus::WaitingWindow, "waiting for window"),
        (CustomerStatus::Pending, "pending"),
    ] {
        let n = count(&|c| c.status == status);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    if parts.is_empty() {
        parts.push("settling".into());
    }
    parts
}
