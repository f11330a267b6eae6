//! The start screen (see `tui::start`): the recent releases over the form, or the
//! plan preview; a message line, a footer with the keys that work, and `?` help.
//!
//! Drawn from the model, the time and the theme only — no clock, no state dir — so
//! snapshot tests draw any state deterministically. The preview is a list of lines
//! scrolled in its pane, so a long plan (many windows, a narrow terminal) is read
//! whole at 80×24 instead of being cut.
//!
//! Why one file (~860 lines of code): the start screen's panes share one layout and
//! the preview's line model; the model and its loop already live in `tui::start` and
//! `tui::start_loop`.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::{fit, pad, put};
use crate::domain::{
    Approval, ChecklistKind, Configuration, GatedPhase, HumanDuration, Policy, TriggerAction,
};
use crate::engine::{Phase, ReleasePlan};
use crate::runtime::history::ReleaseSummary;
use crate::tui::start::{Field, Problems, Stage, StartScreen, text};
use crate::tui::theme::{Symbols, Theme};
use crate::tui::too_small::{TooSmall, is_too_small};
use crate::tui::wrap::wrap as wrap_words;

/// What the loop needs to know about the frame it drew.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drawn {
    /// The too-small screen was drawn instead: only quitting works.
    pub too_small: bool,
    /// The preview's scroll, clamped to its last page.
    pub scroll: u16,
}

/// Width of the form's label column (indent, pointer, label).
const LABEL_COL: usize = 16;
/// Width of the form's value column.
const VALUE_COL: usize = 24;
const TIME_FORMAT: &str = "%a %d %b %H:%M";

/// Draws the start screen (or the too-small screen) into `frame`.
pub fn render(frame: &mut Frame, s: &StartScreen, now: DateTime<Utc>, theme: &Theme) -> Drawn {
    let area = frame.area();
    draw(frame.buffer_mut(), area, s, now, theme)
}

/// Same as [`render`], on a plain buffer.
pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    s: &StartScreen,
    now: DateTime<Utc>,
    theme: &Theme,
) -> Drawn {
    if is_too_small(area.as_size()) {
        TooSmall::new(theme).render(area, buf);
        return Drawn {
            too_small: true,
            scroll: s.scroll,
        };
    }
    let sym = Symbols::DEFAULT;
    let [head, body, msg, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header(buf, head, s, theme);
    let mut scroll = s.scroll;
    match &s.stage {
        Stage::Form => {
            let lines = form_lines(s, theme, &sym, usize::from(area.width));
            // The form keeps its height; the history gets what it needs of the
            // rest (at least its title, column heads and a row), and what is left
            // stays blank below the form.
            let form_h = (lines.len() as u16 + 1).min(body.height.saturating_sub(3));
            let recent_rows = if s.history.is_empty() {
                text::empty_history(&s.state_dir).len()
            } else {
                s.history.len() + 1
            };
            let recent_h = (recent_rows as u16 + 2).min(body.height.saturating_sub(form_h));
            let [recent, form, _] = Layout::vertical([
                Constraint::Length(recent_h),
                Constraint::Length(form_h),
                Constraint::Fill(1),
            ])
            .areas(body);
            recent_pane(buf, recent, s, theme, &sym);
            let inner = section(buf, form, text::PANE_FORM.to_string(), theme);
            for (i, line) in lines.iter().enumerate() {
                put(buf, inner, i as u16, line);
            }
        }
        Stage::Preview(plan) => {
            let lines = preview_lines(&s.cfg, plan, now, theme, &sym, usize::from(area.width));
            let visible = body.height.saturating_sub(1);
            let total = lines.len() as u16;
            scroll = s.scroll.min(total.saturating_sub(visible));
            let mut title = text::PANE_PLAN.to_string();
            if total > visible {
                title.push_str(&format!(
                    " · lines {}–{} of {total} · j/k scroll",
                    scroll + 1,
                    (scroll + visible).min(total)
                ));
            }
            let inner = section(buf, body, title, theme);
            for (i, line) in lines.iter().skip(usize::from(scroll)).enumerate() {
                put(buf, inner, i as u16, line);
            }
        }
    }
    message(buf, msg, s, theme, &sym);
    footer(buf, foot, s, theme);
    if s.help {
        help(buf, area, s, theme);
    }
    Drawn {
        too_small: false,
        scroll,
    }
}

/// A titled rule over `area`; returns what is below it.
fn section(buf: &mut Buffer, area: Rect, title: String, theme: &Theme) -> Rect {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(theme.muted)
        .title(Line::from(Span::styled(format!(" {title} "), theme.header)));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

fn header(buf: &mut Buffer, area: Rect, s: &StartScreen, theme: &Theme) {
    buf.set_style(area, theme.header);
    let roles = s.cfg.roster.roles_of(&s.operator);
    let who = if roles.is_empty() {
        format!("{} (not in roster)", s.operator)
    } else {
        let titles: Vec<String> = roles.iter().map(|r| s.cfg.roster.role_title(r)).collect();
        format!("{} ({})", s.operator, titles.join(", "))
    };
    let mut parts = vec!["shipdeck".to_string()];
    match &s.stage {
        Stage::Form => parts.push(text::TITLE_NO_ACTIVE.to_string()),
        Stage::Preview(plan) => {
            parts.push(text::TITLE_PREVIEW.to_string());
            parts.push(format!("{} {}", plan.version, plan.release_type));
        }
    }
    parts.push(who);
    let line = fit(&format!(" {}", parts.join(" · ")), usize::from(area.width));
    put(buf, area, 0, &Line::styled(line, theme.header));
}

/// The outcome column: a mark and a word, so it reads without colour.
fn outcome(phase: Phase, theme: &Theme, sym: &Symbols) -> (String, Style) {
    let (mark, style) = match phase {
        Phase::Completed => (sym.ok, theme.ok),
        Phase::RolledBack => (sym.failed, theme.failed),
        Phase::Aborted => (sym.warning, theme.warning),
        Phase::Monitoring => (sym.in_progress, theme.in_progress),
        Phase::Planned | Phase::Validating | Phase::Rollout => (sym.in_progress, theme.in_progress),
    };
    (format!("{mark} {}", phase.as_str()), style)
}

/// How long a release ran: `20m`, `1h 02m`, `7d 04h`.
fn took(r: &ReleaseSummary) -> String {
    let Some(end) = r.ended_at else {
        return "—".to_string();
    };
    let mins = (end - r.started_at).num_minutes().max(0);
    let (d, h, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m")
    }
}

fn recent_pane(buf: &mut Buffer, area: Rect, s: &StartScreen, theme: &Theme, sym: &Symbols) {
    let inner = section(buf, area, text::PANE_RECENT.to_string(), theme);
    if inner.height == 0 {
        return;
    }
    if s.history.is_empty() {
        for (i, l) in text::empty_history(&s.state_dir).iter().enumerate() {
            put(
                buf,
                inner,
                i as u16,
                &Line::styled(format!("  {l}"), theme.muted),
            );
        }
        return;
    }
    let wide = inner.width >= 90;
    let mut head = format!(
        "  {} {} {} {} {} ",
        pad("VERSION", 10),
        pad("TYPE", 13),
        pad("OUTCOME", 13),
        pad("STARTED (UTC)", 16),
        pad("BY", 10)
    );
    if wide {
        head.push_str(&format!("{} ", pad("TOOK", 9)));
    }
    head.push_str("CUSTOMERS");
    put(buf, inner, 0, &Line::styled(head, theme.muted));
    let rows = usize::from(inner.height - 1);
    let n = s.history.len();
    let shown = if n > rows { rows.saturating_sub(1) } else { n };
    for (i, r) in s.history.iter().take(shown).enumerate() {
        let (word, style) = outcome(r.phase, theme, sym);
        let mut spans = vec![
            Span::raw(format!(
                "  {} {} ",
                pad(&r.version.to_string(), 10),
                pad(r.release_type.as_str(), 13)
            )),
            Span::styled(pad(&word, 13), style),
            Span::raw(format!(
                " {} {} ",
                pad(&r.started_at.format("%Y-%m-%d %H:%M").to_string(), 16),
                pad(&r.started_by, 10)
            )),
        ];
        if wide {
            spans.push(Span::raw(format!("{} ", pad(&took(r), 9))));
        }
        spans.push(Span::raw(r.customers.to_string()));
        put(buf, inner, 1 + i as u16, &Line::from(spans));
    }
    if shown < n {
        put(
            buf,
            inner,
            1 + shown as u16,
            &Line::styled(
                format!("  … {} older releases not shown", n - shown),
                theme.muted,
            ),
        );
    }
}

/// `text` wrapped into `width`, the first row after `first`, the others after
/// `rest` (a hanging indent), all in `style`.
fn wrapped(
    out: &mut Vec<Line<'static>>,
    first: &str,
    rest: &str,
    text: &str,
    style: Style,
    width: usize,
) {
    let room = width.saturating_sub(first.chars().count().max(rest.chars().count()));
    for (i, row) in wrap_words(text, room).into_iter().enumerate() {
        let lead = if i == 0 { first } else { rest };
        out.push(Line::styled(format!("{lead}{row}"), style));
    }
}

/// A form row: pointer, label, value and a hint after it.
fn field_row(
    s: &StartScreen,
    field: Field,
    label: &str,
    value: Span<'static>,
    hint: Span<'static>,
    theme: &Theme,
    sym: &Symbols,
) -> Line<'static> {
    let focused = s.field == field && s.stage == Stage::Form;
    let mark = if focused { sym.pointer } else { " " };
    let label_style = if focused {
        theme.accent.add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let value_width = VALUE_COL.max(value.content.chars().count() + 2);
    let value = Span::styled(pad(&value.content, value_width), value.style);
    Line::from(vec![
        Span::raw(format!("  {mark} ")),
        Span::styled(pad(label, LABEL_COL - 4), label_style),
        value,
        hint,
    ])
}

fn error_rows(out: &mut Vec<Line<'static>>, problem: &str, style: Style, mark: &str, width: usize) {
    let first = format!("{}{mark} ", " ".repeat(LABEL_COL));
    let rest = " ".repeat(LABEL_COL + mark.chars().count() + 1);
    wrapped(out, &first, &rest, problem, style, width);
}

/// A delay as policies are read: whole days in days (`3d`), else `15m`, `2h`.
fn short_duration(d: HumanDuration) -> String {
    let secs = d.as_secs();
    if secs > 0 && secs % 86_400 == 0 {
        format!("{}d", secs / 86_400)
    } else {
        d.to_string()
    }
}

/// The type's schedule: "after demo: startup +2h · standard +6h · enterprise +12h".
pub fn type_schedule(policy: &Policy) -> String {
    let waves: Vec<String> = policy
        .waves
        .iter()
        .skip(1)
        .map(|w| format!("{} +{}", w.tier.as_str(), short_duration(w.delay)))
        .collect();
    let first = policy.waves.first().map_or("demo", |w| w.tier.as_str());
    format!("after {first}: {}", waves.join(" · "))
}

/// The type's gates in few words: "automatic, notified", "approval: qa_lead,
/// product_owner" (every role any wave needs, once).
pub fn type_gates(policy: &Policy) -> String {
    let mut gates: Vec<String> = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    for w in policy.waves.iter().skip(1) {
        match &w.approval {
            Approval::Manual { roles: r } => {
                for role in r {
                    let name = role.as_str().to_string();
                    if !roles.contains(&name) {
                        roles.push(name);
                    }
                }
            }
            other => {
                let g = short_gate(other);
                if !gates.contains(&g) {
                    gates.push(g);
                }
            }
        }
    }
    if !roles.is_empty() {
        gates.push(format!("approval: {}", roles.join(", ")));
    }
    gates.join(" · ")
}

/// A gate in few words, for narrow columns.
fn short_gate(a: &Approval) -> String {
    match a {
        Approval::Automatic => "automatic".into(),
        Approval::AutomaticWithNotification => "automatic, notified".into(),
        Approval::MaintenanceWindow => "maintenance window".into(),
        Approval::Manual { roles } => {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            format!("approval: {}", names.join(" + "))
        }
    }
}

fn form_lines(s: &StartScreen, theme: &Theme, sym: &Symbols, width: usize) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let problems = if s.show_problems {
        s.check().err().unwrap_or_default()
    } else {
        Problems::default()
    };
    let cursor = |f: Field| if s.field == f { "_" } else { "" };
    let indent = " ".repeat(LABEL_COL);

    // Version.
    let hint = match s.base() {
        Some(b) => b.source,
        None => "no earlier release known".to_string(),
    };
    out.push(field_row(
        s,
        Field::Version,
        text::LABEL_VERSION,
        Span::raw(format!("{}{}", s.version, cursor(Field::Version))),
        Span::styled(hint, theme.muted),
        theme,
        sym,
    ));
    if let Some(p) = &problems.version {
        error_rows(&mut out, p, theme.failed, sym.failed, width);
    }

    // Type.
    match s.release_type() {
        Some(t) => {
            let policy = s.cfg.policy(t);
            let hint = policy.map_or_else(String::new, |p| {
                format!("urgency {} · {}", p.urgency.as_str(), type_gates(p))
            });
            out.push(field_row(
                s,
                Field::Type,
                text::LABEL_TYPE,
                Span::raw(format!("< {t} >")),
                Span::styled(hint, theme.muted),
                theme,
                sym,
            ));
            if let Some(p) = policy {
                out.push(Line::styled(
                    fit(&format!("{indent}{}", type_schedule(p)), width),
                    theme.muted,
                ));
            }
            if t.is_patch() {
                out.push(Line::styled(
                    fit(&format!("{indent}{}", text::EMERGENCY_HOWTO), width),
                    theme.muted,
                ));
            }
        }
        None => out.push(field_row(
            s,
            Field::Type,
            text::LABEL_TYPE,
            Span::raw("—"),
            Span::raw(""),
            theme,
            sym,
        )),
    }
    if let Some(p) = &problems.release_type {
        error_rows(&mut out, p, theme.failed, sym.failed, width);
    }

    // Customers.
    out.push(field_row(
        s,
        Field::Customers,
        text::LABEL_CUSTOMERS,
        Span::raw(format!("{}{}", s.customers, cursor(Field::Customers))),
        Span::styled(text::CUSTOMERS_SYNTAX, theme.muted),
        theme,
        sym,
    ));
    match s.selection_plan() {
        Some(Ok(plan)) => {
            let per_wave: Vec<String> = plan
                .waves
                .iter()
                .map(|w| format!("{} {}", w.tier.as_str(), w.customers.len()))
                .collect();
            out.push(Line::styled(
                fit(
                    &format!(
                        "{indent}→ {} customers: {}",
                        plan.customer_count(),
                        per_wave.join(" · ")
                    ),
                    width,
                ),
                theme.ok,
            ));
        }
        Some(Err(e)) if s.show_problems => {
            error_rows(&mut out, &e, theme.failed, sym.failed, width);
        }
        Some(Err(e)) => error_rows(&mut out, &e, theme.warning, sym.warning, width),
        None => {}
    }

    // The button.
    let focused = s.field == Field::ShowPlan;
    let mark = if focused { sym.pointer } else { " " };
    let style = if focused {
        theme.selected
    } else {
        theme.accent
    };
    out.push(Line::from(vec![
        Span::raw(format!("  {mark} {}", " ".repeat(LABEL_COL - 4))),
        Span::styled(text::BUTTON_SHOW_PLAN, style),
    ]));
    out
}

/// Names that fit in `width`, then "+N more".
fn names_fitting(names: &[String], width: usize) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        let sep = if out.is_empty() { "" } else { ", " };
        let rest = names.len() - i - 1;
        let tail = if rest > 0 {
            format!(", +{rest} more")
        } else {
            String::new()
        };
        let candidate = format!("{out}{sep}{name}");
        if candidate.chars().count() + tail.chars().count() > width {
            let more = names.len() - i;
            return format!("{out}{sep}+{more} more");
        }
        out = candidate;
    }
    out
}

fn trigger_action(a: TriggerAction) -> &'static str {
    match a {
        TriggerAction::RollbackCustomerAndPause => "roll the customer back and pause",
        TriggerAction::RollbackAll => "roll back everything deployed",
        TriggerAction::PauseOnly => "pause for people to decide",
    }
}

/// The plan preview, as lines for a pane `width` wide.
pub fn preview_lines(
    cfg: &Configuration,
    plan: &ReleasePlan,
    now: DateTime<Utc>,
    theme: &Theme,
    sym: &Symbols,
    width: usize,
) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let p = &plan.policy;
    out.push(Line::styled(
        fit(&format!(" {}", plan.headline()), width),
        theme.header,
    ));
    if plan.emergency {
        wrapped(
            &mut out,
            &format!(" {} ", sym.warning),
            "   ",
            "emergency: every tier follows the demo wave; approvals and windows are \
             skipped (and recorded); the hotfix checklist gates the phases",
            theme.warning,
            width,
        );
    }
    out.push(Line::raw(""));

    // The waves.
    let fixed = 2 + 11 + 6 + 20 + 16;
    let gate_w = width.saturating_sub(fixed + 2).clamp(12, 40);
    out.push(Line::styled(
        format!(
            "  {}{}{} {}{}",
            pad("WAVE", 11),
            format_args!("{:>5} ", "CUST"),
            pad("GATE", gate_w),
            pad("START", 20),
            "EARLIEST (UTC)"
        ),
        theme.muted,
    ));
    let anchor = now + plan.demo_duration(cfg).to_delta();
    for (i, w) in plan.waves.iter().enumerate() {
        let delay = plan.effective_delay(i, plan.emergency);
        let (gate, gate_style) = if i > 0 && plan.emergency {
            match &w.approval {
                Approval::Manual { .. } => ("skipped: emergency".to_string(), theme.warning),
                _ => ("automatic (emergency)".to_string(), Style::new()),
            }
        } else {
            let style = match &w.approval {
                Approval::Manual { .. } => theme.warning,
                Approval::MaintenanceWindow => theme.in_progress,
                _ => Style::new(),
            };
            (short_gate(&w.approval), style)
        };
        let (start, earliest) = if i == 0 {
            ("after validation".to_string(), now)
        } else if plan.emergency {
            ("right after demo".to_string(), anchor)
        } else if w.in_windows() {
            (
                format!("demo +{}, windows", short_duration(delay)),
                anchor + delay.to_delta(),
            )
        } else {
            (
                format!("demo +{}", short_duration(delay)),
                anchor + delay.to_delta(),
            )
        };
        out.push(Line::from(vec![
            Span::styled(format!("  {}", pad(w.tier.as_str(), 11)), theme.header),
            Span::raw(format!("{:>5} ", w.customers.len())),
            Span::styled(pad(&gate, gate_w), gate_style),
            Span::raw(" "),
            Span::raw(pad(&start, 20)),
            Span::raw(earliest.format(TIME_FORMAT).to_string()),
        ]));
        let names: Vec<String> = w.customers.iter().map(|c| c.name.clone()).collect();
        out.push(Line::styled(
            format!("      {}", names_fitting(&names, width.saturating_sub(7))),
            theme.muted,
        ));
    }
    out.push(Line::raw(""));

    // The gates.
    out.push(Line::styled(" Gates", theme.header));
    let key = |k: &str| format!("   {}", pad(k, 12));
    let manual: Vec<String> = plan
        .waves
        .iter()
        .filter(|w| !w.manual_roles().is_empty())
        .map(|w| {
            let roles: Vec<&str> = w.manual_roles().iter().map(|r| r.as_str()).collect();
            format!("{}: {}", w.tier.as_str(), roles.join(" + "))
        })
        .collect();
    let approvals = if manual.is_empty() {
        "none: every wave starts on its own when it is due".to_string()
    } else if plan.emergency {
        format!("skipped (emergency), recorded: {}", manual.join(" · "))
    } else {
        let mut rules = Vec::new();
        if !p.approvals.starter_may_approve {
            rules.push("the starter may not sign");
        }
        if !p.approvals.one_person_many_roles {
            rules.push("one person signs one role");
        }
        let rules = if rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", rules.join("; "))
        };
        format!("{}{rules}", manual.join(" · "))
    };
    wrapped(
        &mut out,
        &key("approvals"),
        &" ".repeat(15),
        &approvals,
        Style::new(),
        width,
    );
    let mut windows: Vec<(String, Vec<String>)> = Vec::new();
    if !plan.emergency {
        for w in &plan.waves {
            for c in &w.customers {
                if !(c.window_only || w.in_windows()) {
                    continue;
                }
                let Some(win) = &c.window else { continue };
                let d = win.describe();
                match windows.iter_mut().find(|(k, _)| *k == d) {
                    Some((_, names)) => names.push(c.name.clone()),
                    None => windows.push((d, vec![c.name.clone()])),
                }
            }
        }
    }
    let windows_text = if windows.is_empty() {
        "none: no customer waits for a maintenance window".to_string()
    } else {
        windows
            .iter()
            .map(|(d, names)| {
                if names.len() > 3 {
                    format!("{} customers in {d}", names.len())
                } else {
                    format!("{} in {d}", names.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(" · ")
    };
    wrapped(
        &mut out,
        &key("windows"),
        &" ".repeat(15),
        &windows_text,
        Style::new(),
        width,
    );
    let notices: Vec<&str> = plan
        .waves
        .iter()
        .enumerate()
        .filter(|(i, _)| plan.wave_has_pre_notice(*i))
        .map(|(_, w)| w.tier.as_str())
        .collect();
    if !notices.is_empty() {
        wrapped(
            &mut out,
            &key("notices"),
            &" ".repeat(15),
            &format!(
                "before deploying {} (sent when the demo wave completes)",
                notices.join(", ")
            ),
            Style::new(),
            width,
        );
    }
    out.push(Line::raw(""));

    // The checklists that gate phases.
    out.push(Line::styled(
        " Checklists that gate the release (ticked in the cockpit)",
        theme.header,
    ));
    for phase in [
        GatedPhase::Validation,
        GatedPhase::Demo,
        GatedPhase::Customers,
    ] {
        // Pre-release items bare, other lists' under their name: the same item id
        // may be in two lists (a hotfix's rollback-plan and a bug fix's), and
        // each is ticked on its own.
        let mut parts: Vec<String> = Vec::new();
        let mut auto: Vec<String> = Vec::new();
        for list in plan.gating_checklists(plan.emergency) {
            let mut manual: Vec<&str> = Vec::new();
            for item in &list.items {
                if item.is_automatic() {
                    if item.gates.unwrap_or(GatedPhase::Validation) == phase {
                        auto.push(item.id.clone());
                    }
                } else if item.gates == Some(phase) {
                    manual.push(&item.id);
                }
            }
            if manual.is_empty() {
                continue;
            }
            if list.kind == ChecklistKind::PreRelease {
                parts.push(manual.join(", "));
            } else {
                parts.push(format!("{}: {}", list.id, manual.join(", ")));
            }
        }
        if !auto.is_empty() {
            parts.push(format!("automatic: {}", auto.join(", ")));
        }
        if parts.is_empty() {
            parts.push("nothing to tick".to_string());
        }
        wrapped(
            &mut out,
            &key(phase.as_str()),
            &" ".repeat(15),
            &parts.join(" · "),
            Style::new(),
            width,
        );
    }
    out.push(Line::raw(""));

    // What follows every deploy.
    wrapped(
        &mut out,
        " ",
        " ",
        &format!(
            "After each deploy the customer soaks {}; rollback window {} after completion; \
             monitoring {}{}.",
            p.soak,
            p.rollback_window,
            p.monitoring.period,
            if crate::engine::query::enhanced_monitoring(plan, plan.emergency) {
                " (enhanced)"
            } else {
                ""
            }
        ),
        theme.muted,
        width,
    );
    wrapped(
        &mut out,
        " ",
        " ",
        &format!(
            "Triggers: {} failed checks in a row, error rate +{} points or p95 +{}% over the \
             baseline (held over {} checks): {}.",
            p.triggers.consecutive_failures,
            p.triggers.error_rate_points,
            p.triggers.latency_p95_percent,
            p.triggers.window,
            trigger_action(p.triggers.action)
        ),
        theme.muted,
        width,
    );
    out
}

fn message(buf: &mut Buffer, area: Rect, s: &StartScreen, theme: &Theme, sym: &Symbols) {
    let width = usize::from(area.width);
    let line = match (&s.message, &s.stage) {
        (Some(m), _) => Line::styled(fit(&format!(" {} {m}", sym.warning), width), theme.failed),
        (None, Stage::Preview(_)) => Line::styled(
            fit(&format!(" {}", text::PREVIEW_HINT), width),
            theme.accent,
        ),
        (None, Stage::Form) => return,
    };
    put(buf, area, 0, &line);
}

fn footer(buf: &mut Buffer, area: Rect, s: &StartScreen, theme: &Theme) {
    let (keys, global) = if s.help {
        (text::FOOTER_HELP, "")
    } else {
        match (&s.stage, s.field) {
            (Stage::Preview(_), _) => (text::FOOTER_PREVIEW, text::FOOTER_GLOBAL),
            (Stage::Form, f) if f.is_text() => (text::FOOTER_TEXT_FIELD, text::FOOTER_GLOBAL_TEXT),
            (Stage::Form, Field::Type) => (text::FOOTER_TYPE, text::FOOTER_GLOBAL),
            (Stage::Form, _) => (text::FOOTER_BUTTON, text::FOOTER_GLOBAL),
        }
    };
    let status = match s.stage {
        Stage::Form => text::STATUS_FORM,
        Stage::Preview(_) => text::STATUS_PREVIEW,
    };
    let status = format!(" {status} ");
    let width = usize::from(area.width);
    let room = width.saturating_sub(status.chars().count());
    let left = fit(&format!(" {keys}  {global}"), room);
    buf.set_style(area, theme.muted);
    put(buf, area, 0, &Line::styled(left, theme.muted));
    let sw = status.chars().count() as u16;
    if sw <= area.width {
        buf.set_line(
            area.x + area.width - sw,
            area.y,
            &Line::styled(status, theme.header),
            sw,
        );
    }
}

fn help(buf: &mut Buffer, area: Rect, s: &StartScreen, theme: &Theme) {
    let rows = match s.stage {
        Stage::Form => text::HELP_FORM,
        Stage::Preview(_) => text::HELP_PREVIEW,
    };
    let width = area.width.saturating_sub(4).min(72);
    super::help::key_table(
        buf,
        area,
        width,
        text::HELP_TITLE,
        rows,
        19,
        text::FOOTER_HELP,
        theme,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_do_not_fit_are_counted() {
        let names: Vec<String> = ["Globex", "Initech", "Umbrella Health", "Hooli"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            names_fitting(&names, 80),
            "Globex, Initech, Umbrella Health, Hooli"
        );
        assert_eq!(names_fitting(&names, 26), "Globex, Initech, +2 more");
    }
}
