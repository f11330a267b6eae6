//! The evidence view (`v` on a customer): why shipdeck thinks what it thinks about
//! one customer. The last trigger that fired on it (what, when, the summary, the
//! baseline and the samples of its window) and, for a queried source (prometheus),
//! the server, each query exactly as judged for this customer and the values it
//! gave; then the last check and its reason. With no trigger yet, the same view of
//! the source over the customer's recent samples: "why is it inconclusive?" has its
//! answer here too.
//!
//! Everything comes from the snapshot (the journaled plan and events), never from a
//! probe: what is shown is what the engine judged. Text from outside (queries,
//! reasons quoting a server) is drawn with control characters escaped, and queries
//! wrap by character so that none is cut.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{overlay, put};
use crate::domain::promql::Subject;
use crate::domain::{CustomerId, HealthSample, ProbeOutcome};
use crate::engine::ReleaseState;
use crate::engine::triggers::{self, SourceEvidence};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::wrap::wrap as wrap_words;

/// Label column width.
const LABEL: usize = 13;

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    state: &ReleaseState,
    customer: &CustomerId,
    scroll: usize,
    theme: &Theme,
) {
    let width = area.width.saturating_sub(2).min(100);
    let height = area.height.saturating_sub(2).max(3);
    let title = match state.customer(customer) {
        Some(c) => format!(
            "{}· {} ({}) · {} ",
            strings::EVIDENCE_TITLE,
            printable(&c.name),
            printable(c.id.as_str()),
            c.status.as_str()
        ),
        None => strings::EVIDENCE_TITLE.to_string(),
    };
    let inner = overlay(
        buf,
        area,
        width,
        height,
        theme.accent,
        Line::styled(title, theme.header),
    );
    let text_width = usize::from(inner.width).saturating_sub(1).max(10);
    let mut lines = lines(state, customer, text_width, theme);
    lines.push(Line::styled(
        format!(" {}", strings::EVIDENCE_FOOTER),
        theme.muted,
    ));
    let rows = usize::from(inner.height);
    let top = scroll.min(lines.len().saturating_sub(rows));
    for (row, line) in lines.iter().skip(top).take(rows).enumerate() {
        put(buf, inner, row as u16, line);
    }
}

/// Control characters as escapes: a terminal sequence in a server's text stays
/// inert. The one escaping rule ([`crate::domain::escape`]), as everywhere else.
fn printable(s: &str) -> String {
    crate::domain::escape(s).into_owned()
}

/// Splits `s` into rows of `width` characters exactly (queries: every character
/// shown, none lost to a cut).
fn hard_wrap(s: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// ` label     text`, wrapped at words under the label column.
fn labelled(
    out: &mut Vec<Line<'static>>,
    label: &str,
    text: &str,
    width: usize,
    style: Style,
    theme: &Theme,
) {
    let rows = wrap_words(&printable(text), width.saturating_sub(LABEL + 1));
    for (i, row) in rows.into_iter().enumerate() {
        let head = if i == 0 { label } else { "" };
        out.push(Line::from(vec![
            Span::styled(format!(" {head:<w$}", w = LABEL - 1), theme.accent),
            Span::styled(row, style),
        ]));
    }
}

fn figures(s: &HealthSample) -> String {
    let err = s
        .error_rate
        .map_or_else(|| "-".to_string(), |e| format!("{e:.1}%"));
    let p95 = s
        .latency_p95_ms
        .map_or_else(|| "-".to_string(), |l| format!("{l:.0} ms"));
    format!("error {err} · p95 {p95}")
}

fn outcome(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Up { sample } => format!("up, {}", figures(sample)),
        ProbeOutcome::Down { reason } => format!("down: {reason}"),
        ProbeOutcome::Inconclusive { reason } => format!("inconclusive: {reason}"),
    }
}

fn lines(
    state: &ReleaseState,
    customer: &CustomerId,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let Some(c) = state.customer(customer) else {
        out.push(Line::raw(format!(" {customer}: not in this release")));
        return out;
    };
    let plain = Style::new();
    let source: Option<SourceEvidence> = match &c.health.last_trigger {
        Some(fired) => {
            labelled(
                &mut out,
                "Trigger",
                &format!(
                    "{} · {}",
                    fired.trigger.describe(),
                    fired.at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                width,
                theme.failed,
                theme,
            );
            labelled(&mut out, "", &fired.evidence.summary, width, plain, theme);
            if let Some(b) = &fired.evidence.baseline {
                labelled(&mut out, "Baseline", &figures(b), width, plain, theme);
            }
            for (i, s) in fired.evidence.samples.iter().enumerate() {
                let label = if i == 0 { "Samples" } else { "" };
                labelled(&mut out, label, &outcome(s), width, plain, theme);
            }
            fired.evidence.source.clone()
        }
        None => {
            labelled(
                &mut out,
                "Trigger",
                strings::EVIDENCE_NO_TRIGGER,
                width,
                theme.muted,
                theme,
            );
            if let Some(b) = &c.health.baseline {
                labelled(&mut out, "Baseline", &figures(b), width, plain, theme);
            }
            // The source as planned, over the recent samples the triggers judge.
            let recent: Vec<ProbeOutcome> = c.health.recent.iter().cloned().collect();
            planned_source(state, customer).and_then(|(tier, name, health)| {
                let subject = Subject {
                    id: customer.as_str(),
                    name: &name,
                    tier: &tier,
                };
                let at = c.health.baseline.map(|_| state.started_at);
                triggers::source_evidence(&health, &subject, &recent, at)
            })
        }
    };
    match source {
        Some(src) => {
            labelled(
                &mut out,
                "Source",
                &format!("{} {}", src.kind, src.server),
                width,
                plain,
                theme,
            );
            if let Some(at) = src.baseline_at {
                labelled(
                    &mut out,
                    "",
                    &format!(
                        "baseline read at time={} (the release's start, journaled)",
                        at.format("%Y-%m-%dT%H:%M:%SZ")
                    ),
                    width,
                    theme.muted,
                    theme,
                );
            }
            for q in &src.queries {
                let rows = hard_wrap(&printable(&q.query), width.saturating_sub(LABEL + 1));
                for (i, row) in rows.into_iter().enumerate() {
                    let head = if i == 0 { q.name.as_str() } else { "" };
                    out.push(Line::from(vec![
                        Span::styled(format!(" {head:<w$}", w = LABEL - 1), theme.accent),
                        Span::raw(row),
                    ]));
                }
                if !q.values.is_empty() {
                    labelled(
                        &mut out,
                        "",
                        &format!("values: {}", q.values.join(" · ")),
                        width,
                        theme.accent,
                        theme,
                    );
                }
            }
        }
        None => labelled(
            &mut out,
            "Source",
            strings::EVIDENCE_NO_SOURCE,
            width,
            theme.muted,
            theme,
        ),
    }
    if let Some(last) = &c.health.last {
        labelled(&mut out, "Last check", &outcome(last), width, plain, theme);
    }
    out
}

/// The customer's tier, name and health source as planned.
fn planned_source(
    state: &ReleaseState,
    customer: &CustomerId,
) -> Option<(String, String, crate::domain::HealthSource)> {
    state.plan.waves.iter().find_map(|w| {
        let c = w.customers.iter().find(|c| &c.id == customer)?;
        Some((w.tier.to_string(), c.name.clone(), c.health.clone()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_wrap_without_losing_a_character_and_escapes_stay_inert() {
        let q = r#"sum by (customer) (rate(x{customer="acme"}[5m]))"#;
        let rows = hard_wrap(q, 10);
        assert_eq!(rows.concat(), q);
        assert!(rows.iter().all(|r| r.chars().count() <= 10));
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\x1b[2Jb");
    }
}
