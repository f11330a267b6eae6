//! Engine benchmarks: a tick with 10,000 customers in flight, and replaying
//! (folding) a 1,000,000-event release.

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shipdeck::domain::{CustomerId, ProbeOutcome, ReleaseType, TierName};
use shipdeck::engine::{
    self, EffectResult, Event, EventKind, Input, ReleasePlan, ReleaseState, Selection,
};

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().unwrap()
}

/// A security release whose demo wave holds `n` customers, all deploying at once.
fn in_flight(n: usize) -> ReleaseState {
    let mut cfg = shipdeck::config::load_builtin().unwrap();
    let mut customers = shipdeck::sim::synthetic_customers(n);
    for c in &mut customers {
        c.tier = TierName::new("demo");
    }
    cfg.customers = customers;
    let policy = cfg.policies.get_mut(&ReleaseType::Security).unwrap();
    policy.max_parallel = n as u32;
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .unwrap();
    let mut state = ReleaseState::fold([&engine::plan_event(plan, "alice", t0())]).unwrap();
    shipdeck::sim::pass_pre_release(&mut state, "alice", t0());
    assert_eq!(
        state
            .customers
            .iter()
            .filter(|c| c.status == engine::CustomerStatus::Deploying)
            .count(),
        n
    );
    state
}

fn bench_tick(c: &mut Criterion) {
    let state = in_flight(10_000);
    let now = t0() + TimeDelta::minutes(1);
    c.bench_function("decide+apply tick, 10k customers in flight", |b| {
        b.iter_batched_ref(
            || state.clone(),
            |s| {
                let d = engine::decide(s, &Input::Tick, now).unwrap();
                for e in &d.events {
                    s.apply(e);
                }
                d.events.len()
            },
            BatchSize::LargeInput,
        )
    });
    let result = Input::Result(EffectResult::DeployFinished {
        customer: CustomerId::new("c-05000"),
        ok: true,
        detail: "ok".into(),
    });
    c.bench_function("step on a deploy result, 10k customers in flight", |b| {
        b.iter_batched_ref(
            || state.clone(),
            |s| engine::step(s, &result, now).unwrap().events.len(),
            BatchSize::LargeInput,
        )
    });
}

fn bench_replay(c: &mut Criterion) {
    let state = in_flight(1_000);
    let mut events: Vec<Event> = vec![engine::plan_event(
        engine::ReleasePlan::clone(&state.plan),
        "alice",
        t0(),
    )];
    // The rest of a long release: mostly health samples, as monitoring produces.
    let mut at = t0();
    while events.len() < 1_000_000 {
        at += TimeDelta::milliseconds(250);
        let i = events.len() % 1_000;
        events.push(Event {
            at,
            event: EventKind::HealthSampled {
                customer: CustomerId::new(format!("c-{:05}", i + 1)),
                outcome: ProbeOutcome::Up {
                    sample: shipdeck::domain::HealthSample {
                        error_rate: Some(0.4),
                        latency_p95_ms: Some(120.0),
                    },
                },
            },
        });
    }
    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.bench_function("fold 1,000,000 events", |b| {
        b.iter(|| ReleaseState::fold(&events).unwrap().events_applied)
    });
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    group.bench_function("parse + fold 1,000,000 journal lines", |b| {
        b.iter(|| {
            let parsed: Vec<Event> = lines
                .iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            ReleaseState::fold(&parsed).unwrap().events_applied
        })
    });
    group.finish();
}

criterion_group!(benches, bench_tick, bench_replay);
criterion_main!(benches);
