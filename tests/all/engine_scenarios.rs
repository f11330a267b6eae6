//! Given/when/then scenarios for the rollout engine on a manual clock: whole seed
//! timelines in milliseconds, with a small simulated world answering effects.

use chrono::{DateTime, TimeDelta, Utc};
use shipdeck::config;
use shipdeck::domain::{
    Configuration, CustomerId, HealthSample, ProbeOutcome, ReleaseType, Role, TierName,
    TriggerAction, Version,
};
use shipdeck::engine::testkit::Drill;
use shipdeck::engine::triggers::TriggerKind;
use shipdeck::engine::{
    self, Command, CustomerStatus, EffectResult, Event, EventKind, Gate, Input, Phase, Rejected,
    ReleasePlan, ReleaseState, RollbackScope, Selection, WaveStatus,
};

/// A Monday morning, far from every maintenance window's edge.
fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().unwrap()
}

/// The scenarios' way to start a drill and check it, over the one test kit's
/// [`Drill`] (a release on a manual clock against a small simulated world).
trait Scenario: Sized {
    fn start(t: ReleaseType, version: &str, emergency: bool) -> Self {
        Self::start_as(t, version, emergency, "alice")
    }

    fn start_as(t: ReleaseType, version: &str, emergency: bool, actor: &str) -> Self {
        let cfg = config::load_builtin().expect("built-in config");
        Self::start_with(cfg, t, version, emergency, actor)
    }

    fn start_with(
        cfg: Configuration,
        t: ReleaseType,
        version: &str,
        emergency: bool,
        actor: &str,
    ) -> Self;
    fn demo_done(&self) -> DateTime<Utc>;
    /// Replaying the journal rebuilds exactly the live state.
    fn assert_replay_matches(&self);
    fn assert_nobody_deployed_twice(&self);
}

impl Scenario for Drill {
    fn start_with(
        cfg: Configuration,
        t: ReleaseType,
        version: &str,
        emergency: bool,
        actor: &str,
    ) -> Drill {
        let plan = ReleasePlan::build(&cfg, version.parse().unwrap(), t, Selection::All, emergency)
            .unwrap();
        Drill::new(plan, actor, t0()).unwrap()
    }

    fn demo_done(&self) -> DateTime<Utc> {
        self.at_of(|e| matches!(e, EventKind::WaveCompleted { wave } if wave.as_str() == "demo"))
            .expect("demo completed")
    }

    fn assert_replay_matches(&self) {
        self.replay_matches().unwrap();
    }

    fn assert_nobody_deployed_twice(&self) {
        for (c, n) in &self.deploys {
            assert_eq!(*n, 1, "{c} deployed {n} times");
        }
    }
}

fn minutes(m: i64) -> TimeDelta {
    TimeDelta::minutes(m)
}

#[test]
fn security_timeline_runs_to_completion_on_the_seed_schedule() {
    // Given a security patch with its gating checklist items ticked
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.tick_gating_items("alice");
    // When the world runs for ten days (the regulated bank's window is on Saturday)
    d.run_until(t0() + TimeDelta::days(10));
    // Then demo, then startup +15m, standard +30m, enterprise +1h after the demo wave
    let anchor = d.demo_done();
    assert_eq!(d.wave_started("startup"), Some(anchor + minutes(15)));
    assert_eq!(d.wave_started("standard"), Some(anchor + minutes(30)));
    assert_eq!(d.wave_started("enterprise"), Some(anchor + minutes(60)));
    // and the demo wave started right after validation (one check, one minute)
    assert_eq!(d.wave_started("demo"), Some(t0() + minutes(1)));
    assert!(
        d.at_of(|e| matches!(e, EventKind::RolloutCompleted { .. }))
            .is_some()
    );
    assert_eq!(
        d.state.phase,
        Phase::Completed,
        "48h monitoring ends within ten days"
    );
    let completed = d.at_of(|e| matches!(e, EventKind::Completed)).unwrap();
    let rolled_out = d
        .at_of(|e| matches!(e, EventKind::RolloutCompleted { .. }))
        .unwrap();
    assert_eq!(
        completed - rolled_out,
        TimeDelta::hours(48),
        "enhanced monitoring period"
    );
    d.assert_nobody_deployed_twice();
    assert_eq!(
        d.deploys.len(),
        d.state.customers.len(),
        "every customer deployed"
    );
    d.assert_replay_matches();
}

/// A soak proves nothing without a check: a customer whose health check never
/// finishes after its deploy (an endpoint that hangs past the soak, a drill whose
/// soak is shorter than a probe's timeout) stays verifying, and its wave waits;
/// the first check that finishes lets it be declared healthy.
#[test]
fn a_customer_no_check_finished_on_is_not_declared_healthy() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.answers.checked_after_deploy = None;
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::hours(6));
    let demo: Vec<CustomerId> = d
        .state
        .wave_customers(0)
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert!(!demo.is_empty());
    for c in d.state.wave_customers(0) {
        assert_eq!(c.status, CustomerStatus::Verifying, "{}", c.id);
        assert!(c.soak_until.is_some_and(|t| t <= d.now), "soaked");
    }
    assert_eq!(d.wave_started("startup"), None, "the demo wave waits");
    assert!(
        d.at_of(|e| matches!(e, EventKind::CustomerHealthy { .. }))
            .is_none()
    );
    for id in &demo {
        d.input(Input::Result(EffectResult::Probed {
            customer: id.clone(),
            outcome: ProbeOutcome::Up {
                sample: HealthSample::default(),
            },
        }))
        .expect("a result is taken");
    }
    d.advance(TimeDelta::minutes(1));
    for c in d.state.wave_customers(0) {
        assert_eq!(c.status, CustomerStatus::Healthy, "{}", c.id);
    }
    assert_eq!(d.state.waves[0].status, WaveStatus::Completed);
    d.assert_replay_matches();
}

#[test]
fn bug_fix_timeline_and_pre_deploy_notices() {
    let mut d = Drill::start(ReleaseType::BugFix, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::days(7));
    let anchor = d.demo_done();
    assert_eq!(
        d.wave_started("startup"),
        Some(anchor + TimeDelta::hours(2))
    );
    assert_eq!(
        d.wave_started("standard"),
        Some(anchor + TimeDelta::hours(6))
    );
    assert_eq!(
        d.wave_started("enterprise"),
        Some(anchor + TimeDelta::hours(12))
    );
    // Pre-deployment notices for standard/enterprise go out when the demo completes.
    let pre: Vec<&Event> = d
        .log
        .iter()
        .filter(|e| {
            matches!(
                &e.event,
                EventKind::Notified {
                    kind: engine::event::NoticeKind::PreDeploy,
                    ..
                }
            )
        })
        .collect();
    assert!(!pre.is_empty());
    assert!(pre.iter().all(|e| e.at == anchor));
    // Automatic-with-notification waves announce themselves as they start.
    assert!(d.notices.iter().any(|n| n.contains("startup tier now")));
    d.assert_nobody_deployed_twice();
    d.assert_replay_matches();
}

#[test]
fn performance_waves_deploy_customers_inside_their_windows() {
    let mut d = Drill::start(ReleaseType::Performance, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::days(14));
    let anchor = d.demo_done();
    assert_eq!(
        d.wave_started("startup"),
        Some(anchor + TimeDelta::hours(4))
    );
    // Every customer of a windowed wave started its deploy inside its window.
    for e in &d.log {
        if let EventKind::DeployStarted { customer, .. } = &e.event {
            let c = d.state.customer(customer).unwrap();
            if c.wave == 0 {
                continue;
            }
            let plan = &d.state.plan.waves[c.wave]
                .customers
                .iter()
                .find(|p| &p.id == customer)
                .unwrap();
            let window = plan
                .window
                .as_ref()
                .expect("a window for every windowed customer");
            assert!(
                window.is_open(e.at),
                "{customer} deployed at {} outside {}",
                e.at,
                window.describe()
            );
        }
    }
    assert!(matches!(
        d.state.phase,
        Phase::Monitoring | Phase::Completed
    ));
    d.assert_nobody_deployed_twice();
    d.assert_replay_matches();
}

#[test]
fn documentation_waits_for_the_next_maintenance_window() {
    let mut d = Drill::start(ReleaseType::Documentation, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::days(1));
    // Monday 10:00 UTC: startup customers (default window tue/wed/thu 02:00 UTC) wait.
    let waiting: Vec<_> = d
        .log
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::CustomerWaitingForWindow { customer, opens_at } => {
                Some((customer.clone(), *opens_at))
            }
            _ => None,
        })
        .collect();
    let techstart = waiting
        .iter()
        .find(|(c, _)| c.as_str() == "techstart")
        .expect("techstart waits");
    assert_eq!(
        techstart.1,
        "2026-11-17T02:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let techstart_deploy = d.at_of(|e| matches!(e, EventKind::DeployStarted { customer, .. } if customer.as_str() == "techstart"));
    assert_eq!(
        techstart_deploy,
        Some(techstart.1),
        "deploys the moment its window opens"
    );
    d.run_until(t0() + TimeDelta::days(14));
    assert!(
        matches!(d.state.phase, Phase::Monitoring | Phase::Completed),
        "{:?}",
        d.state.phase
    );
    d.assert_replay_matches();
}

#[test]
fn validation_waits_for_gating_items_then_runs_checks() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.run_until(t0() + TimeDelta::hours(1));
    assert_eq!(d.state.phase, Phase::Planned, "held by unticked items");
    let held = d.at_of(|e| {
        matches!(
            e,
            EventKind::PhaseHeld {
                phase: shipdeck::domain::GatedPhase::Validation,
                ..
            }
        )
    });
    assert_eq!(held, Some(t0()));
    // Ticking an automatic item by hand is refused.
    let err = d
        .cmd(
            "alice",
            Command::TickItem {
                checklist: None,
                item: "security-tests".into(),
                on_word: false,
            },
        )
        .unwrap_err();
    assert!(matches!(err, Rejected::AutomaticItem(_)));
    d.tick_gating_items("alice");
    assert_eq!(d.state.phase, Phase::Validating);
    assert!(
        d.at_of(|e| matches!(e, EventKind::CheckStarted { item } if item == "security-tests"))
            .is_some()
    );
}

#[test]
fn pause_and_resume_shift_countdowns_by_the_paused_time() {
    let mut d = Drill::start(ReleaseType::BugFix, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::minutes(30));
    let anchor = d.demo_done();
    assert_eq!(d.state.due_at(1), Some(anchor + TimeDelta::hours(2)));
    d.now = anchor + minutes(30);
    d.cmd(
        "alice",
        Command::Pause {
            reason: "customer call".into(),
        },
    )
    .unwrap();
    // While paused nothing starts, even when the original time passes.
    d.advance(TimeDelta::hours(3));
    assert_eq!(d.state.waves[1].status, WaveStatus::Waiting);
    assert_eq!(d.wave_started("startup"), None);
    let paused_for = d.now - (anchor + minutes(30));
    d.cmd(
        "bob",
        Command::Resume {
            reason: String::new(),
        },
    )
    .unwrap();
    assert_eq!(
        d.state.due_at(1),
        Some(anchor + TimeDelta::hours(2) + paused_for)
    );
    d.run_until(t0() + TimeDelta::days(3));
    assert_eq!(
        d.wave_started("startup"),
        Some(anchor + TimeDelta::hours(2) + paused_for)
    );
    assert_eq!(
        d.wave_started("standard"),
        Some(anchor + TimeDelta::hours(6) + paused_for)
    );
    // Resuming when not paused is refused and changes nothing.
    let before = d.log.len();
    assert_eq!(
        d.cmd("bob", Command::Resume { reason: "x".into() }),
        Err(Rejected::NotPaused)
    );
    assert_eq!(d.log.len(), before);
    d.assert_replay_matches();
}

fn to_manual_gate(d: &mut Drill) -> usize {
    // Minor releases need QA lead + product owner on later waves.
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::hours(2));
    let wi = d
        .state
        .waves
        .iter()
        .position(|w| w.tier.as_str() == "startup")
        .unwrap();
    assert!(matches!(
        engine::gate(&d.state, wi, d.now),
        Gate::Approval { .. } | Gate::Time { .. }
    ));
    wi
}

#[test]
fn approvals_need_the_right_roles_and_different_people() {
    let mut d = Drill::start(ReleaseType::Minor, "v1.1.0", false);
    let wi = to_manual_gate(&mut d);
    let roles = d.state.plan.waves[wi].manual_roles().to_vec();
    assert!(roles.contains(&Role::new("qa_lead")));
    let approve = |wave: &str, role: Option<&str>| Command::Approve {
        wave: Some(TierName::new(wave)),
        role: role.map(Role::new),
    };
    // The starter may not approve.
    assert!(matches!(
        d.cmd("alice", approve("startup", None)),
        Err(Rejected::StarterMayNotApprove { .. })
    ));
    // Someone without a needed role is refused, naming the roles still needed.
    let err = d.cmd("dave", approve("startup", None)).unwrap_err();
    assert!(err.to_string().contains("qa_lead"), "{err}");
    // Unknown person.
    assert!(matches!(
        d.cmd("mallory", approve("startup", None)),
        Err(Rejected::UnknownPerson(_))
    ));
    d.cmd("bob", approve("startup", Some("qa_lead"))).unwrap();
    // grace holds product_owner; frank holds qa_lead (taken) and on_call.
    assert!(matches!(
        d.cmd("frank", approve("startup", Some("qa_lead"))),
        Err(Rejected::AlreadySigned { .. })
    ));
    // bob may not sign a second role of the same gate.
    d.cmd("bob", approve("standard", Some("qa_lead"))).unwrap();
    assert!(matches!(
        d.cmd("bob", approve("standard", None)),
        Err(Rejected::OnePersonOneRole { .. })
    ));
    d.cmd("carol", approve("standard", None)).unwrap();
    let anchor = d.demo_done();
    d.run_until(anchor + TimeDelta::hours(25));
    assert_eq!(
        d.wave_started("startup"),
        Some(anchor + TimeDelta::hours(24)),
        "starts when the delay ends, approved"
    );
    d.assert_replay_matches();
}

#[test]
fn a_gate_waits_for_people_as_long_as_it_takes() {
    let mut d = Drill::start(ReleaseType::Minor, "v1.1.0", false);
    to_manual_gate(&mut d);
    d.run_until(t0() + TimeDelta::days(30));
    assert_eq!(d.wave_started("startup"), None);
    assert!(matches!(
        engine::gate(&d.state, 1, d.now),
        Gate::Approval { .. }
    ));
    // The policy's timeout notifies, once, and never approves.
    let notices = d
        .log
        .iter()
        .filter(|e| {
            matches!(
                &e.event,
                EventKind::Notified {
                    kind: engine::event::NoticeKind::GateWaiting,
                    ..
                }
            )
        })
        .count();
    assert_eq!(notices, 1);
    assert_eq!(
        engine::next_deadline(&d.state, d.now),
        None,
        "nothing left to wake for"
    );
}

#[test]
fn skip_the_wait_is_an_override_with_a_reason() {
    let mut d = Drill::start(ReleaseType::BugFix, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::minutes(30));
    assert_eq!(
        d.cmd(
            "alice",
            Command::SkipWait {
                wave: None,
                reason: " ".into()
            }
        ),
        Err(Rejected::ReasonRequired("skipping a wait"))
    );
    d.cmd(
        "alice",
        Command::SkipWait {
            wave: None,
            reason: "customer asked for the fix now".into(),
        },
    )
    .unwrap();
    assert_eq!(d.wave_started("startup"), Some(d.now));
    let decision = d.state.decisions.last().unwrap();
    assert!(decision.what.contains("override"), "{decision:?}");
    assert_eq!(decision.reason, "customer asked for the fix now");
}

#[test]
fn rollback_inside_the_window_and_refused_after_it_unless_forced() {
    let mut d = Drill::start(ReleaseType::Documentation, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::days(14));
    let rolled_out = d.state.rollout_completed_at.expect("rolled out");
    // Documentation: 4h rollback window after completion.
    assert_eq!(
        d.state.rollback_window_until,
        Some(rolled_out + TimeDelta::hours(4))
    );
    let acme = CustomerId::new("acme-corp");
    d.now = d.now.max(rolled_out + TimeDelta::hours(5));
    let err = d
        .cmd(
            "alice",
            Command::Rollback {
                scope: RollbackScope::Customer(acme.clone()),
                reason: "typo".into(),
                force: false,
            },
        )
        .unwrap_err();
    assert!(
        matches!(err, Rejected::RollbackWindowClosed { .. }),
        "{err}"
    );
    assert!(matches!(
        d.cmd(
            "alice",
            Command::Rollback {
                scope: RollbackScope::Customer(acme.clone()),
                reason: "".into(),
                force: true
            }
        ),
        Err(Rejected::ReasonRequired(_))
    ));
    // Forced, with a reason, it goes through and says it was forced.
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::Customer(acme.clone()),
            reason: "legal asked".into(),
            force: true,
        },
    )
    .unwrap();
    assert!(
        d.log
            .iter()
            .any(|e| matches!(&e.event, EventKind::RollbackRequested { forced: true, .. }))
    );
    assert_eq!(
        d.state.customer(&acme).unwrap().status,
        engine::CustomerStatus::RollingBack
    );
}

#[test]
fn rollback_of_a_customer_locks_the_release_until_resumed_with_a_reason() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.tick_gating_items("alice");
    let anchor_guess = t0() + minutes(40);
    d.run_until(anchor_guess);
    let anchor = d.demo_done();
    d.run_until(anchor + minutes(26)); // startup deployed and soaked
    let techstart = CustomerId::new("techstart");
    assert_eq!(
        d.state.customer(&techstart).unwrap().status,
        engine::CustomerStatus::Healthy
    );
    // Rolling back an untouched customer is refused.
    assert!(matches!(
        d.cmd(
            "alice",
            Command::Rollback {
                scope: RollbackScope::Customer(CustomerId::new("acme-corp")),
                reason: "x".into(),
                force: false
            }
        ),
        Err(Rejected::NothingToRollBack(_))
    ));
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::Customer(techstart.clone()),
            reason: "login errors".into(),
            force: false,
        },
    )
    .unwrap();
    assert!(d.state.is_paused());
    d.run_until(anchor + TimeDelta::hours(3));
    assert_eq!(
        d.state.customer(&techstart).unwrap().status,
        engine::CustomerStatus::RolledBack
    );
    assert_eq!(
        d.state.customer(&techstart).unwrap().version,
        Version::new(1, 0, 0)
    );
    assert_eq!(d.wave_started("enterprise"), None, "locked");
    assert_eq!(
        d.cmd("alice", Command::Resume { reason: "".into() }),
        Err(Rejected::ReasonRequired(
            "resuming after a rollback or failure"
        ))
    );
    d.cmd(
        "alice",
        Command::Resume {
            reason: "root cause understood".into(),
        },
    )
    .unwrap();
    d.run_until(t0() + TimeDelta::days(10));
    assert!(d.wave_started("enterprise").is_some());
    assert_eq!(d.state.phase, Phase::Completed);
    d.assert_nobody_deployed_twice();
    d.assert_replay_matches();
}

#[test]
fn a_failed_deploy_rolls_the_customer_back_and_pauses() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.failing.push(CustomerId::new("pixelforge"));
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::hours(2));
    let c = d.state.customer(&CustomerId::new("pixelforge")).unwrap();
    // Failed, then put back where it was.
    assert_eq!(c.status, engine::CustomerStatus::RolledBack);
    assert!(
        c.failure
            .as_deref()
            .unwrap_or("")
            .contains("deploy failed: boom"),
        "{:?}",
        c.failure
    );
    assert!(d.log.iter().any(|e| matches!(&e.event, EventKind::CustomerFailed { customer, .. } if customer.as_str() == "pixelforge")));
    assert!(d.log.iter().any(|e| matches!(&e.event, EventKind::RollbackStarted { customer, .. } if customer.as_str() == "pixelforge")));
    assert!(d.state.is_paused());
    assert_eq!(d.wave_started("standard"), None);
}

#[test]
fn rollback_of_everything_ends_the_release_rolled_back() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(40));
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::All,
            reason: "data corruption".into(),
            force: false,
        },
    )
    .unwrap();
    d.run_until(t0() + TimeDelta::days(3));
    assert_eq!(d.state.phase, Phase::RolledBack);
    assert!(
        d.state
            .customers
            .iter()
            .all(|c| c.version == Version::new(1, 0, 0))
    );
    assert!(
        d.state
            .waves
            .iter()
            .any(|w| w.status == WaveStatus::Cancelled)
    );
    assert!(matches!(
        d.cmd("alice", Command::Pause { reason: "x".into() }),
        Err(Rejected::Final(_))
    ));
    d.assert_replay_matches();
}

#[test]
fn emergency_sends_all_tiers_right_after_demo_and_records_skipped_approvals() {
    let mut d = Drill::start(ReleaseType::BugFix, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(5));
    d.cmd(
        "erin",
        Command::Emergency {
            reason: "data loss in checkout".into(),
            override_windows: vec![CustomerId::new("umbrella-health")],
        },
    )
    .unwrap();
    assert!(d.state.emergency);
    let declared = d.state.decisions.last().unwrap();
    assert_eq!(
        declared.what,
        "declared emergency; maintenance windows overridden for umbrella-health"
    );
    d.tick_gating_items("alice"); // the hotfix checklist now gates phases too
    d.run_until(t0() + TimeDelta::days(3));
    let anchor = d.demo_done();
    for tier in ["startup", "standard", "enterprise"] {
        assert_eq!(
            d.wave_started(tier),
            Some(anchor),
            "{tier} right after demo"
        );
    }
    // Named by the operator: umbrella-health (window only) deployed at once.
    let umbrella = d.at_of(|e| matches!(e, EventKind::DeployStarted { customer, .. } if customer.as_str() == "umbrella-health"));
    assert_eq!(umbrella, Some(anchor));
    assert!(d.notices.iter().any(|n| n.contains("emergency")));
    d.assert_nobody_deployed_twice();
    d.assert_replay_matches();
}

/// Issue 10, item 5: an emergency skips approvals and delays, but a customer
/// held to its own window keeps it unless the operator names it; what it
/// affects (windows kept, notices cut) is known before anyone confirms.
#[test]
fn emergency_keeps_window_bound_customers_in_their_windows_unless_named() {
    use engine::emergency::{Consequence, impact};
    let mut d = Drill::start(ReleaseType::BugFix, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(5));
    let before = impact(&d.state, &[], d.now);
    let find = |list: &[engine::emergency::Affected], id: &str| {
        list.iter()
            .filter(|a| a.customer.as_str() == id)
            .map(|a| a.consequence.clone())
            .collect::<Vec<_>>()
    };
    assert!(matches!(
        find(&before, "umbrella-health").as_slice(),
        [Consequence::KeepsWindow { .. }]
    ));
    assert!(matches!(
        find(&before, "contoso-bank").as_slice(),
        [Consequence::KeepsWindow { .. }]
    ));
    assert_eq!(
        find(&before, "acme-corp"),
        [Consequence::NoticeCut { lead: "72h".into() }]
    );
    let acme = before
        .iter()
        .find(|a| a.customer.as_str() == "acme-corp")
        .unwrap()
        .describe();
    assert!(
        acme.starts_with("ACME Corp (enterprise): 72h pre-deploy notice cut short — Contract"),
        "{acme}"
    );
    assert!(
        find(&before, "techstart").is_empty(),
        "nothing of TechStart's is affected"
    );
    let named = impact(&d.state, &[CustomerId::new("contoso-bank")], d.now);
    assert!(matches!(
        find(&named, "contoso-bank").as_slice(),
        [Consequence::WindowOverridden { .. }]
    ));
    // Naming a customer that has no window of its own is refused.
    assert_eq!(
        d.cmd(
            "erin",
            Command::Emergency {
                reason: "data loss".into(),
                override_windows: vec![CustomerId::new("techstart")],
            },
        ),
        Err(Rejected::NotWindowBound(CustomerId::new("techstart")))
    );
    d.cmd(
        "erin",
        Command::Emergency {
            reason: "data loss".into(),
            override_windows: Vec::new(),
        },
    )
    .unwrap();
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::days(8));
    let anchor = d.demo_done();
    assert_eq!(d.wave_started("standard"), Some(anchor));
    for id in ["umbrella-health", "contoso-bank"] {
        let (at, window) = d
            .log
            .iter()
            .find_map(|e| match &e.event {
                EventKind::DeployStarted { customer, .. } if customer.as_str() == id => {
                    let c = d.state.customer(customer).unwrap();
                    let plan = d.state.plan.waves[c.wave]
                        .customers
                        .iter()
                        .find(|p| &p.id == customer)
                        .unwrap();
                    Some((e.at, plan.window.clone().unwrap()))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{id} never deployed"));
        assert!(at > anchor, "{id} deployed at {at}, the emergency's start");
        assert!(
            window.is_open(at),
            "{id} deployed outside its window at {at}"
        );
    }
    d.assert_nobody_deployed_twice();
    d.assert_replay_matches();
}

#[test]
fn emergency_on_a_manual_gate_records_the_skip() {
    let mut d = Drill::start(ReleaseType::Minor, "v1.1.0", false);
    d.tick_gating_items("alice");
    assert_eq!(
        d.cmd(
            "erin",
            Command::Emergency {
                reason: "x".into(),
                override_windows: Vec::new()
            }
        ),
        Err(Rejected::EmergencyNotPatch)
    );
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", true);
    assert!(d.state.emergency);
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::days(3));
    let anchor = d.demo_done();
    assert_eq!(d.wave_started("enterprise"), Some(anchor));
}

#[test]
fn waves_that_came_due_while_away_wait_for_confirmation() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(12)); // demo done at about +11m, startup due at +26m
    let anchor = d.demo_done();
    // The process stops; two hours later it is started again.
    let mut resumed = ReleaseState::fold(&d.log).unwrap();
    d.now = anchor + TimeDelta::hours(2);
    let attach = engine::step(&mut resumed, &Input::Attached, d.now).unwrap();
    assert!(attach.events.iter().any(
        |e| matches!(&e.event, EventKind::WaveHeldOverdue { wave } if wave.as_str() == "startup")
    ));
    assert!(
        !attach
            .events
            .iter()
            .any(|e| matches!(e.event, EventKind::WaveStarted { .. }))
    );
    assert_eq!(engine::gate(&resumed, 1, d.now), Gate::HeldOverdue);
    // Its line says how a person lets it go.
    let held = attach
        .events
        .iter()
        .find(|e| matches!(e.event, EventKind::WaveHeldOverdue { .. }))
        .unwrap();
    assert!(
        engine::event::describe(held).contains("`shipdeck confirm`"),
        "{}",
        engine::event::describe(held)
    );
    // A tick does not start it; a person's confirmation does.
    let tick = engine::step(&mut resumed, &Input::Tick, d.now).unwrap();
    assert!(tick.events.is_empty());
    let confirm = engine::step(
        &mut resumed,
        &Input::Command {
            actor: "alice".into(),
            command: Command::ConfirmOverdue,
        },
        d.now,
    )
    .unwrap();
    assert!(confirm.events.iter().any(
        |e| matches!(&e.event, EventKind::WaveStarted { wave } if wave.as_str() == "startup")
    ));
    assert_eq!(
        engine::step(
            &mut resumed,
            &Input::Command {
                actor: "alice".into(),
                command: Command::ConfirmOverdue
            },
            d.now
        ),
        Err(Rejected::NothingOverdue)
    );
}

#[test]
fn customer_reported_issue_rolls_that_customer_back() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(30));
    let demo = CustomerId::new("demo-main");
    d.cmd(
        "frank",
        Command::ReportIssue {
            customer: demo.clone(),
            reason: "checkout 500s".into(),
        },
    )
    .unwrap();
    let fired = d.log.iter().find_map(|e| match &e.event {
        EventKind::TriggerFired {
            customer,
            trigger,
            evidence,
        } if customer == &demo => Some((trigger, evidence.summary.clone())),
        _ => None,
    });
    let (trigger, summary) = fired.expect("trigger fired");
    assert_eq!(*trigger, engine::triggers::TriggerKind::CustomerReported);
    assert!(summary.contains("frank") && summary.contains("checkout 500s"));
    assert_eq!(
        d.state.customer(&demo).unwrap().status,
        engine::CustomerStatus::RollingBack
    );
    assert!(d.state.is_paused());
}

#[test]
fn refusals_change_nothing() {
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(30));
    let before = serde_json::to_value(&d.state).unwrap();
    let log_len = d.log.len();
    let attempts = vec![
        Command::Approve {
            wave: None,
            role: None,
        },
        Command::Resume { reason: "x".into() },
        Command::Rollback {
            scope: RollbackScope::Customer(CustomerId::new("acme-corp")),
            reason: "x".into(),
            force: false,
        },
        Command::Rollback {
            scope: RollbackScope::Wave(TierName::new("nope")),
            reason: "x".into(),
            force: false,
        },
        Command::Abort { reason: "".into() },
        Command::ConfirmOverdue,
        Command::TickItem {
            checklist: None,
            item: "no-such-item".into(),
            on_word: false,
        },
    ];
    for c in attempts {
        assert!(
            d.cmd("alice", c.clone()).is_err(),
            "{c:?} should be refused"
        );
    }
    assert_eq!(serde_json::to_value(&d.state).unwrap(), before);
    assert_eq!(d.log.len(), log_len);
}

#[test]
fn a_customer_deployed_before_its_full_baseline_is_judged_against_what_was_sampled() {
    // Given demo-main probed twice (of the policy's 5 baseline samples) at 0.3 %
    // errors, then the release starts and deploys it right after validation
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    let demo = CustomerId::new("demo-main");
    let probe = |d: &mut Drill, error_rate: f64| {
        d.input(Input::Result(EffectResult::Probed {
            customer: demo.clone(),
            outcome: ProbeOutcome::Up {
                sample: HealthSample {
                    error_rate: Some(error_rate),
                    latency_p95_ms: Some(90.0),
                },
            },
        }))
        .unwrap();
    };
    probe(&mut d, 0.3);
    probe(&mut d, 0.3);
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(30));
    // Then its baseline is what was sampled, recorded as the deploy started
    let c = d.state.customer(&demo).unwrap();
    assert!(
        matches!(
            c.status,
            engine::CustomerStatus::Verifying | engine::CustomerStatus::Healthy
        ),
        "{:?}",
        c.status
    );
    let baseline = c
        .health
        .baseline
        .expect("a baseline from the samples taken");
    assert!((baseline.error_rate.unwrap() - 0.3).abs() < 1e-9);
    // And when errors climb 5 points above it, the error-rate trigger fires
    for _ in 0..3 {
        probe(&mut d, 9.0);
    }
    assert!(
        d.log.iter().any(|e| matches!(
            &e.event,
            EventKind::TriggerFired { customer, trigger: TriggerKind::ErrorRate, .. } if *customer == demo
        )),
        "no error-rate trigger: {:#?}",
        &d.log[d.log.len().saturating_sub(6)..]
    );
    d.assert_replay_matches();
}

#[test]
fn a_window_bound_demo_customer_holds_later_waves_unless_the_wait_is_skipped() {
    // Given demo-main may deploy only on Saturdays, and it is Monday
    let mut cfg = config::load_builtin().expect("built-in config");
    let demo = CustomerId::new("demo-main");
    let window = serde_json::from_value(serde_json::json!({
        "timezone": "Europe/London", "days": ["sat"], "start": "01:00", "duration": "4h"
    }))
    .expect("a window");
    cfg.customers
        .iter_mut()
        .find(|c| c.id == demo)
        .expect("demo-main")
        .maintenance_window = Some(window);
    let mut over = cfg
        .deployment
        .overrides
        .get(&demo)
        .cloned()
        .unwrap_or_default();
    over.window_only = true;
    cfg.deployment.overrides.insert(demo.clone(), over);
    let mut d = Drill::start_with(cfg, ReleaseType::Security, "v1.0.1", false, "alice");
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::hours(3));
    // Then the demo wave is cleared but not complete, and startup waits for it
    assert_eq!(
        d.state.customer(&demo).unwrap().status,
        engine::CustomerStatus::WaitingWindow
    );
    assert_eq!(d.wave_started("startup"), None);
    // When the operator skips startup's wait, it starts at once
    d.cmd(
        "alice",
        Command::SkipWait {
            wave: Some(TierName::new("startup")),
            reason: "demo-main is only a smoke test; sales demo passed".into(),
        },
    )
    .expect("skip accepted");
    assert_eq!(d.wave_started("startup"), Some(d.now));
}

/// Issue 11, item 1: a config where TechStart (startup) deploys only inside a
/// one-minute daily window at 11:00 UTC, with only the demo customers besides.
fn one_minute_window_drill() -> Drill {
    let mut cfg = config::load_builtin().expect("built-in config");
    let techstart = CustomerId::new("techstart");
    cfg.customers
        .retain(|c| c.tier.as_str() == "demo" || c.id == techstart);
    let window = serde_json::from_value(serde_json::json!({
        "timezone": "UTC",
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": "11:00",
        "duration": "1m"
    }))
    .expect("a window");
    cfg.customers
        .iter_mut()
        .find(|c| c.id == techstart)
        .expect("techstart")
        .maintenance_window = Some(window);
    let mut over = cfg
        .deployment
        .overrides
        .get(&techstart)
        .cloned()
        .unwrap_or_default();
    over.window_only = true;
    cfg.deployment.overrides.insert(techstart, over);
    let mut d = Drill::start_with(cfg, ReleaseType::Security, "v1.0.1", false, "alice");
    d.tick_gating_items("alice");
    d
}

fn techstart(d: &Drill) -> &engine::state::CustomerState {
    d.state.customer(&CustomerId::new("techstart")).unwrap()
}

#[test]
fn a_one_minute_window_at_real_speed_deploys_inside_it() {
    // Given TechStart waits for its one-minute window at 11:00
    let mut d = one_minute_window_drill();
    d.run_until(t0() + minutes(40));
    assert_eq!(techstart(&d).status, engine::CustomerStatus::WaitingWindow);
    let opens: DateTime<Utc> = "2026-11-16T11:00:00Z".parse().unwrap();
    assert_eq!(techstart(&d).window_opens_at, Some(opens));
    // When the clock runs at real speed, ticking every second, through the window
    while d.now < opens + minutes(2) {
        d.now += TimeDelta::seconds(1);
        let (due, rest): (Vec<_>, Vec<_>) = d.queue.drain(..).partition(|(t, _)| *t <= d.now);
        d.queue = rest;
        for (_, r) in due {
            d.input(Input::Result(r)).unwrap();
        }
        d.input(Input::Tick).unwrap();
    }
    // Then it deployed inside the window, and nothing was reported missed
    let deployed = d
        .at_of(|e| matches!(e, EventKind::DeployStarted { customer, .. } if customer.as_str() == "techstart"))
        .expect("techstart deployed");
    assert!(
        deployed >= opens && deployed < opens + minutes(1),
        "{deployed}"
    );
    assert_eq!(
        d.at_of(|e| matches!(e, EventKind::CustomerWindowMissed { .. })),
        None
    );
    d.assert_replay_matches();
}

#[test]
fn a_window_the_clock_jumps_over_is_missed_and_waits_for_a_person() {
    // Given TechStart waits for its one-minute window at 11:00
    let mut d = one_minute_window_drill();
    d.run_until(t0() + minutes(59));
    assert_eq!(techstart(&d).status, engine::CustomerStatus::WaitingWindow);
    let opens: DateTime<Utc> = "2026-11-16T11:00:00Z".parse().unwrap();
    // When the release clock jumps over the window (a stalled process, or none)
    d.now = opens + minutes(5);
    d.input(Input::Tick).unwrap();
    // Then the window is reported missed, the customer is held (not deployed, not
    // waiting for a window that is over), and the next opening is known
    let tomorrow = opens + TimeDelta::days(1);
    assert!(d.log.iter().any(|e| matches!(
        &e.event,
        EventKind::CustomerWindowMissed { customer, missed, next }
            if customer.as_str() == "techstart" && *missed == opens && *next == Some(tomorrow)
    )));
    assert_eq!(techstart(&d).window_missed, Some(opens));
    assert_eq!(engine::next_deadline(&d.state, d.now), None);
    assert!(engine::waiting_on_people(&d.state, d.now));
    // and what would move it is named: confirm, or skip its window wait
    let awaited = engine::awaited(&d.state, d.now);
    assert!(
        awaited.iter().any(|a| matches!(
            a,
            engine::Awaited::MissedWindow { customer, next, .. }
                if customer.as_str() == "techstart" && *next == Some(tomorrow)
        )),
        "{awaited:?}"
    );
    assert!(!awaited.contains(&engine::Awaited::Decide), "{awaited:?}");
    // A tick an hour later changes nothing: it never waits for the window that passed
    d.now += TimeDelta::hours(1);
    let before = d.log.len();
    d.input(Input::Tick).unwrap();
    assert_eq!(d.log.len(), before);
    d.assert_replay_matches();

    // When a person confirms, it waits for the next window and deploys inside it
    let mut confirmed = d.resumed().unwrap();
    confirmed
        .cmd("bob", Command::ConfirmOverdue)
        .expect("confirm accepted");
    assert_eq!(techstart(&confirmed).window_missed, None);
    assert_eq!(
        engine::next_deadline(&confirmed.state, confirmed.now),
        Some(tomorrow)
    );
    confirmed.run_until(tomorrow + minutes(30));
    let deployed = confirmed
        .at_of(|e| matches!(e, EventKind::DeployStarted { customer, .. } if customer.as_str() == "techstart"))
        .expect("deployed in the next window");
    assert_eq!(deployed, tomorrow);
    confirmed.assert_replay_matches();

    // Or: the operator skips the window wait with a reason, and it deploys now
    assert_eq!(
        d.cmd(
            "bob",
            Command::SkipWait {
                wave: Some(TierName::new("startup")),
                reason: String::new()
            }
        ),
        Err(Rejected::ReasonRequired("skipping a wait"))
    );
    d.cmd(
        "bob",
        Command::SkipWait {
            wave: Some(TierName::new("startup")),
            reason: "customer agreed to an out-of-window deploy".into(),
        },
    )
    .expect("skipping a window wait is accepted on a started wave");
    assert!(d.log.iter().any(|e| matches!(
        &e.event,
        EventKind::WindowWaitSkipped { customers, .. }
            if customers.iter().any(|c| c.as_str() == "techstart")
    )));
    assert_eq!(
        d.at_of(|e| matches!(e, EventKind::DeployStarted { customer, .. } if customer.as_str() == "techstart")),
        Some(d.now)
    );
    d.assert_replay_matches();
}

#[test]
fn a_window_skip_is_accepted_before_the_window_too() {
    // The operator can always skip a window wait with a reason, not only a missed one.
    let mut d = one_minute_window_drill();
    d.run_until(t0() + minutes(40));
    assert_eq!(techstart(&d).status, engine::CustomerStatus::WaitingWindow);
    d.cmd(
        "bob",
        Command::SkipWait {
            wave: None,
            reason: "urgent".into(),
        },
    )
    .expect("skip accepted");
    assert_eq!(techstart(&d).status, engine::CustomerStatus::Deploying);
}

#[test]
fn sentinel_figures_are_no_data_and_never_roll_back_a_healthy_customer() {
    // Given demo-main reports the "no data" sentinel p95 of -1 ms and -50 % errors,
    // before its deploy and after it, every time
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    let demo = CustomerId::new("demo-main");
    let sentinel = |d: &mut Drill| {
        d.input(Input::Result(EffectResult::Probed {
            customer: demo.clone(),
            outcome: ProbeOutcome::Up {
                sample: HealthSample {
                    error_rate: Some(-50.0),
                    latency_p95_ms: Some(-1.0),
                },
            },
        }))
        .unwrap();
    };
    for _ in 0..5 {
        sentinel(&mut d);
    }
    d.tick_gating_items("alice");
    d.run_until(t0() + minutes(7));
    for _ in 0..6 {
        sentinel(&mut d);
    }
    // Then no trigger fired, nothing paused, and no sentinel became a baseline
    assert_eq!(
        d.at_of(|e| matches!(e, EventKind::TriggerFired { .. })),
        None
    );
    assert!(!d.state.is_paused());
    let c = d.state.customer(&demo).unwrap();
    assert!(c.health.baseline.is_none_or(|b| b.latency_p95_ms.is_none()));
    // and each check is journaled as inconclusive, with the reason
    assert!(d.log.iter().any(|e| matches!(
        &e.event,
        EventKind::HealthSampled { outcome: ProbeOutcome::Inconclusive { reason }, .. }
            if reason.contains("error rate -50 is not a percentage")
    )));
    assert!(matches!(
        c.health.last,
        Some(ProbeOutcome::Inconclusive { .. })
    ));
    d.assert_replay_matches();
}

/// Ticks the manual items that gate `phase`, on the operator's word.
fn tick_phase(d: &mut Drill, phase: shipdeck::domain::GatedPhase) {
    for key in d.state.unticked_gating(phase) {
        d.cmd("alice", Command::tick(&key, true)).unwrap();
    }
}

/// Issue 10, item 1: with a policy that has an approval timeout (minor), a later
/// wave's timeout deadline must not hide the gate that blocks now.
#[test]
fn a_gate_waiting_on_a_person_is_known_the_moment_it_blocks() {
    use shipdeck::domain::GatedPhase;
    let mut d = Drill::start(ReleaseType::Minor, "v1.1.0", false);
    tick_phase(&mut d, GatedPhase::Validation);
    tick_phase(&mut d, GatedPhase::Demo);
    d.run_until(t0() + TimeDelta::hours(2));
    let anchor = d.demo_done();
    // Startup's turn has come (signing ahead of its delay is allowed).
    assert_eq!(
        engine::awaiting(&d.state, d.now),
        vec![engine::Awaited::Approval {
            wave: TierName::new("startup"),
            missing: vec![Role::new("qa_lead")]
        }]
    );
    assert!(
        engine::waiting_on_people(&d.state, d.now),
        "only a person can move it on now"
    );
    // The runtime still wakes for startup's own timeout notice, and only for it:
    // waves waiting behind startup have no timeout running.
    assert_eq!(
        engine::next_deadline(&d.state, d.now),
        Some(anchor + TimeDelta::hours(24) + TimeDelta::hours(4))
    );
    assert_eq!(engine::next_progress(&d.state, d.now), None);
    // Who may sign it: the QA leads, never the starter.
    assert_eq!(
        engine::awaiting::eligible_signers(
            &d.state,
            &TierName::new("startup"),
            &Role::new("qa_lead")
        ),
        ["bob", "frank"]
    );
    d.cmd(
        "bob",
        Command::Approve {
            wave: Some(TierName::new("startup")),
            role: None,
        },
    )
    .unwrap();
    // Signed: the items gating customers hold it now, at once, not when a later
    // wave's timeout has passed days from now.
    let awaited = engine::awaiting(&d.state, d.now);
    assert!(
        matches!(
            awaited.as_slice(),
            [engine::Awaited::Items { phase: GatedPhase::Customers, wave: Some(w), items }]
                if w.as_str() == "startup" && items.iter().any(|i| i.ends_with("/release-notes"))
        ),
        "{awaited:?}"
    );
    assert!(engine::waiting_on_people(&d.state, d.now));
    tick_phase(&mut d, GatedPhase::Customers);
    // Only the clock holds startup now: not waiting on people.
    assert!(engine::awaiting(&d.state, d.now).is_empty());
    assert!(!engine::waiting_on_people(&d.state, d.now));
    d.run_until(anchor + TimeDelta::hours(25));
    assert_eq!(
        d.wave_started("startup"),
        Some(anchor + TimeDelta::hours(24))
    );
    d.assert_replay_matches();
}

/// Issue 10, item 3: an approval without a wave signs only when exactly one gate
/// waits; a named role the person lacks is refused as such.
#[test]
fn approving_without_a_wave_signs_only_the_one_pending_gate() {
    let mut d = Drill::start(ReleaseType::Minor, "v1.1.0", false);
    to_manual_gate(&mut d);
    // Three gates wait for signatures: nobody signs one by accident.
    let before = d.log.len();
    let err = d
        .cmd(
            "frank",
            Command::Approve {
                wave: None,
                role: None,
            },
        )
        .unwrap_err();
    let Rejected::WhichGate(pending) = &err else {
        panic!("{err:?}");
    };
    let waves: Vec<&str> = pending.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(waves, ["startup", "standard", "enterprise"]);
    assert!(
        err.to_string()
            .contains("startup needs qa_lead, standard needs qa_lead + product_owner"),
        "{err}"
    );
    assert_eq!(d.log.len(), before, "a refusal changes nothing");
    // frank signs enterprise as QA lead, then names a role he does not hold: the
    // refusal says so (not that he already signed).
    let sign = |wave: &str, role: Option<&str>| Command::Approve {
        wave: Some(TierName::new(wave)),
        role: role.map(Role::new),
    };
    d.cmd("frank", sign("enterprise", None)).unwrap();
    let err = d
        .cmd("frank", sign("enterprise", Some("product_owner")))
        .unwrap_err();
    assert!(matches!(err, Rejected::DoesNotHoldRole { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "frank does not hold the role product_owner (roster.json gives frank: qa_lead, on_call)"
    );
    let err = d
        .cmd("grace", sign("startup", Some("product_owner")))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "wave startup does not need product_owner (its gate needs qa_lead)"
    );
    // Down to one pending gate once the others are signed: no wave needed.
    for (who, wave) in [
        ("bob", "startup"),
        ("bob", "standard"),
        ("carol", "standard"),
    ] {
        d.cmd(who, sign(wave, None)).unwrap();
    }
    d.cmd(
        "grace",
        Command::Approve {
            wave: None,
            role: None,
        },
    )
    .unwrap();
    let last = d.state.decisions.last().unwrap();
    assert_eq!(last.what, "approved wave enterprise as product_owner");
    assert_eq!(
        d.cmd(
            "carol",
            Command::Approve {
                wave: None,
                role: None
            }
        ),
        Err(Rejected::NoPendingGate)
    );
}

/// Issue 10, item 4: a release planned from the versions customers run now (as
/// the journals say) rolls them back to those; a start past the version checks
/// is in the first event, and so in the decision log, with who and why.
#[test]
fn a_version_override_and_current_versions_are_in_the_plan() {
    let mut cfg = config::load_builtin().unwrap();
    for c in &mut cfg.customers {
        if c.tier.as_str() != "enterprise" {
            c.version = "v1.0.1".parse().unwrap();
        }
    }
    let mut plan = ReleasePlan::build(
        &cfg,
        "v1.0.9".parse().unwrap(),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .unwrap();
    plan.version_override = Some(engine::VersionOverride {
        problems: vec![
            "v1.0.1 → v1.0.9: a security release moves PATCH by one: must be v1.0.2".into(),
        ],
        reason: "the build for v1.0.2 was burnt".into(),
    });
    let mut d = Drill::new(plan, "alice", t0()).unwrap();
    let started = d.state.decisions[0].clone();
    assert_eq!(started.actor, "alice");
    assert!(
        started
            .what
            .starts_with("started v1.0.9 security past the version check (override: "),
        "{started:?}"
    );
    assert_eq!(started.reason, "the build for v1.0.2 was burnt");
    d.tick_gating_items("alice");
    d.run_until(t0() + TimeDelta::hours(1));
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::Customer(CustomerId::new("demo-main")),
            reason: "smoke test failed".into(),
            force: false,
        },
    )
    .unwrap();
    let to = d.log.iter().find_map(|e| match &e.event {
        EventKind::RollbackStarted { customer, to } if customer.as_str() == "demo-main" => {
            Some(to.to_string())
        }
        _ => None,
    });
    assert_eq!(to.as_deref(), Some("v1.0.1"), "back to what it ran");
    let acme = d.state.customer(&CustomerId::new("acme-corp")).unwrap();
    assert_eq!(acme.from_version.to_string(), "v1.0.0");
    d.assert_replay_matches();
}

/// Issue 10, item 2: a tick given by mistake is taken back with a reason (a
/// decision), while the phase it gates has not started; it holds that phase
/// again. After a rollback ended the release, its checklist is still tickable.
#[test]
fn a_mistaken_tick_is_taken_back_with_a_reason_until_its_phase_starts() {
    use shipdeck::domain::GatedPhase;
    let mut d = Drill::start(ReleaseType::Security, "v1.0.1", false);
    tick_phase(&mut d, GatedPhase::Validation);
    tick_phase(&mut d, GatedPhase::Demo);
    tick_phase(&mut d, GatedPhase::Customers);
    let untick = |item: &str, reason: &str| Command::UntickItem {
        checklist: Some("deployment".into()),
        item: item.into(),
        reason: reason.into(),
    };
    assert_eq!(
        d.cmd("alice", untick("backup", " ")),
        Err(Rejected::ReasonRequired("unticking an item"))
    );
    d.cmd(
        "alice",
        untick("backup", "the snapshot job failed after all"),
    )
    .unwrap();
    let last = d.state.decisions.last().unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.what.as_str(),
            last.reason.as_str()
        ),
        (
            "alice",
            "unticked deployment/backup",
            "the snapshot job failed after all"
        )
    );
    assert_eq!(
        d.cmd("alice", untick("backup", "again")),
        Err(Rejected::NotTicked("deployment/backup".into()))
    );
    d.run_until(t0() + TimeDelta::hours(2));
    let anchor = d.demo_done();
    // The customers' phase waits for it again.
    assert_eq!(d.wave_started("startup"), None);
    assert_eq!(
        engine::gate(&d.state, 1, d.now),
        Gate::Items(vec!["deployment/backup".into()])
    );
    // The demo wave has started: its items can no longer be taken back.
    assert_eq!(
        d.cmd("alice", untick("window-scheduled", "wrong window")),
        Err(Rejected::PhaseStarted {
            item: "deployment/window-scheduled".into(),
            phase: "demo"
        })
    );
    d.cmd("alice", Command::tick("deployment/backup", false))
        .unwrap();
    d.run_until(anchor + TimeDelta::hours(3));
    assert!(d.wave_started("startup").is_some());
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::All,
            reason: "data corruption".into(),
            force: false,
        },
    )
    .unwrap();
    d.run_until(d.now + TimeDelta::hours(1));
    assert_eq!(d.state.phase, Phase::RolledBack);
    // The rollback checklist's follow-ups stay tickable after the end; nothing
    // that holds a phase does.
    d.cmd("alice", Command::tick("rollback/rollback-announced", false))
        .unwrap();
    assert_eq!(
        d.cmd(
            "alice",
            Command::tick("pre-release-security/no-new-vulns", false)
        ),
        Err(Rejected::Final("rolled back"))
    );
    d.assert_replay_matches();
}

/// A security release whose triggers only pause (`pause_only`), with every gating
/// item ticked.
fn pause_only_drill() -> Drill {
    let mut cfg = config::load_builtin().expect("built-in config");
    cfg.policies
        .get_mut(&ReleaseType::Security)
        .expect("security policy")
        .triggers
        .action = TriggerAction::PauseOnly;
    let mut d = Drill::start_with(cfg, ReleaseType::Security, "v1.0.1", false, "alice");
    d.tick_gating_items("alice");
    d
}

fn down(customer: &CustomerId) -> Input {
    Input::Result(EffectResult::Probed {
        customer: customer.clone(),
        outcome: ProbeOutcome::Down {
            reason: "HTTP 500".into(),
        },
    })
}

fn count_of(d: &Drill, pred: impl Fn(&EventKind) -> bool) -> usize {
    d.log.iter().filter(|e| pred(&e.event)).count()
}

#[test]
fn a_pause_only_trigger_fires_once_and_holds_its_customer_until_someone_resumes() {
    // Given a pause_only release with demo-main deployed and soaking
    let mut d = pause_only_drill();
    let demo = CustomerId::new("demo-main");
    for _ in 0..240 {
        if d.state.customer(&demo).unwrap().status == engine::CustomerStatus::Verifying {
            break;
        }
        d.advance(TimeDelta::seconds(15));
    }
    assert_eq!(
        d.state.customer(&demo).unwrap().status,
        engine::CustomerStatus::Verifying
    );
    // When its checks fail, a minute apart, for two hours: past its soak and far
    // past three failures in a row, again and again
    for _ in 0..120 {
        d.input(down(&demo)).unwrap();
        d.advance(minutes(1));
    }
    // Then the trigger fired once and paused the release, nothing rolled back
    assert_eq!(
        count_of(
            &d,
            |e| matches!(e, EventKind::TriggerFired { customer, .. } if *customer == demo)
        ),
        1,
        "a held customer's trigger does not fire again"
    );
    assert_eq!(
        count_of(&d, |e| matches!(
            e,
            EventKind::Paused {
                cause: engine::PauseCause::Trigger,
                ..
            }
        )),
        1
    );
    assert_eq!(
        count_of(&d, |e| matches!(e, EventKind::RollbackStarted { .. })),
        0
    );
    // And demo-main is held, not marked healthy: its wave does not complete
    assert!(d.state.is_paused());
    assert_eq!(
        d.state.customer(&demo).unwrap().status,
        engine::CustomerStatus::Verifying,
        "soaked, but a trigger holds it"
    );
    assert_eq!(
        count_of(
            &d,
            |e| matches!(e, EventKind::CustomerHealthy { customer } if *customer == demo)
        ),
        0
    );
    assert!(
        d.at_of(|e| matches!(e, EventKind::WaveCompleted { .. }))
            .is_none()
    );
    // When someone resumes, with a reason, the people have decided: it goes on
    d.cmd(
        "alice",
        Command::Resume {
            reason: "the health endpoint itself was broken".into(),
        },
    )
    .unwrap();
    d.advance(minutes(1));
    assert_eq!(
        d.state.customer(&demo).unwrap().status,
        engine::CustomerStatus::Healthy
    );
    assert!(
        d.wave_started("startup").is_some() || d.state.waves[0].status == WaveStatus::Completed
    );
    d.assert_replay_matches();
}

#[test]
fn a_pause_only_trigger_in_monitoring_keeps_the_release_from_completing_while_paused() {
    // Given a pause_only release rolled out and monitored
    let mut d = pause_only_drill();
    for _ in 0..240 {
        if d.state.phase == Phase::Monitoring {
            break;
        }
        d.advance(TimeDelta::hours(1));
    }
    assert_eq!(d.state.phase, Phase::Monitoring);
    let until = d.state.monitoring_until.expect("monitoring until");
    // When demo-main's checks fail three times in a row
    let demo = CustomerId::new("demo-main");
    for _ in 0..3 {
        d.input(down(&demo)).unwrap();
    }
    assert!(d.state.is_paused(), "the trigger paused the release");
    // Then the monitoring period ends, and the paused release does not complete
    d.now = until + TimeDelta::days(3);
    d.input(Input::Tick).unwrap();
    assert_eq!(d.state.phase, Phase::Monitoring);
    assert!(d.at_of(|e| matches!(e, EventKind::Completed)).is_none());
    assert_eq!(
        engine::next_progress(&d.state, d.now),
        None,
        "it waits for people"
    );
    // Until someone resumes
    d.cmd(
        "alice",
        Command::Resume {
            reason: "false alarm: the probe's network".into(),
        },
    )
    .unwrap();
    d.advance(minutes(1));
    assert_eq!(d.state.phase, Phase::Completed);
    d.assert_replay_matches();
}
