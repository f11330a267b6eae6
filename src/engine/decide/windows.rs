//! Maintenance windows: which customers must deploy inside one, whether they wait
//! for its next opening now, and who is still held by one.

use chrono::{DateTime, Utc};

use crate::engine::event::EventKind;
use crate::engine::state::{CustomerStatus, ReleaseState};

/// The maintenance window customer `offset` of wave `wi` must deploy in, if it
/// must deploy in one now: its wave deploys in windows or it is window-only, the
/// release is not in emergency mode, and no operator skipped its wait.
pub fn window_of(
    s: &ReleaseState,
    wi: usize,
    offset: usize,
) -> Option<&crate::domain::MaintenanceWindow> {
    let plan = s.plan.waves.get(wi)?;
    let cp = plan.customers.get(offset)?;
    let c = s.wave_customers(wi).get(offset)?;
    // An emergency skips the tier's windows, never a customer held to its own
    // (`window_only`) unless the operator named it; a skipped wait skips either.
    let windowed = ((plan.in_windows() && !s.emergency)
        || (cp.window_only && !s.windows_overridden.contains(&c.id)))
        && !c.window_skipped;
    if windowed { cp.window.as_ref() } else { None }
}

/// Whether a customer bound to `win` must wait rather than deploy at `now`, and
/// what that wait records. Waiting means waiting for the *next* opening: a window
/// that opened and closed while nobody acted on it is reported as missed and holds
/// the customer until a person confirms (or skips the wait); it is never waited
/// for again.
pub(super) fn window_wait(
    c: &crate::engine::state::CustomerState,
    win: &crate::domain::MaintenanceWindow,
    now: DateTime<Utc>,
) -> Option<Vec<EventKind>> {
    if c.window_missed.is_some() {
        return Some(Vec::new());
    }
    if win.is_open(now) {
        return None;
    }
    let events = match (c.status, c.window_opens_at) {
        (CustomerStatus::Pending, _) => win
            .next_open(now)
            .map(|opens_at| EventKind::CustomerWaitingForWindow {
                customer: c.id.clone(),
                opens_at,
            })
            .into_iter()
            .collect(),
        (CustomerStatus::WaitingWindow, Some(opened)) if opened <= now => {
            vec![EventKind::CustomerWindowMissed {
                customer: c.id.clone(),
                missed: opened,
                next: win.next_open(now),
            }]
        }
        _ => Vec::new(),
    };
    Some(events)
}

/// Customers of wave `wi` still waiting for (or held by) their maintenance window.
pub fn window_waiters(s: &ReleaseState, wi: usize) -> Vec<crate::domain::CustomerId> {
    s.wave_customers(wi)
        .iter()
        .enumerate()
        .filter(|(offset, c)| {
            matches!(
                c.status,
                CustomerStatus::Pending | CustomerStatus::WaitingWindow
            ) && window_of(s, wi, *offset).is_some()
        })
        .map(|(_, c)| c.id.clone())
        .collect()
}
