//! What the panes have selected: the wave, the checklist row, the customer (through
//! the filter and sort), and the checklist that matters now.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Focus, is_chord};
use crate::domain::{Checklist, ChecklistKind, TierName};
use crate::engine::state::CustomerState;
use crate::engine::{CustomerStatus, ReleaseState, WaveStatus};
use crate::tui::keys;

impl App {
    /// `a` on the timeline: the selected wave when it still needs a signature
    /// (even if it waits behind an earlier wave: signing ahead is allowed);
    /// otherwise None, and the engine signs the one gate that waits, if one does.
    pub(super) fn approvable_selected_wave(&self, state: &ReleaseState) -> Option<TierName> {
        if self.focus != Focus::Timeline {
            return None;
        }
        let w = state.waves.get(self.wave_sel)?;
        let plan = state.plan.waves.get(self.wave_sel)?;
        let unsigned = plan
            .manual_roles()
            .iter()
            .any(|r| !w.approvals.iter().any(|(signed, _)| signed == r));
        let waiting = matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue);
        (unsigned && waiting).then(|| w.tier.clone())
    }

    pub(super) fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.filter_editing = false,
            KeyCode::Esc => {
                self.filter_editing = false;
                self.filter.clear();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            _ if keys::is_ctrl_c(&key) => self.filter_editing = false,
            // A chord is not text (Alt-x may be Esc then x over a slow link).
            _ if is_chord(&key) => {}
            KeyCode::Char(c) => self.filter.push(c),
            _ => {}
        }
        self.customer_sel = 0;
    }

    pub(super) fn move_sel(&mut self, state: &ReleaseState, delta: isize) {
        let step = |cur: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            match delta {
                isize::MIN => 0,
                isize::MAX => len - 1,
                d if d < 0 => cur.saturating_sub(d.unsigned_abs()),
                d => (cur + d.unsigned_abs()).min(len - 1),
            }
        };
        match self.focus {
            Focus::Timeline => self.wave_sel = step(self.wave_sel, state.waves.len()),
            Focus::Checklist => {
                let len = crate::tui::checklists::rows(state, self.list_view(state)).len();
                self.item_sel = step(self.item_sel, len);
            }
            Focus::Health => {
                let len = self.visible_customers(state).len();
                self.customer_sel = step(self.customer_sel, len);
            }
            Focus::Log => {
                self.log_scroll = step(self.log_scroll, state.decisions.len() + self.notes.len())
            }
        }
    }

    /// Indices into `state.customers` that the health pane lists, filtered and
    /// sorted. Indices only: rows are built later for the visible window alone.
    pub fn visible_customers(&self, state: &ReleaseState) -> Vec<usize> {
        let needle = self.filter.trim().to_lowercase();
        let mut out: Vec<usize> = state
            .customers
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                needle.is_empty()
                    || c.name.to_lowercase().contains(&needle)
                    || c.id.as_str().to_lowercase().contains(&needle)
                    || state
                        .waves
                        .get(c.wave)
                        .is_some_and(|w| w.tier.as_str().to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        if self.sort_by_status {
            out.sort_by_key(|&i| {
                state
                    .customers
                    .get(i)
                    .map_or(u8::MAX, |c| status_rank(c.status))
            });
        }
        out
    }

    /// The checklist view on screen: the operator's pick, else the default.
    pub fn list_view(&self, state: &ReleaseState) -> crate::tui::checklists::ListView {
        self.checklist_view
            .unwrap_or_else(|| crate::tui::checklists::default_view(state))
    }

    pub fn selected_customer<'a>(&self, state: &'a ReleaseState) -> Option<&'a CustomerState> {
        let list = self.visible_customers(state);
        let i = list.get(self.customer_sel.min(list.len().saturating_sub(1)))?;
        state.customers.get(*i)
    }
}

/// Needs-attention first: the order an operator scans a fleet in.
pub fn status_rank(s: CustomerStatus) -> u8 {
    match s {
        CustomerStatus::Failed => 0,
        CustomerStatus::RollingBack => 1,
        CustomerStatus::Deploying => 2,
        CustomerStatus::Verifying => 3,
        CustomerStatus::WaitingWindow => 4,
        CustomerStatus::Pending => 5,
        CustomerStatus::RolledBack => 6,
        CustomerStatus::Healthy => 7,
    }
}

/// Whether a rollback is under way or has ended the release.
pub fn rolling_back(state: &ReleaseState) -> bool {
    state.rolling_back_all
        || state.phase == crate::engine::Phase::RolledBack
        || state
            .customers
            .iter()
            .any(|c| c.status == CustomerStatus::RollingBack)
}

/// The checklist that matters now: rollback during a rollback, hotfix in an
/// emergency, pre-release while any of its gating items is open, else deployment.
pub fn current_checklist(state: &ReleaseState) -> Option<&Checklist> {
    let plan = &state.plan;
    if rolling_back(state) {
        if let Some(c) = plan.checklist(ChecklistKind::Rollback) {
            return Some(c);
        }
    }
    if state.emergency {
        if let Some(c) = plan.checklist(ChecklistKind::Hotfix) {
            return Some(c);
        }
    }
    if let Some(pre) = plan.pre_release() {
        let open = pre.items.iter().any(|i| {
            i.gates.is_some()
                && !i.is_automatic()
                && !state
                    .ticks
                    .contains_key(&crate::engine::state::item_key(&pre.id, &i.id))
        });
        if open
            || matches!(
                state.phase,
                crate::engine::Phase::Planned | crate::engine::Phase::Validating
            )
        {
            return Some(pre);
        }
    }
    plan.checklist(ChecklistKind::Deployment)
        .or_else(|| plan.pre_release())
}
