//! What the checklist pane lists: one of several views the operator cycles with
//! `[` and `]`.
//!
//! The first view, "gating", holds every manual item that gates a phase not yet
//! started, whichever list it is in (pre-release, deployment, hotfix in an
//! emergency): the open ones first, each with the wave it holds, then the ticked
//! ones (which can still be unticked). It is the default while any is open, so a
//! wave never waits on an item the pane does not show. Then come the plan's
//! checklists one by one, every one of them reachable at any time (the rollback
//! checklist after a rollback too). Which item holds what is the engine's word
//! (`engine::checklists`); this module only arranges rows.

use crate::domain::{Checklist, ChecklistItem, ChecklistKind};
use crate::engine::state::item_key;
use crate::engine::{CustomerStatus, ReleaseState, checklists};
use crate::tui::app::current_checklist;

/// One view of the pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListView {
    /// Every item that gates what comes next, across lists.
    Gating,
    /// One of the plan's checklists, by index into `plan.checklists`.
    List(usize),
}

/// One row: the item, its list, and for an open gating item what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    pub list: &'a Checklist,
    pub item: &'a ChecklistItem,
    /// Open and gating: the wave (or `validation`) it holds now.
    pub holds: Option<String>,
}

impl Row<'_> {
    pub fn key(&self) -> String {
        item_key(&self.list.id, &self.item.id)
    }
}

/// The views in `[`/`]` order: gating first, then each checklist of the plan.
pub fn views(state: &ReleaseState) -> Vec<ListView> {
    std::iter::once(ListView::Gating)
        .chain((0..state.plan.checklists.len()).map(ListView::List))
        .collect()
}

/// The view to show when the operator has not picked one: the gating items while
/// any is open, else the list that matters now (the rollback list once a
/// customer was rolled back, the hotfix list in an emergency, …).
pub fn default_view(state: &ReleaseState) -> ListView {
    if !state.unticked_gating_all().is_empty() {
        return ListView::Gating;
    }
    let reverted = state.customers.iter().any(|c| {
        matches!(
            c.status,
            CustomerStatus::RolledBack | CustomerStatus::RollingBack
        )
    });
    let chosen = state
        .plan
        .checklist(ChecklistKind::Rollback)
        .filter(|_| reverted)
        .or_else(|| current_checklist(state));
    chosen
        .and_then(|c| state.plan.checklists.iter().position(|l| l.id == c.id))
        .map_or(ListView::Gating, ListView::List)
}

/// The view after (or before) `from` in the ring of views.
pub fn step(state: &ReleaseState, from: ListView, forward: bool) -> ListView {
    let all = views(state);
    let i = all.iter().position(|v| *v == from).unwrap_or(0);
    all[crate::tui::keys::step_around(i, all.len(), forward)]
}

/// The rows of `view`.
pub fn rows(state: &ReleaseState, view: ListView) -> Vec<Row<'_>> {
    match view {
        ListView::List(i) => state
            .plan
            .checklists
            .get(i)
            .map(|list| {
                list.items
                    .iter()
                    .map(|item| Row {
                        list,
                        item,
                        holds: open_hold(state, list, item),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ListView::Gating => {
            let mut open = Vec::new();
            let mut ticked = Vec::new();
            for list in &state.plan.checklists {
                for item in &list.items {
                    let Some(phase) = checklists::holds(state, list, item) else {
                        continue;
                    };
                    if checklists::phase_started(state, phase) {
                        continue;
                    }
                    let row = Row {
                        list,
                        item,
                        holds: open_hold(state, list, item),
                    };
                    if row.holds.is_some() {
                        open.push((phase, row));
                    } else {
                        ticked.push((phase, row));
                    }
                }
            }
            open.sort_by_key(|(p, _)| *p);
            ticked.sort_by_key(|(p, _)| *p);
            open.into_iter().chain(ticked).map(|(_, r)| r).collect()
        }
    }
}

/// What an open, gating item holds now: the wave's name, or `validation`.
fn open_hold(state: &ReleaseState, list: &Checklist, item: &ChecklistItem) -> Option<String> {
    let phase = checklists::holds(state, list, item)?;
    if state.ticks.contains_key(&item_key(&list.id, &item.id))
        || checklists::phase_started(state, phase)
    {
        return None;
    }
    Some(
        checklists::wave_held(state, phase)
            .map_or_else(|| phase.as_str().to_string(), |w| w.to_string()),
    )
}

/// The pane's title for `view`: its name and how much of it is done.
pub fn title(state: &ReleaseState, view: ListView) -> String {
    let rows = rows(state, view);
    let done = rows
        .iter()
        .filter(|r| {
            state.ticks.contains_key(&r.key())
                || matches!(
                    state.checks.get(&r.item.id),
                    Some(crate::engine::state::CheckStatus::Passed(_))
                )
        })
        .count();
    let name = match view {
        ListView::Gating => "gating next".to_string(),
        ListView::List(i) => state
            .plan
            .checklists
            .get(i)
            .map(|l| l.title.clone())
            .unwrap_or_default(),
    };
    format!("{name} {done}/{}", rows.len())
}
