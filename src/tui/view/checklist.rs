//! The checklist that matters now (see `app::current_checklist`): each item ticked
//! or open, automatic checks with their result, and the phase each one gates.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Widget};

use super::{fit, pad, pane, put, row_style};
use crate::engine::ReleaseState;
use crate::engine::state::{CheckStatus, item_key};
use crate::tui::app::{App, Focus, current_checklist};
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
    let Some(list) = current_checklist(state) else {
        let block = pane(
            strings::PANE_CHECKLIST.into(),
            Focus::Checklist,
            app,
            theme,
            Borders::TOP | Borders::RIGHT,
        );
        let inner = block.inner(area);
        block.render(area, buf);
        put(
            buf,
            inner,
            0,
            &Line::styled(strings::CHECKLIST_NONE, theme.muted),
        );
        return;
    };
    let done = list
        .items
        .iter()
        .filter(|i| {
            state.ticks.contains_key(&item_key(&list.id, &i.id))
                || matches!(state.checks.get(&i.id), Some(CheckStatus::Passed(_)))
        })
        .count();
    let title = format!(
        "{}: {} {done}/{}",
        strings::PANE_CHECKLIST,
        list.title,
        list.items.len()
    );
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
    let width = usize::from(inner.width);
    let focused = app.focus == Focus::Checklist;
    let sel = app.item_sel.min(list.items.len().saturating_sub(1));
    let offset = if sel < h { 0 } else { sel + 1 - h };
    for (row, (idx, item)) in list
        .items
        .iter()
        .enumerate()
        .skip(offset)
        .take(h)
        .enumerate()
    {
        let ticked = state.ticks.get(&item_key(&list.id, &item.id));
        let (mark, tail, style): (&str, String, Style) = if item.is_automatic() {
            match state.checks.get(&item.id) {
                Some(CheckStatus::Passed(_)) => ("[+]", "auto ok".into(), theme.ok),
                Some(CheckStatus::Failed(_)) => ("[!]", "auto FAILED".into(), theme.failed),
                Some(CheckStatus::Running) => ("[~]", "running".into(), theme.in_progress),
                None => ("[.]", "auto".into(), theme.muted),
            }
        } else if let Some(t) = ticked {
            (sym.checked, t.actor.clone(), theme.ok)
        } else {
            let gate = item
                .gates
                .map(|g| g.as_str().to_string())
                .unwrap_or_default();
            (
                sym.unchecked,
                gate,
                if item.gates.is_some() {
                    theme.warning
                } else {
                    Style::new()
                },
            )
        };
        let tail_w = 10.min(width / 3);
        let text_w = width.saturating_sub(4 + tail_w + 1);
        let selected = idx == sel;
        let rs = row_style(selected, focused, theme);
        let line = Line::from(vec![
            Span::styled(mark.to_string(), style.patch(rs)),
            Span::styled(" ", rs),
            Span::styled(pad(&item.text, text_w), rs),
            Span::styled(" ", rs),
            Span::styled(
                format!("{:>tail_w$}", fit(&tail, tail_w)),
                theme.muted.patch(rs),
            ),
        ]);
        put(buf, inner, row as u16, &line);
    }
}
