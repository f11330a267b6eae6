//! The checklist pane: the view the operator picked with `[`/`]`, else the items
//! that gate what comes next (see `tui::checklists`). Each item ticked (by whom)
//! or open; an open gating item shows the wave it holds; automatic checks show
//! their result.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Widget};

use super::{fit, pad, pane, put, row_style};
use crate::domain::escape;
use crate::engine::ReleaseState;
use crate::engine::state::{CheckStatus, item_key};
use crate::tui::app::{App, Focus};
use crate::tui::checklists;
use crate::tui::strings;
use crate::tui::theme::{Symbols, Theme};

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    state: &ReleaseState,
    app: &App,
    theme: &Theme,
    sym: &Symbols,
) {
    let view = app.list_view(state);
    let rows = checklists::rows(state, view);
    // The list's name and count matter more than the pane's name: drop the
    // latter when the pane is narrow (4 = the frame's spaces and focus mark).
    let name = escape(&checklists::title(state, view)).into_owned();
    let full = format!("{}: {name}", strings::PANE_CHECKLIST);
    let title = if full.chars().count() + 4 < usize::from(area.width) {
        full
    } else {
        name
    };
    let block = pane(
        title,
        Focus::Checklist,
        app,
        theme,
        Borders::TOP | Borders::RIGHT,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let h = usize::from(inner.height);
    if h == 0 {
        return;
    }
    if rows.is_empty() {
        let empty = if view == checklists::ListView::Gating {
            strings::CHECKLIST_NO_GATES
        } else {
            strings::CHECKLIST_NONE
        };
        put(buf, inner, 0, &Line::styled(empty, theme.muted));
        return;
    }
    let width = usize::from(inner.width);
    let focused = app.focus == Focus::Checklist;
    let sel = app.item_sel.min(rows.len().saturating_sub(1));
    let offset = if sel < h { 0 } else { sel + 1 - h };
    for (row, (idx, r)) in rows.iter().enumerate().skip(offset).take(h).enumerate() {
        let item = r.item;
        let ticked = state.ticks.get(&item_key(&r.list.id, &item.id));
        let (mark, tail, style): (&str, String, Style) = if item.is_automatic() {
            match state.checks.get(&item.id) {
                Some(CheckStatus::Passed(_)) => ("[+]", "auto ok".into(), theme.ok),
                Some(CheckStatus::Failed(_)) => ("[!]", "auto FAILED".into(), theme.failed),
                Some(CheckStatus::Running) => ("[~]", "running".into(), theme.in_progress),
                None => ("[.]", "auto".into(), theme.muted),
            }
        } else if let Some(t) = ticked {
            (sym.checked, t.actor.clone(), theme.ok)
        } else if let Some(holds) = &r.holds {
            // Open and gating: the wave it holds, so nothing waits unseen.
            (sym.unchecked, holds.clone(), theme.warning)
        } else {
            (sym.unchecked, String::new(), Style::new())
        };
        let tail_w = 10.min(width / 3);
        let text_w = width.saturating_sub(4 + tail_w + 1);
        let selected = idx == sel;
        let rs = row_style(selected, focused, theme);
        let tail_style = if r.holds.is_some() && ticked.is_none() {
            theme.warning.patch(rs)
        } else {
            theme.muted.patch(rs)
        };
        let line = Line::from(vec![
            Span::styled(mark.to_string(), style.patch(rs)),
            Span::styled(" ", rs),
            Span::styled(pad(&item.text, text_w), rs),
            Span::styled(" ", rs),
            Span::styled(format!("{:>tail_w$}", fit(&tail, tail_w)), tail_style),
        ]);
        put(buf, inner, row as u16, &line);
    }
}
