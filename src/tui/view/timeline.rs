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
        let est = state
            .due_at(i)
            .unwrap_or_else(|| now + state.plan.effective_delay(i, state.emergency).to_delta());
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
            let running = state.running_checks().count();
            (
                format!("{} checking ({running} running)", sym.in_progress),
                theme.in_progress,
            )
        }
        _ if state.waves.first().is_some_and(|w| w.started_at.is_some()) => {
            (format!("{} done", sym.ok), theme.ok)
        }
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
    let reverted = count(|s| matches!(s, CustomerStatus::RolledBack | CustomerStatus::RollingBack));
    let mut extra = String::new();
    if failed > 0 {
        extra.push_str(&format!(", {failed} failed"));
    }
    if reverted > 0 {
        extra.push_str(&format!(", {reverted} rolled back"));
    }
    match w.status {
        WaveStatus::Completed => (
            format!("{} done {healthy}/{total}{extra}", sym.ok),
            if failed > 0 { theme.failed } else { theme.ok },
        ),
        WaveStatus::Running => {
            let window = count(|s| s == CustomerStatus::WaitingWindow);
            if window > 0 {
                extra.push_str(&format!(", {window} in window"));
            }
            (
                format!("{} {healthy}/{total} deploying{extra}", sym.in_progress),
                if failed > 0 {
                    theme.failed
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
