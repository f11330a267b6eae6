//! Cockpit rendering benchmark: one full frame at 200×60 with 10,000 customers in
//! flight and health samples flowing, the health pane focused mid-list. Only the
//! visible rows should be built, so the cost must not grow with the fleet.

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use shipdeck::domain::{HealthSample, ProbeOutcome, ReleaseType};
use shipdeck::engine::{self, EffectResult, Input, ReleasePlan, ReleaseState, Selection};
use shipdeck::tui::app::{App, Focus};
use shipdeck::tui::theme::Theme;
use shipdeck::tui::view;

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().unwrap()
}

/// A bug-fix release over `n` synthetic customers, past validation, with every
/// customer probed a few times (so sparklines and baselines have data).
fn rolling_out(n: usize) -> (ReleaseState, DateTime<Utc>) {
    let mut cfg = shipdeck::config::load_builtin().unwrap();
    cfg.customers = shipdeck::sim::synthetic_customers(n);
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.2".parse().unwrap(),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .unwrap();
    let mut state = ReleaseState::fold([&engine::plan_event(plan, "alice", t0())]).unwrap();
    let mut now = t0();
    shipdeck::sim::pass_pre_release(&mut state, "alice", now);
    let ids: Vec<_> = state.customers.iter().map(|c| c.id.clone()).collect();
    for round in 0..8 {
        now += TimeDelta::seconds(30);
        for (i, id) in ids.iter().enumerate() {
            let _ = engine::step(
                &mut state,
                &Input::Result(EffectResult::Probed {
                    customer: id.clone(),
                    outcome: ProbeOutcome::Up {
                        sample: HealthSample {
                            error_rate: Some(0.2 + ((i + round) % 7) as f64 * 0.05),
                            latency_p95_ms: Some(100.0 + ((i * 13 + round) % 40) as f64),
                        },
                    },
                }),
                now,
            );
        }
    }
    (state, now)
}

fn bench_frame(c: &mut Criterion) {
    let (state, now) = rolling_out(10_000);
    let theme = Theme::ansi16();
    let mut app = App::new("alice", false, false);
    app.focus = Focus::Health;
    app.customer_sel = 5_000;
    let area = Rect::new(0, 0, 200, 60);
    let mut buf = Buffer::empty(area);
    c.bench_function("render one frame 200x60, 10k customers", |b| {
        b.iter(|| {
            buf.reset();
            view::draw(&mut buf, area, &state, now, &app, &theme);
            buf.content.len()
        })
    });
    let (small, small_now) = rolling_out(14);
    c.bench_function("render one frame 200x60, 14 customers", |b| {
        b.iter(|| {
            buf.reset();
            view::draw(&mut buf, area, &small, small_now, &app, &theme);
            buf.content.len()
        })
    });
}

criterion_group!(benches, bench_frame);
criterion_main!(benches);
