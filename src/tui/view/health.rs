//! Health: a gauge per tier (healthy / deploying / failed / pending) and one row
//! per customer with status symbol and word, version, error rate and p95 against
//! the customer's baseline, and a sparkline of recent samples.
//!
//! A release may have 10,000 customers: the filtered list is a vector of indices,
//! and rows are built only for the window that fits on screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Widget};

use super::{fit, pad, pane, put, row_style};
use crate::domain::ProbeOutcome;
use crate::engine::state::CustomerState;
use crate::engine::{CustomerStatus, ReleaseState};
use crate::tui::app::{App, Focus};
use crate::tui::strings;
use crate::tui::theme::{Symbols, Theme};

const SPARK: [&str; 8] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    state: &ReleaseState,
    app: &App,
    theme: &Theme,
    sym: &Symbols,
) {
    let mut title = strings::PANE_HEALTH.to_string();
    if !app.filter.is_empty() || app.filter_editing {
        title.push_str(&format!(" · filter: {}", app.filter));
        if app.filter_editing {
            title.push('_');
        }
    }
    if app.sort_by_status {
        title.push_str(" · by status");
    }
    let block = pane(title, Focus::Health, app, theme, Borders::TOP);
    let inner = block.inner(area);
    block.render(area, buf);
    let h = usize::from(inner.height);
    let width = usize::from(inner.width);
    // Gauges take at most half the pane so customers stay visible.
    let gauges = state.waves.len().min(h / 2);
    for (i, w) in state.waves.iter().enumerate().take(gauges) {
        put(
            buf,
            inner,
            i as u16,
            &gauge(state, i, &w.tier.to_string(), width, theme),
        );
    }
    let rows = h - gauges;
    if rows == 0 {
        return;
    }
    let list = app.visible_customers(state);
    if list.is_empty() {
        put(
            buf,
            inner,
            gauges as u16,
            &Line::styled(strings::HEALTH_NO_MATCH, theme.muted),
        );
        return;
    }
    let sel = app.customer_sel.min(list.len() - 1);
    let offset = if sel < rows { 0 } else { sel + 1 - rows };
    let focused = app.focus == Focus::Health;
    let end = (offset + rows).min(list.len());
    for (row, pos) in (offset..end).enumerate() {
        let Some(c) = list.get(pos).and_then(|&i| state.customers.get(i)) else {
            continue;
        };
        let line = customer_row(state, c, pos == sel, focused, width, theme, sym);
        put(buf, inner, (gauges + row) as u16, &line);
    }
}

fn gauge(
    state: &ReleaseState,
    wave: usize,
    tier: &str,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let cs = state.wave_customers(wave);
    let n = |f: fn(CustomerStatus) -> bool| cs.iter().filter(|c| f(c.status)).count();
    let ok = n(|s| s == CustomerStatus::Healthy);
    let run = n(|s| matches!(s, CustomerStatus::Deploying | CustomerStatus::Verifying));
    let failed = n(|s| s == CustomerStatus::Failed);
    // Reverted customers are their own count, never "waiting": nothing more will
    // happen to them in this release.
    let back = n(|s| matches!(s, CustomerStatus::RollingBack | CustomerStatus::RolledBack));
    let pending = n(|s| matches!(s, CustomerStatus::Pending | CustomerStatus::WaitingWindow));
    let bar_w = if width < 56 { 6 } else { 10 };
    let total = cs.len().max(1);
    let filled = (ok * bar_w).div_ceil(total).min(bar_w);
    let mut counts = vec![
        (format!("ok {ok}"), theme.ok),
        (format!("run {run}"), Style::new()),
        (
            format!("fail {failed}"),
            if failed > 0 {
                theme.failed
            } else {
                Style::new()
            },
        ),
    ];
    if back > 0 {
        counts.push((format!("back {back}"), theme.warning));
    }
    counts.push((format!("wait {pending}"), theme.muted));
    let head = 11 + bar_w + 1;
    // Two spaces between counts when they fit, one when not; never a cut figure.
    let sep = |n: usize| {
        let len: usize = counts.iter().map(|(t, _)| t.chars().count()).sum();
        head + len + n * (counts.len() - 1) <= width
    };
    let gap = if sep(2) { "  " } else { " " };
    while counts.len() > 1
        && head
            + counts
                .iter()
                .map(|(t, _)| t.chars().count() + gap.len())
                .sum::<usize>()
            - gap.len()
            > width
    {
        counts.pop();
    }
    let mut spans = vec![
        Span::raw(pad(tier, 11)),
        Span::styled("█".repeat(filled), theme.ok),
        Span::styled("░".repeat(bar_w - filled), theme.muted),
        Span::raw(" "),
    ];
    for (i, (text, style)) in counts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(gap));
        }
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

fn status_look(
    s: CustomerStatus,
    theme: &Theme,
    sym: &Symbols,
) -> (&'static str, &'static str, Style) {
    match s {
        CustomerStatus::Pending => (sym.pending, "pending", theme.muted),
        CustomerStatus::WaitingWindow => (sym.pending, "window", theme.muted),
        CustomerStatus::Deploying => (sym.in_progress, "deploying", theme.in_progress),
        CustomerStatus::Verifying => (sym.in_progress, "verifying", theme.in_progress),
        CustomerStatus::Healthy => (sym.ok, "healthy", theme.ok),
        CustomerStatus::Failed => (sym.failed, "failed", theme.failed),
        CustomerStatus::RollingBack => (sym.warning, "reverting", theme.warning),
        CustomerStatus::RolledBack => (sym.paused, "reverted", theme.warning),
    }
}

fn customer_row(
    state: &ReleaseState,
    c: &CustomerState,
    selected: bool,
    focused: bool,
    width: usize,
    theme: &Theme,
    sym: &Symbols,
) -> Line<'static> {
    let (s, word, style) = status_look(c.status, theme, sym);
    let rs = row_style(selected, focused, theme);
    let pointer = if selected { sym.pointer } else { " " };
    // A reverted customer is not probed: the figures in its history are the
    // failed version's, not what it runs now.
    let reverted = matches!(
        c.status,
        CustomerStatus::RollingBack | CustomerStatus::RolledBack
    );
    let latest = c.health.history.back().filter(|_| !reverted);
    let base = c.health.baseline;
    let trig = &state.plan.policy.triggers;
    let down = !reverted && matches!(c.health.last, Some(ProbeOutcome::Down { .. }));
    // An arrow when a figure is past half its trigger threshold: approaching,
    // not tripped — the engine alone decides that.
    let err = match latest.and_then(|s| s.error_rate) {
        _ if down => "down".to_string(),
        Some(e) => {
            let up = base
                .and_then(|b| b.error_rate)
                .is_some_and(|b| e - b > trig.error_rate_points / 2.0);
            format!("{e:.1}%{}", if up { "↑" } else { "" })
        }
        None => "-".into(),
    };
    let p95 = match latest.and_then(|s| s.latency_p95_ms) {
        Some(p) => {
            let up = base
                .and_then(|b| b.latency_p95_ms)
                .is_some_and(|b| b > 0.0 && (p - b) / b * 100.0 > trig.latency_p95_percent / 2.0);
            format!("{p:.0}ms{}", if up { "↑" } else { "" })
        }
        None => "-".into(),
    };
    // Fixed columns first; the name grows with the pane, the sparkline takes the rest.
    let base_fixed = 2 + 1 + 9 + 1 + 6 + 1 + 5 + 1 + 6 + 1;
    let name_w = (11 + width.saturating_sub(base_fixed + 11 + 4) / 2).min(18);
    let spark_w = width
        .saturating_sub(base_fixed + name_w)
        .min(state::SPARK_LEN);
    let spark = if reverted {
        String::new()
    } else {
        sparkline(c, spark_w)
    };
    Line::from(vec![
        Span::styled(format!("{pointer}{s}"), style.patch(rs)),
        Span::styled(" ", rs),
        Span::styled(pad(&c.name, name_w), rs),
        Span::styled(" ", rs),
        Span::styled(pad(word, 9), style.patch(rs)),
        Span::styled(" ", rs),
        Span::styled(pad(&fit(&c.version.to_string(), 6), 6), rs),
        Span::styled(format!(" {err:>5}"), rs),
        Span::styled(format!(" {p95:>6}"), rs),
        Span::styled(" ", rs),
        Span::styled(spark, theme.in_progress.patch(rs)),
    ])
}

use crate::engine::state;

/// The error-rate history as block characters, scaled to its own maximum (at
/// least 1 %) so a quiet customer reads flat and a spike stands out.
fn sparkline(c: &CustomerState, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let vals: Vec<f64> = c
        .health
        .history
        .iter()
        .map(|s| s.error_rate.unwrap_or(0.0))
        .collect();
    let take = vals.len().min(width);
    let tail = &vals[vals.len() - take..];
    let max = tail.iter().cloned().fold(1.0_f64, f64::max);
    tail.iter()
        .map(|v| {
            let i = ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize;
            SPARK[i]
        })
        .collect()
}
