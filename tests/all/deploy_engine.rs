//! The engine's part in real deploys, on a manual clock: a retry reported for the
//! deploy in flight becomes a journaled `deploy_retried` (so the attempt survives a
//! crash), only forward and only while the customer deploys or rolls back; folding
//! the journal rebuilds the attempt; the start instants that idempotency keys are
//! derived from are in the state.

use chrono::{DateTime, Utc};
use shipdeck::config;
use shipdeck::domain::{CustomerId, ReleaseType};
use shipdeck::engine::{
    self, CustomerStatus, EffectResult, Event, EventKind, Input, ReleasePlan, ReleaseState,
    Selection,
};
use shipdeck::runtime::effects::idempotency_key;
use shipdeck::sim::pass_pre_release;

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().unwrap()
}

fn deploying() -> (ReleaseState, Vec<Event>, CustomerId) {
    let cfg = config::load_builtin().unwrap();
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .unwrap();
    let first = engine::plan_event(plan, "alice", t0());
    let mut state = ReleaseState::fold([&first]).unwrap();
    let mut log = vec![first];
    log.extend(pass_pre_release(&mut state, "alice", t0()));
    let d = engine::step(&mut state, &Input::Tick, t0()).unwrap();
    log.extend(d.events);
    let id = state
        .customers
        .iter()
        .find(|c| c.status == CustomerStatus::Deploying)
        .expect("the demo wave deploys")
        .id
        .clone();
    (state, log, id)
}

fn retry(state: &mut ReleaseState, id: &CustomerId, attempt: u32) -> Vec<Event> {
    let input = Input::Result(EffectResult::DeployRetrying {
        customer: id.clone(),
        attempt,
        reason: "HTTP 500 from https://deploy.example.com/hook".into(),
    });
    engine::step(state, &input, t0()).unwrap().events
}

#[test]
fn a_retry_of_the_deploy_in_flight_is_journaled_forward_only() {
    let (mut state, mut log, id) = deploying();
    assert_eq!(state.customer(&id).unwrap().attempt, 1);
    let events = retry(&mut state, &id, 2);
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].event, EventKind::DeployRetried { customer, attempt: 2, reason } if customer == &id && reason.starts_with("HTTP 500"))
    );
    assert_eq!(events[0].decision(), None, "progress, not a decision");
    log.extend(events);
    assert_eq!(state.customer(&id).unwrap().attempt, 2);
    // A late report of an older attempt, or the same one twice, changes nothing.
    assert!(retry(&mut state, &id, 2).is_empty());
    assert!(retry(&mut state, &id, 1).is_empty());
    // The journal rebuilds the attempt: what a resumed runtime re-issues with.
    let folded = ReleaseState::fold(&log).unwrap();
    assert_eq!(folded.customer(&id).unwrap().attempt, 2);
    // A customer not deploying takes no retry.
    let idle = state
        .customers
        .iter()
        .find(|c| c.status == CustomerStatus::Pending)
        .unwrap()
        .id
        .clone();
    assert!(retry(&mut state, &idle, 2).is_empty());
}

#[test]
fn the_key_comes_from_journaled_facts_and_a_rollback_gets_its_own() {
    let (mut state, mut log, id) = deploying();
    let c = state.customer(&id).unwrap().clone();
    let started = c.deploy_started_at.expect("journaled start");
    let key = idempotency_key("v1.0.1", &id, &state.plan.version, false, started);
    // Stable: the same facts after a fold give the same key.
    let folded = ReleaseState::fold(&log).unwrap();
    let again = folded.customer(&id).unwrap().deploy_started_at.unwrap();
    assert_eq!(
        idempotency_key("v1.0.1", &id, &folded.plan.version, false, again),
        key
    );
    assert!(key.starts_with("shipdeck-") && key.len() == "shipdeck-".len() + 32);
    // The deploy fails: the rollback starts, with its own instant and attempt 1.
    retry(&mut state, &id, 2);
    let later = t0() + chrono::TimeDelta::minutes(3);
    let d = engine::step(
        &mut state,
        &Input::Result(EffectResult::DeployFinished {
            customer: id.clone(),
            ok: false,
            detail: "exit 3: boom".into(),
        }),
        later,
    )
    .unwrap();
    log.extend(d.events);
    let c = state.customer(&id).unwrap();
    assert_eq!(c.status, CustomerStatus::RollingBack);
    assert_eq!(c.attempt, 1);
    assert_eq!(c.rollback_started_at, Some(later));
    let back = idempotency_key("v1.0.1", &id, &c.from_version, true, later);
    assert_ne!(back, key);
    assert_eq!(
        ReleaseState::fold(&log)
            .unwrap()
            .customer(&id)
            .unwrap()
            .rollback_started_at,
        Some(later)
    );
}
