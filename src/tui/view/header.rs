//! The top line (release, type, phase, operator and roles, clock) and the banner
//! below it that says loudly, with who and why, when the release is paused or
//! rolling back — the two states an operator must never miss.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::fit;
use crate::engine::ReleaseState;
use crate::tui::app::{App, rolling_back};
use crate::tui::theme::Theme;

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    state: &ReleaseState,
    now: DateTime<Utc>,
    app: &App,
    theme: &Theme,
) {
    buf.set_style(area, theme.header);
    let plan = &state.plan;
    let mut parts = vec![format!("shipdeck · {} {}", plan.version, plan.release_type)];
    if state.emergency {
        parts.push("EMERGENCY".into());
    }
    match (state.phase, state.monitoring_until) {
        // Monitoring ends on its own: say when.
        (crate::engine::Phase::Monitoring, Some(until)) => {
            parts.push(format!("MONITORING until {} UTC", until.format("%a %H:%M")))
        }
        (phase, _) => parts.push(phase.as_str().to_uppercase()),
    }
    if state.is_paused() {
        parts.push("PAUSED".into());
    }
    let failed = state.outbox.failed();
    if failed > 0 {
        parts.push(format!(
            "{failed} NOTICE{} FAILED (N resends)",
            if failed == 1 { "" } else { "S" }
        ));
    }
    let roles = plan.roster.roles_of(&app.operator);
    let who = if app.peers.len() > 1 || app.attached {
        presence(&app.peers, &state.captain)
    } else if roles.is_empty() {
        format!("{} (not in roster)", app.operator)
    } else {
        let titles: Vec<String> = roles.iter().map(|r| plan.roster.role_title(r)).collect();
        format!("{} ({})", app.operator, titles.join(", "))
    };
    parts.push(who);
    if app.readonly {
        parts.push("READ-ONLY".into());
    }
    let mut clock = format!("{} UTC", now.format("%H:%M:%S"));
    if let Some(off) = app.local_offset {
        clock.push_str(&format!(
            " · {} local",
            now.with_timezone(&off).format("%H:%M")
        ));
    }
    let clock = format!("{clock} ");
    let width = usize::from(area.width);
    let left_room = width.saturating_sub(clock.chars().count() + 1);
    let left = fit(&format!(" {}", parts.join(" · ")), left_room);
    buf.set_line(
        area.x,
        area.y,
        &Line::from(Span::styled(left, theme.header)),
        area.width,
    );
    let cw = clock.chars().count() as u16;
    if cw <= area.width {
        buf.set_line(
            area.x + area.width - cw,
            area.y,
            &Line::from(Span::styled(clock, theme.header)),
            cw,
        );
    }
}

/// The banner wrapped to `width`, at most `max_rows` rows (the last one cut if it
/// must be): a figure in a pause reason is never cut mid-number at any width
/// where it fits in those rows.
pub fn banner_lines(
    state: &ReleaseState,
    theme: &Theme,
    width: u16,
    max_rows: usize,
) -> Vec<Line<'static>> {
    let Some(line) = banner(state, theme) else {
        return Vec::new();
    };
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let rows = crate::tui::wrap::wrap(&text, usize::from(width).saturating_sub(2));
    let n = rows.len();
    rows.into_iter()
        .take(max_rows)
        .enumerate()
        .map(|(i, r)| {
            let r = if i + 1 == max_rows && n > max_rows {
                fit(&format!("{r} …"), usize::from(width).saturating_sub(1))
            } else {
                r
            };
            Line::from(Span::styled(format!(" {r}"), theme.banner))
        })
        .collect()
}

/// Who is here, as the header says it: `alice (captain) · bob · carol watching`.
/// One entry per person (two sessions of one person are one entry, watching only
/// if every session of theirs is read-only); names from other terminals are
/// cleaned of control characters.
pub fn presence(peers: &[crate::protocol::Peer], captain: &str) -> String {
    let mut people: Vec<(String, bool)> = Vec::new();
    for p in peers {
        match people.iter_mut().find(|(n, _)| *n == p.name) {
            Some((_, watching)) => *watching &= p.readonly,
            None => people.push((p.name.clone(), p.readonly)),
        }
    }
    people
        .iter()
        .map(|(name, watching)| {
            let mut s = crate::protocol::clean_text(name, 32);
            if name == captain {
                s.push_str(" (captain)");
            }
            if *watching {
                s.push_str(" watching");
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The banner line, when there is something to shout about.
pub fn banner(state: &ReleaseState, theme: &Theme) -> Option<Line<'static>> {
    let mut text = String::new();
    if rolling_back(state) && !state.phase.is_final() {
        text.push_str(" ! ROLLING BACK");
        if let Some(d) = state
            .decisions
            .iter()
            .rev()
            .find(|d| d.what.starts_with("rollback of"))
        {
            text.push_str(&format!(
                " {} — {}",
                d.what.trim_start_matches("rollback of "),
                d.actor
            ));
            if !d.reason.is_empty() {
                text.push_str(&format!(": {}", d.reason));
            }
        }
    }
    if let Some(p) = &state.pause {
        if !text.is_empty() {
            text.push_str("  ·");
        }
        text.push_str(&format!(
            " = PAUSED by {} at {}",
            p.actor,
            p.since.format("%H:%M:%S")
        ));
        if !p.reason.is_empty() {
            text.push_str(&format!(": {}", p.reason));
        }
        text.push_str(" — p resumes");
    }
    if text.is_empty() {
        return None;
    }
    Some(Line::from(Span::styled(text, theme.banner)))
}

#[cfg(test)]
mod tests {
    use super::presence;
    use crate::protocol::Peer;

    fn peer(id: u64, name: &str, readonly: bool) -> Peer {
        Peer {
            id,
            name: name.into(),
            user: "u".into(),
            uid: 1000,
            readonly,
            host: id == 0,
        }
    }

    #[test]
    fn presence_names_the_captain_and_who_watches_once_per_person() {
        let peers = [
            peer(0, "alice", false),
            peer(1, "bob", false),
            peer(2, "carol", true),
            peer(3, "bob", true),
            peer(4, "eve\x1b[2J", true),
        ];
        assert_eq!(
            presence(&peers, "alice"),
            "alice (captain) · bob · carol watching · eve?[2J watching"
        );
        assert_eq!(presence(&peers[..2], "bob"), "alice · bob (captain)");
    }
}
