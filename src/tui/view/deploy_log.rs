//! The `l` overlay: the tail of the selected customer's deploy log — what its
//! deploy command printed, or its webhook's exchanges — so an operator sees why a
//! deploy is slow or failed without leaving the cockpit. The lines arrive escaped
//! (control characters made visible); `shipdeck logs CUSTOMER` prints the whole log.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{fit, overlay, put};
use crate::tui::app::DeployLogView;
use crate::tui::strings;
use crate::tui::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, view: &DeployLogView, theme: &Theme) {
    let width = area.width.saturating_sub(4);
    let height = area.height.saturating_sub(4);
    let inner = overlay(
        buf,
        area,
        width,
        height,
        theme.accent,
        Line::styled(
            format!(" Deploy log · {} ({}) ", view.name, view.customer),
            theme.header,
        ),
    );
    let w = usize::from(inner.width);
    let rows = usize::from(inner.height.saturating_sub(1));
    match &view.lines {
        None => put(
            buf,
            inner,
            0,
            &Line::styled(fit(strings::DEPLOY_LOG_NONE, w), theme.muted),
        ),
        Some(lines) => {
            let skip = lines.len().saturating_sub(rows);
            for (i, l) in lines[skip..].iter().enumerate() {
                put(buf, inner, i as u16, &Line::raw(fit(l, w)));
            }
        }
    }
    put(
        buf,
        inner,
        inner.height.saturating_sub(1),
        &Line::styled(
            fit(
                &format!(
                    " {} · shipdeck logs {} prints it all",
                    strings::DEPLOY_LOG_FOOTER,
                    view.customer
                ),
                w,
            ),
            theme.muted,
        ),
    );
}
