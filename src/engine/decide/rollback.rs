//! Rollbacks: of a customer, a wave or the whole release (asked for by a person or
//! by a trigger), the notice that goes with one, and the lock that may follow.

use chrono::{DateTime, Utc};

use crate::engine::event::{EventKind, NoticeKind, PauseCause, RollbackScope};
use crate::engine::notices::Draft;
use crate::engine::rejected::Rejected;
use crate::engine::state::{Phase, ReleaseState};

use super::wave_by_name;

pub(super) fn rollback(
    s: &ReleaseState,
    actor: &str,
    scope: RollbackScope,
    reason: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, Rejected> {
    let targets: Vec<usize> = match &scope {
        RollbackScope::Customer(id) => {
            let i = s
                .customer_index(id)
                .ok_or_else(|| Rejected::UnknownCustomer(id.clone()))?;
            vec![i]
        }
        RollbackScope::Wave(t) => {
            let wi = wave_by_name(s, t)?;
            let w = &s.waves[wi];
            (w.first_customer..w.first_customer + w.customer_count).collect()
        }
        RollbackScope::All => (0..s.customers.len()).collect(),
    };
    let touched: Vec<usize> = targets
        .into_iter()
        .filter(|&i| s.customers[i].status.is_touched())
        .collect();
    if touched.is_empty() {
        return Err(Rejected::NothingToRollBack(scope.to_string()));
    }
    if let Some(closed) = s.rollback_window_until {
        if now > closed && !force {
            return Err(Rejected::RollbackWindowClosed { closed });
        }
    }
    let forced = force && s.rollback_window_until.is_some_and(|c| now > c);
    let mut out = vec![EventKind::RollbackRequested {
        scope: scope.clone(),
        actor: actor.to_string(),
        reason: reason.to_string(),
        forced,
    }];
    let mut rolled: Vec<crate::domain::CustomerId> = Vec::new();
    for &i in &touched {
        let c = &s.customers[i];
        out.push(EventKind::RollbackStarted {
            customer: c.id.clone(),
            to: c.from_version.clone(),
        });
        rolled.push(c.id.clone());
    }
    let wave = match &scope {
        RollbackScope::Customer(id) => s.customer(id).map(|c| s.waves[c.wave].tier.clone()),
        RollbackScope::Wave(t) => Some(t.clone()),
        RollbackScope::All => None,
    };
    let notice = Draft::new(
        NoticeKind::Rollback,
        wave,
        format!("rolling back {scope} from {}: {reason}", s.plan.version),
    )
    .customers(rolled)
    .queue(s, &out);
    out.push(notice);
    if scope != RollbackScope::All {
        out.extend(lock_after_rollback(s, actor, reason));
    }
    Ok(out)
}

pub(super) fn lock_after_rollback(
    s: &ReleaseState,
    actor: &str,
    reason: &str,
) -> Option<EventKind> {
    if s.is_paused() || !s.plan.policy.lock_after_rollback || s.phase.is_final() {
        return None;
    }
    if matches!(s.phase, Phase::Monitoring) {
        // Nothing left to start; the lock would only block completion.
        return None;
    }
    Some(EventKind::Paused {
        actor: actor.to_string(),
        reason: format!("after rollback: {reason}"),
        cause: PauseCause::RollbackLock,
    })
}
