//! Property test for the pure rollout engine: random sequences of commands, clock
//! advances, effect results and probes, with the invariants checked after every step:
//!
//! 1. nobody is deployed twice (one `Effect::Deploy`, one `deploy_started` per
//!    customer per release);
//! 2. no wave starts before its gate (delay after the demo wave, approvals by the
//!    right people, the wave before it cleared, gating checklist items ticked), and
//!    validation starts only after its items were ticked — checked from the event
//!    log by code of its own, never by asking the engine's `gate()`;
//! 3. every state change has an event: a refusal, or a step with no events, leaves
//!    the state exactly as it was;
//! 4. replaying the journal rebuilds exactly the live state: `fold(log)` after every
//!    step, and through the real journal files (fsync, read back) at the end;
//! 5. a pause moves the waits: no wave starts before its delay plus the time the
//!    release was paused after the demo wave completed;
//! 6. an inconclusive check never starts a rollback: no trigger fires on one, no
//!    trigger's evidence holds one, and it neither counts toward the consecutive
//!    failures rule nor resets it (this test counts the failures itself).
//!
//! Half the cases give frank (QA lead) the product owner's and dev lead's roles
//! too, so one person holds two roles of the minor and major releases' manual gates
//! and "one person may not sign two roles of one gate" is put to the test.
//!
//! Cases: 128 by default, from a fixed seed so a failure replays exactly;
//! `PROPTEST_CASES=N` and `PROPTEST_RNG_SEED=N|random` explore further (a failure
//! prints the shrunk case).
//! `SHIPDECK_PROP_STATS=1 … -- --nocapture` prints what each case reached.
//!
//! Found so far (fixed in `src/engine/decide.rs`, pinned by the regression tests at
//! the end): a wave could start in the same round as an event that should have held
//! it, judged on the state from before that event; and the journal kept f64 only to
//! 1 ULP until serde_json's `float_roundtrip` was enabled.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError};
use serde::Serialize;
use shipdeck::config;
use shipdeck::domain::{
    Approval, ChecklistKind, Configuration, CustomerId, GatedPhase, HealthSample, ProbeOutcome,
    ReleaseType, Role, TierName, Version,
};
use shipdeck::engine::event::Decision;
use shipdeck::engine::state::{CheckStatus, CustomerState, Pause, TickRecord, WaveState};
use shipdeck::engine::testkit::Drill;
use shipdeck::engine::{
    self, Command, Effect, EffectResult, Event, EventKind, Input, Phase, ReleasePlan, ReleaseState,
    RollbackScope, Selection,
};
use shipdeck::runtime::journal::{JournalWriter, read_all};
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::runtime::{checkpoint, store};

// ---------------------------------------------------------------------------------
// What a case is made of (generated independently of the state; indices are
// resolved against the plan when the action runs).
// ---------------------------------------------------------------------------------

/// Everyone in the built-in roster, and one person who is not in it.
const ACTORS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "mallory",
];

#[derive(Debug, Clone)]
enum SelSpec {
    All,
    /// Which of the non-demo tiers.
    Tiers(Vec<bool>),
    /// Indices into the configured customers, each named by display name (true)
    /// or by id.
    Customers(Vec<(usize, bool)>),
}

#[derive(Debug, Clone, Copy)]
enum Reason {
    Empty,
    Blank,
    Given,
}

impl Reason {
    fn text(self) -> String {
        match self {
            Reason::Empty => String::new(),
            Reason::Blank => "  ".into(),
            Reason::Given => "because the property test said so".into(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum ListSel {
    /// The item's own list.
    Own,
    /// No list: the engine looks the item up.
    Bare,
    /// Some configured list, maybe the wrong one.
    Other(usize),
    Garbage,
}

#[derive(Debug, Clone, Copy)]
enum ItemPick {
    /// The first gating item not ticked yet: what an operator works through.
    Next,
    /// A manual item that gates a phase of this plan.
    Gating(usize),
    /// Any configured item (other types' lists, automatic items, ungated ones).
    Any(usize),
    Garbage,
}

#[derive(Debug, Clone, Copy)]
enum ScopeSpec {
    Customer(usize),
    Wave(usize),
    All,
}

#[derive(Debug, Clone, Copy)]
enum ProbeKind {
    Good,
    Bad,
    /// Up, but without figures.
    Sparse,
    Down,
    Inconclusive,
}

/// The check a probe of `kind` reports, the `n`th of a run.
fn outcome(kind: ProbeKind, n: u8) -> ProbeOutcome {
    let jitter = f64::from(n) * 0.37;
    match kind {
        ProbeKind::Good => ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: Some(0.2 + jitter * 0.1),
                latency_p95_ms: Some(98.0 + jitter),
            },
        },
        ProbeKind::Bad => ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: Some(12.5 + jitter),
                latency_p95_ms: Some(450.0 + jitter * 10.0),
            },
        },
        ProbeKind::Sparse => ProbeOutcome::Up {
            sample: HealthSample::default(),
        },
        ProbeKind::Down => ProbeOutcome::Down {
            reason: "HTTP 503".into(),
        },
        ProbeKind::Inconclusive => ProbeOutcome::Inconclusive {
            reason: "no traffic".into(),
        },
    }
}

#[derive(Debug, Clone)]
enum CmdSpec {
    TickItem {
        item: ItemPick,
        list: ListSel,
        on_word: bool,
    },
    /// The operator ticks every gating item on their word (`--yes`).
    TickAll,
    /// Takes back a tick given by mistake (issue 10).
    Untick {
        item: ItemPick,
        reason: Reason,
    },
    Approve {
        wave: Option<usize>,
        role: Option<usize>,
    },
    /// frank signs a gate twice in a row, the role left to the engine: in the cases
    /// where he holds two roles of it, the second must be refused.
    FrankSignsTwice {
        wave: Option<usize>,
    },
    SkipWait {
        wave: Option<usize>,
        reason: Reason,
    },
    Pause(Reason),
    Resume(Reason),
    Rollback {
        scope: ScopeSpec,
        reason: Reason,
        force: bool,
    },
    Abort(Reason),
    /// The flag: name every window-bound customer to deploy outside its window.
    Emergency(Reason, bool),
    ReportIssue {
        customer: usize,
        reason: Reason,
    },
    ConfirmOverdue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// It wakes at every deadline and result on the way.
    Stepwise,
    /// It was late (a suspended laptop) and catches up at once.
    Late,
    /// It runs for the first half, then stops; after the second half a new process
    /// replays the journal and attaches, then catches up.
    Down,
}

#[derive(Debug, Clone)]
enum Action {
    /// Time passes, and the runtime lives through it one of three ways.
    Advance {
        secs: u32,
        how: Pass,
    },
    /// A queued result arrives now, ahead of its time, maybe failed.
    Deliver {
        pick: usize,
        fail: bool,
    },
    /// A result that was already delivered arrives again.
    Redeliver {
        pick: usize,
    },
    Probe {
        customer: usize,
        kind: ProbeKind,
        times: u8,
    },
    /// A run of mixed checks (failures with inconclusive ones between them) on a
    /// customer whose deploy started: what the trigger rules count.
    Checks {
        customer: usize,
        kinds: Vec<ProbeKind>,
    },
    Cmd {
        actor: usize,
        cmd: CmdSpec,
    },
    /// A process (re)opens the release; `restart`: rebuilt from the journal alone.
    Attached {
        restart: bool,
    },
    Tick,
}

#[derive(Debug, Clone)]
struct Case {
    release_type: ReleaseType,
    emergency: bool,
    selection: SelSpec,
    starter: usize,
    /// Minutes after 2026-01-01 00:00 UTC: covers every weekday, hour and DST edge.
    start_minutes: u32,
    /// frank holds qa_lead, product_owner and dev_lead: two roles of one gate.
    frank_holds_many: bool,
    actions: Vec<Action>,
}

fn reason() -> impl Strategy<Value = Reason> {
    prop_oneof![
        1 => Just(Reason::Empty),
        1 => Just(Reason::Blank),
        4 => Just(Reason::Given),
    ]
}

fn idx() -> impl Strategy<Value = usize> {
    0usize..64
}

fn cmd() -> impl Strategy<Value = CmdSpec> {
    let list = prop_oneof![
        4 => Just(ListSel::Own),
        3 => Just(ListSel::Bare),
        2 => idx().prop_map(ListSel::Other),
        1 => Just(ListSel::Garbage),
    ];
    let item = prop_oneof![
        5 => Just(ItemPick::Next),
        4 => idx().prop_map(ItemPick::Gating),
        3 => idx().prop_map(ItemPick::Any),
        1 => Just(ItemPick::Garbage),
    ];
    let scope = prop_oneof![
        3 => idx().prop_map(ScopeSpec::Customer),
        2 => idx().prop_map(ScopeSpec::Wave),
        1 => Just(ScopeSpec::All),
    ];
    prop_oneof![
        20 => (item.clone(), list, any::<bool>())
            .prop_map(|(item, list, on_word)| CmdSpec::TickItem { item, list, on_word }),
        3 => Just(CmdSpec::TickAll),
        3 => (item, reason()).prop_map(|(item, reason)| CmdSpec::Untick { item, reason }),
        12 => (proptest::option::of(idx()), proptest::option::of(idx()))
            .prop_map(|(wave, role)| CmdSpec::Approve { wave, role }),
        4 => proptest::option::of(idx()).prop_map(|wave| CmdSpec::FrankSignsTwice { wave }),
        4 => (proptest::option::of(idx()), reason())
            .prop_map(|(wave, reason)| CmdSpec::SkipWait { wave, reason }),
        3 => reason().prop_map(CmdSpec::Pause),
        5 => reason().prop_map(CmdSpec::Resume),
        4 => (scope, reason(), any::<bool>())
            .prop_map(|(scope, reason, force)| CmdSpec::Rollback { scope, reason, force }),
        1 => prop_oneof![Just(Reason::Empty), Just(Reason::Blank), Just(Reason::Given)]
            .prop_map(CmdSpec::Abort),
        2 => (reason(), any::<bool>()).prop_map(|(r, o)| CmdSpec::Emergency(r, o)),
        2 => (idx(), reason()).prop_map(|(customer, reason)| CmdSpec::ReportIssue { customer, reason }),
        4 => Just(CmdSpec::ConfirmOverdue),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let secs = prop_oneof![
        3 => 0u32..120,
        4 => 120u32..3_600,
        3 => 3_600u32..86_400,
    ];
    let probe = prop_oneof![
        3 => Just(ProbeKind::Good),
        2 => Just(ProbeKind::Bad),
        1 => Just(ProbeKind::Sparse),
        2 => Just(ProbeKind::Down),
        1 => Just(ProbeKind::Inconclusive),
    ];
    prop_oneof![
        22 => (secs, prop_oneof![4 => Just(Pass::Stepwise), 3 => Just(Pass::Late), 2 => Just(Pass::Down)])
            .prop_map(|(secs, how)| Action::Advance { secs, how }),
        8 => (idx(), prop::bool::weighted(0.4)).prop_map(|(pick, fail)| Action::Deliver { pick, fail }),
        2 => idx().prop_map(|pick| Action::Redeliver { pick }),
        8 => (idx(), probe, 1u8..=6).prop_map(|(customer, kind, times)| Action::Probe { customer, kind, times }),
        6 => (idx(), prop::collection::vec(prop_oneof![
                4 => Just(ProbeKind::Down),
                3 => Just(ProbeKind::Inconclusive),
                1 => Just(ProbeKind::Good),
                1 => Just(ProbeKind::Bad),
            ], 2..=8))
            .prop_map(|(customer, kinds)| Action::Checks { customer, kinds }),
        45 => (0..ACTORS.len(), cmd()).prop_map(|(actor, cmd)| Action::Cmd { actor, cmd }),
        2 => any::<bool>().prop_map(|restart| Action::Attached { restart }),
        2 => Just(Action::Tick),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let selection = prop_oneof![
        3 => Just(SelSpec::All),
        1 => prop::collection::vec(any::<bool>(), 3).prop_map(SelSpec::Tiers),
        1 => prop::collection::vec((idx(), any::<bool>()), 1..6).prop_map(SelSpec::Customers),
    ];
    (
        prop::sample::select(ReleaseType::ALL.to_vec()),
        any::<bool>(),
        selection,
        0..ACTORS.len(),
        0u32..525_600,
        any::<bool>(),
        prop::collection::vec(action(), 20..=120),
    )
        .prop_map(
            |(
                release_type,
                emergency,
                selection,
                starter,
                start_minutes,
                frank_holds_many,
                actions,
            )| Case {
                release_type,
                emergency,
                selection,
                starter,
                start_minutes,
                frank_holds_many,
                actions,
            },
        )
}

// ---------------------------------------------------------------------------------
// Invariant 2 (and 1 on events), checked from the event log alone.
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Pending,
    Window,
    Deploying,
    Verifying,
    Healthy,
    Failed,
    RollingBack,
    RolledBack,
}

/// What the log says so far, tracked by this test's own reading of the events.
struct Checker {
    plan: ReleasePlan,
    starter: String,
    emergency: bool,
    /// EmergencyDeclared named the wave's approvals as skipped.
    approvals_skipped: Vec<bool>,
    /// EmergencyDeclared named these window-bound customers to deploy outside.
    windows_overridden: BTreeSet<CustomerId>,
    demo_done: Option<DateTime<Utc>>,
    started: Vec<Option<DateTime<Utc>>>,
    completed: Vec<bool>,
    skipped: Vec<bool>,
    /// Customers an operator let deploy outside their maintenance window.
    window_skipped: BTreeSet<CustomerId>,
    approvals: Vec<Vec<(Role, String)>>,
    ticks: BTreeSet<(String, String)>,
    validation_started: bool,
    validated: bool,
    paused: bool,
    ended: bool,
    deploy_events: HashMap<CustomerId, u32>,
    deploy_effects: HashMap<CustomerId, u32>,
    status: HashMap<CustomerId, Seen>,
    wave_of: HashMap<CustomerId, usize>,
    last_at: DateTime<Utc>,
    /// When the current pause began.
    paused_since: Option<DateTime<Utc>>,
    /// Time paused after the demo wave completed: every later wait moves by it.
    paused_after_demo: TimeDelta,
    /// Per customer, failed checks since its last good one, after its deploy
    /// started; inconclusive checks leave the count alone.
    downs: HashMap<CustomerId, u32>,
    /// Per customer, the outcome of its last check.
    last_sample: HashMap<CustomerId, ProbeOutcome>,
    /// Customers whose failures reached the rule in this step: a trigger is owed.
    owed_trigger: BTreeSet<CustomerId>,
}

impl Checker {
    fn new(first: &Event) -> Checker {
        let EventKind::ReleasePlanned { plan, actor } = &first.event else {
            panic!("a journal starts with release_planned");
        };
        let n = plan.waves.len();
        let mut status = HashMap::new();
        let mut wave_of = HashMap::new();
        for (wi, w) in plan.waves.iter().enumerate() {
            for c in &w.customers {
                status.insert(c.id.clone(), Seen::Pending);
                wave_of.insert(c.id.clone(), wi);
            }
        }
        Checker {
            plan: (**plan).clone(),
            starter: actor.clone(),
            emergency: plan.emergency,
            approvals_skipped: vec![false; n],
            windows_overridden: BTreeSet::new(),
            demo_done: None,
            started: vec![None; n],
            completed: vec![false; n],
            skipped: vec![false; n],
            window_skipped: BTreeSet::new(),
            approvals: vec![Vec::new(); n],
            ticks: BTreeSet::new(),
            validation_started: false,
            validated: false,
            paused: false,
            ended: false,
            deploy_events: HashMap::new(),
            deploy_effects: HashMap::new(),
            status,
            wave_of,
            last_at: first.at,
            paused_since: None,
            paused_after_demo: TimeDelta::zero(),
            downs: HashMap::new(),
            last_sample: HashMap::new(),
            owed_trigger: BTreeSet::new(),
        }
    }

    /// After a step's events: every trigger the failures owed has fired.
    fn end_of_step(&mut self) -> Result<(), TestCaseError> {
        let owed = std::mem::take(&mut self.owed_trigger);
        prop_assert!(
            owed.is_empty(),
            "{owed:?} reached {} consecutive failed checks (inconclusive ones not counted) \
             but no trigger fired",
            self.plan.policy.triggers.consecutive_failures
        );
        Ok(())
    }

    /// A health sample, as this test reads the rules (README, "Health and
    /// triggers"): only checks after the deploy of a verifying or healthy customer
    /// during the rollout or monitoring count; an inconclusive one changes nothing.
    fn sampled(&mut self, customer: &CustomerId, outcome: &ProbeOutcome) {
        self.last_sample.insert(customer.clone(), outcome.clone());
        let deployed = self.deploy_events.get(customer).copied().unwrap_or(0) > 0;
        let watched = matches!(
            self.status.get(customer),
            Some(Seen::Verifying | Seen::Healthy)
        ) && self.validated
            && !self.ended;
        if !deployed || !watched {
            return;
        }
        let downs = self.downs.entry(customer.clone()).or_default();
        match outcome {
            ProbeOutcome::Down { .. } => *downs += 1,
            ProbeOutcome::Up { .. } => *downs = 0,
            ProbeOutcome::Inconclusive { .. } => {}
        }
        let need = self.plan.policy.triggers.consecutive_failures.max(1);
        if outcome.is_down() && *downs >= need {
            self.owed_trigger.insert(customer.clone());
        }
    }

    fn wave(&self, tier: &TierName) -> Result<usize, TestCaseError> {
        self.plan
            .waves
            .iter()
            .position(|w| &w.tier == tier)
            .ok_or_else(|| TestCaseError::fail(format!("event names unknown wave {tier}")))
    }

    /// The manual items gating `phase` that the log has no tick for. The hotfix list
    /// counts in emergency mode only; the rollback list gates nothing.
    fn unticked(&self, phase: GatedPhase) -> Vec<String> {
        let mut out = Vec::new();
        for list in &self.plan.checklists {
            let counts = match list.kind {
                ChecklistKind::PreRelease | ChecklistKind::Deployment => true,
                ChecklistKind::Hotfix => self.emergency,
                ChecklistKind::Rollback => false,
            };
            if !counts {
                continue;
            }
            for item in &list.items {
                if item.gates == Some(phase)
                    && item.check.is_none()
                    && !self.ticks.contains(&(list.id.clone(), item.id.clone()))
                {
                    out.push(format!("{}/{}", list.id, item.id));
                }
            }
        }
        out
    }

    /// The wave may be followed: completed, or started with every customer settled
    /// or deferred to its maintenance window (README: "cleared").
    fn cleared(&self, wi: usize) -> bool {
        if self.completed[wi] {
            return true;
        }
        self.started[wi].is_some()
            && self.plan.waves[wi].customers.iter().all(|c| {
                matches!(
                    self.status.get(&c.id),
                    Some(Seen::Healthy | Seen::Failed | Seen::RolledBack | Seen::Window)
                )
            })
    }

    fn roles_of_gate(&self, wi: usize) -> Vec<Role> {
        // From the policy row, not from the plan's own helper.
        let tier = &self.plan.waves[wi].tier;
        match self
            .plan
            .policy
            .waves
            .iter()
            .find(|r| &r.tier == tier)
            .map(|r| &r.approval)
        {
            Some(Approval::Manual { roles }) => roles.clone(),
            _ => Vec::new(),
        }
    }

    fn delay_of(&self, wi: usize) -> TimeDelta {
        let tier = &self.plan.waves[wi].tier;
        self.plan
            .policy
            .waves
            .iter()
            .find(|r| &r.tier == tier)
            .map(|r| r.delay.to_delta())
            .unwrap_or_default()
    }

    fn observe(&mut self, e: &Event) -> Result<(), TestCaseError> {
        let t = e.at;
        prop_assert!(t >= self.last_at, "time ran backwards in the log: {e:?}");
        self.last_at = t;
        match &e.event {
            EventKind::ReleasePlanned { .. } => {
                prop_assert!(false, "a second release_planned");
            }
            EventKind::ItemTicked {
                checklist, item, ..
            } => {
                let key = (checklist.clone(), item.clone());
                prop_assert!(
                    !self.ticks.contains(&key),
                    "{checklist}/{item} ticked twice"
                );
                let real = self.plan.checklists.iter().any(|l| {
                    &l.id == checklist && l.items.iter().any(|i| &i.id == item && i.check.is_none())
                });
                prop_assert!(
                    real,
                    "ticked {checklist}/{item}, not a manual item of this plan"
                );
                self.ticks.insert(key);
            }
            EventKind::ItemUnticked {
                checklist, item, ..
            } => {
                let key = (checklist.clone(), item.clone());
                prop_assert!(
                    self.ticks.remove(&key),
                    "{checklist}/{item} unticked but never ticked"
                );
                // Its phase must not have started (this test's own reading).
                let gates = self
                    .plan
                    .checklists
                    .iter()
                    .find(|l| &l.id == checklist)
                    .filter(|l| match l.kind {
                        ChecklistKind::PreRelease | ChecklistKind::Deployment => true,
                        ChecklistKind::Hotfix => self.emergency,
                        ChecklistKind::Rollback => false,
                    })
                    .and_then(|l| l.items.iter().find(|i| &i.id == item))
                    .and_then(|i| i.gates);
                let started = match gates {
                    Some(GatedPhase::Validation) => self.validation_started,
                    Some(GatedPhase::Demo) => self.started[0].is_some(),
                    Some(GatedPhase::Customers) => self.started.iter().skip(1).any(|s| s.is_some()),
                    None => false,
                };
                prop_assert!(
                    !started,
                    "{checklist}/{item} unticked after its phase started"
                );
            }
            EventKind::ValidationStarted => {
                prop_assert!(!self.validation_started, "validation started twice");
                prop_assert!(!self.paused, "validation started while paused");
                let missing = self.unticked(GatedPhase::Validation);
                prop_assert!(
                    missing.is_empty(),
                    "validation started at {t} with unticked items {missing:?}"
                );
                self.validation_started = true;
            }
            EventKind::ValidationPassed => {
                prop_assert!(
                    self.validation_started,
                    "validation passed before it started"
                );
                self.validated = true;
            }
            EventKind::WaveStarted { wave } => {
                let wi = self.wave(wave)?;
                self.check_wave_start(wi, t)?;
                self.started[wi] = Some(t);
            }
            EventKind::WaveCompleted { wave } => {
                let wi = self.wave(wave)?;
                prop_assert!(
                    self.started[wi].is_some(),
                    "wave {wave} completed without starting"
                );
                prop_assert!(!self.completed[wi], "wave {wave} completed twice");
                self.completed[wi] = true;
                if wi == 0 {
                    self.demo_done = Some(t);
                }
            }
            EventKind::ApprovalSigned { wave, role, actor } => {
                let wi = self.wave(wave)?;
                prop_assert!(
                    self.started[wi].is_none(),
                    "{actor} signed {wave} after it started"
                );
                prop_assert!(
                    self.roles_of_gate(wi).contains(role),
                    "{actor} signed {wave} as {role}, a role its gate does not ask for"
                );
                let person = self.plan.roster.people.iter().find(|p| &p.name == actor);
                prop_assert!(
                    person.is_some_and(|p| p.roles.contains(role)),
                    "{actor} signed {wave} as {role} without holding that role"
                );
                let rules = &self.plan.policy.approvals;
                prop_assert!(
                    rules.starter_may_approve || actor != &self.starter,
                    "the starter {actor} signed {wave}"
                );
                let signed = &self.approvals[wi];
                prop_assert!(
                    !signed.iter().any(|(r, _)| r == role),
                    "{wave} role {role} signed twice"
                );
                prop_assert!(
                    rules.one_person_many_roles || !signed.iter().any(|(_, by)| by == actor),
                    "{actor} signed two roles of {wave}"
                );
                self.approvals[wi].push((role.clone(), actor.clone()));
            }
            EventKind::WaitSkipped { wave, .. } => {
                let wi = self.wave(wave)?;
                prop_assert!(wi > 0, "the demo wave has no wait to skip");
                prop_assert!(
                    self.started[wi].is_none(),
                    "skipped the wait of {wave} after it started"
                );
                self.skipped[wi] = true;
            }
            EventKind::WindowWaitSkipped {
                wave,
                customers,
                reason,
                ..
            } => {
                let wi = self.wave(wave)?;
                prop_assert!(
                    self.started[wi].is_some(),
                    "skipped window waits of {wave} before it started"
                );
                prop_assert!(!reason.trim().is_empty(), "a window skip without a reason");
                self.window_skipped.extend(customers.iter().cloned());
            }
            EventKind::CustomerWaitingForWindow { customer, opens_at } => {
                prop_assert!(*opens_at > t, "{customer} waits for a window already open");
                self.set(customer, Seen::Window)?;
            }
            EventKind::DeployStarted { customer, version } => {
                prop_assert_eq!(version, &self.plan.version);
                let n = self.deploy_events.entry(customer.clone()).or_default();
                *n += 1;
                prop_assert!(*n <= 1, "{} got deploy_started {} times", customer, n);
                let wi = *self.wave_of.get(customer).ok_or_else(|| {
                    TestCaseError::fail(format!("deploy to {customer}, not in the plan"))
                })?;
                prop_assert!(
                    self.started[wi].is_some(),
                    "{customer} deployed before its wave started"
                );
                prop_assert!(!self.paused, "{customer} deployed while paused");
                prop_assert!(!self.ended, "{customer} deployed after the release ended");
                let wave = &self.plan.waves[wi];
                let cp = wave.customers.iter().find(|c| &c.id == customer);
                if let Some(cp) = cp {
                    // An emergency skips a tier's windows, but a window-bound
                    // customer keeps its own unless the operator named it; a skipped
                    // wait skips either.
                    let windowed = ((matches!(wave.approval, Approval::MaintenanceWindow)
                        && !self.emergency)
                        || (cp.window_only && !self.windows_overridden.contains(customer)))
                        && !self.window_skipped.contains(customer);
                    if windowed {
                        if let Some(win) = &cp.window {
                            prop_assert!(
                                win.is_open(t),
                                "{customer} deployed at {t} outside its window {}",
                                win.describe()
                            );
                        }
                    }
                }
                self.set(customer, Seen::Deploying)?;
            }
            // A customer already being rolled back keeps that course.
            EventKind::DeployFinished { customer, ok, .. }
                if *ok && self.status.get(customer) == Some(&Seen::Deploying) =>
            {
                self.set(customer, Seen::Verifying)?;
            }
            EventKind::CustomerHealthy { customer } => self.set(customer, Seen::Healthy)?,
            EventKind::CustomerFailed { customer, .. } => self.set(customer, Seen::Failed)?,
            EventKind::RollbackStarted { customer, .. } => self.set(customer, Seen::RollingBack)?,
            EventKind::RollbackFinished { customer, ok, .. } => {
                self.set(customer, if *ok { Seen::RolledBack } else { Seen::Failed })?
            }
            EventKind::Paused { .. } => {
                prop_assert!(!self.paused, "paused twice without a resume");
                self.paused = true;
                self.paused_since = Some(t);
            }
            EventKind::Resumed { .. } => {
                prop_assert!(self.paused, "resumed while not paused");
                self.paused = false;
                if let (Some(since), Some(demo_done)) = (self.paused_since, self.demo_done) {
                    // Whole seconds, as the journal counts the paused time.
                    let paused = (t - since.max(demo_done)).num_seconds().max(0);
                    self.paused_after_demo += TimeDelta::seconds(paused);
                }
                self.paused_since = None;
            }
            EventKind::HealthSampled { customer, outcome } => {
                prop_assert!(
                    self.status.contains_key(customer),
                    "a sample of {customer}, not in the plan"
                );
                self.sampled(customer, outcome);
            }
            EventKind::TriggerFired {
                customer,
                trigger,
                evidence,
            } => {
                prop_assert!(
                    evidence
                        .samples
                        .iter()
                        .all(|o| !matches!(o, ProbeOutcome::Inconclusive { .. })),
                    "the evidence of a trigger on {customer} holds an inconclusive check: {evidence:?}"
                );
                if *trigger != engine::triggers::TriggerKind::CustomerReported {
                    let last = self.last_sample.get(customer);
                    prop_assert!(
                        matches!(
                            last,
                            Some(ProbeOutcome::Up { .. } | ProbeOutcome::Down { .. })
                        ),
                        "{trigger:?} fired on {customer} after the check {last:?}"
                    );
                }
                if *trigger == engine::triggers::TriggerKind::ConsecutiveFailures {
                    let downs = self.downs.get(customer).copied().unwrap_or(0);
                    prop_assert!(
                        downs >= self.plan.policy.triggers.consecutive_failures.max(1),
                        "consecutive failures fired on {customer} after {downs} failed checks"
                    );
                }
                self.owed_trigger.remove(customer);
            }
            EventKind::EmergencyDeclared {
                approvals_skipped,
                windows_overridden,
                ..
            } => {
                self.windows_overridden
                    .extend(windows_overridden.iter().cloned());
                prop_assert!(!self.emergency, "emergency declared twice");
                prop_assert!(
                    self.plan.release_type.is_patch(),
                    "emergency on a non-patch release"
                );
                self.emergency = true;
                for w in approvals_skipped {
                    let wi = self.wave(w)?;
                    self.approvals_skipped[wi] = true;
                }
            }
            EventKind::Completed | EventKind::Aborted { .. } => {
                prop_assert!(!self.ended, "the release ended twice");
                self.ended = true;
            }
            EventKind::RolledBack => {
                prop_assert!(!self.ended, "the release ended twice");
                self.ended = true;
                self.paused = false;
                self.paused_since = None;
            }
            _ => {}
        }
        Ok(())
    }

    fn set(&mut self, customer: &CustomerId, to: Seen) -> Result<(), TestCaseError> {
        let slot = self
            .status
            .get_mut(customer)
            .ok_or_else(|| TestCaseError::fail(format!("event for {customer}, not in the plan")))?;
        *slot = to;
        Ok(())
    }

    /// No wave before its gate.
    fn check_wave_start(&self, wi: usize, t: DateTime<Utc>) -> Result<(), TestCaseError> {
        let tier = &self.plan.waves[wi].tier;
        prop_assert!(self.started[wi].is_none(), "wave {tier} started twice");
        prop_assert!(
            self.validated,
            "wave {tier} started before validation passed"
        );
        prop_assert!(!self.paused, "wave {tier} started while paused");
        prop_assert!(!self.ended, "wave {tier} started after the release ended");
        let phase = if wi == 0 {
            GatedPhase::Demo
        } else {
            GatedPhase::Customers
        };
        let missing = self.unticked(phase);
        prop_assert!(
            missing.is_empty(),
            "wave {tier} started at {t} with unticked {} items {missing:?}",
            phase.as_str()
        );
        if wi == 0 {
            return Ok(());
        }
        // (c) the wave before it (in emergency: the demo wave) is cleared.
        let before = if self.emergency { 0 } else { wi - 1 };
        prop_assert!(
            self.cleared(before),
            "wave {tier} started at {t} before wave {} was cleared",
            self.plan.waves[before].tier
        );
        // (a) its delay after the demo wave completed, unless skipped (emergency: none).
        if !self.emergency && !self.skipped[wi] {
            let Some(demo_done) = self.demo_done else {
                return Err(TestCaseError::fail(format!(
                    "wave {tier} started at {t} before the demo wave completed"
                )));
            };
            let due = demo_done + self.delay_of(wi) + self.paused_after_demo;
            prop_assert!(
                t >= due,
                "wave {tier} started at {t}, before its delay ended at {due} (demo completed \
                 {demo_done}, paused {} since)",
                self.paused_after_demo
            );
        }
        // (b) every role its gate asks for signed, or the skip recorded (emergency).
        for role in self.roles_of_gate(wi) {
            let signed = self.approvals[wi].iter().any(|(r, _)| r == &role);
            let skip_recorded =
                self.emergency && (self.plan.emergency || self.approvals_skipped[wi]);
            prop_assert!(
                signed || skip_recorded,
                "wave {tier} started at {t} without a {role} signature"
            );
        }
        Ok(())
    }

    fn observe_effect(&mut self, effect: &Effect) -> Result<(), TestCaseError> {
        if let Effect::Deploy { customer, .. } = effect {
            let n = self.deploy_effects.entry(customer.clone()).or_default();
            *n += 1;
            prop_assert!(*n <= 1, "{} got Effect::Deploy {} times", customer, n);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// The world: a manual clock, queued effect results, the log; every input checked.
// ---------------------------------------------------------------------------------

struct World {
    cfg: Configuration,
    /// The release on the engine's test kit: the state, the clock, the results the
    /// world will deliver (deploys as their targets expect, rollbacks in 2 minutes,
    /// checks in 1, all successful; no check after a deploy but the probes the
    /// actions deliver) and the log.
    drill: Drill,
    delivered: Vec<EffectResult>,
    /// Events per step that produced some: the group commits of the runtime.
    batches: Vec<usize>,
    checker: Checker,
    steps: usize,
    /// `bytes` of the state as the last step left it.
    last: Vec<u8>,
}

fn json(state: &ReleaseState) -> serde_json::Value {
    serde_json::to_value(state).expect("the state serializes")
}

/// The state without its plan, which never changes and is most of the bytes: the
/// plan is compared with `==` instead. `view_covers_the_state` keeps this in step
/// with `ReleaseState` (a field added there and not here fails the test).
#[derive(Serialize)]
struct View<'a> {
    started_by: &'a String,
    captain: &'a String,
    started_at: &'a DateTime<Utc>,
    phase: &'a Phase,
    emergency: &'a bool,
    pause: &'a Option<Pause>,
    ticks: &'a BTreeMap<String, TickRecord>,
    checks: &'a BTreeMap<String, CheckStatus>,
    held_phases: &'a BTreeSet<GatedPhase>,
    validated_at: &'a Option<DateTime<Utc>>,
    waves: &'a Vec<WaveState>,
    customers: &'a Vec<CustomerState>,
    anchor: &'a Option<DateTime<Utc>>,
    shift: &'a TimeDelta,
    rolling_back_all: &'a bool,
    windows_overridden: &'a BTreeSet<CustomerId>,
    rollout_completed_at: &'a Option<DateTime<Utc>>,
    monitoring_until: &'a Option<DateTime<Utc>>,
    rollback_window_until: &'a Option<DateTime<Utc>>,
    ended_at: &'a Option<DateTime<Utc>>,
    decisions: &'a Vec<Decision>,
    last_event_at: &'a DateTime<Utc>,
    events_applied: &'a u64,
    outbox: &'a shipdeck::engine::Outbox,
    approval_noticed: &'a BTreeSet<shipdeck::domain::TierName>,
}

fn view(s: &ReleaseState) -> View<'_> {
    View {
        started_by: &s.started_by,
        captain: &s.captain,
        started_at: &s.started_at,
        phase: &s.phase,
        emergency: &s.emergency,
        pause: &s.pause,
        ticks: &s.ticks,
        checks: &s.checks,
        held_phases: &s.held_phases,
        validated_at: &s.validated_at,
        waves: &s.waves,
        customers: &s.customers,
        anchor: &s.anchor,
        shift: &s.shift,
        rolling_back_all: &s.rolling_back_all,
        windows_overridden: &s.windows_overridden,
        rollout_completed_at: &s.rollout_completed_at,
        monitoring_until: &s.monitoring_until,
        rollback_window_until: &s.rollback_window_until,
        ended_at: &s.ended_at,
        decisions: &s.decisions,
        last_event_at: &s.last_event_at,
        events_applied: &s.events_applied,
        outbox: &s.outbox,
        approval_noticed: &s.approval_noticed,
    }
}

/// The state but its plan, as JSON text: the cheap form of `to_value` equality for
/// every step (no map in the state is unordered, so equal states give equal bytes).
fn bytes(state: &ReleaseState) -> Vec<u8> {
    serde_json::to_vec(&view(state)).expect("the state serializes")
}

/// Every field of the state is in the view, or is the plan.
fn view_covers_the_state(state: &ReleaseState) -> Result<(), TestCaseError> {
    let keys = |v: serde_json::Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut covered = keys(serde_json::to_value(view(state)).expect("serializes"));
    covered.insert("plan".into());
    let all = keys(json(state));
    prop_assert_eq!(covered, all, "a ReleaseState field is missing from View");
    Ok(())
}

/// Why two serialized views differ, for a failure message.
fn explain(a: &[u8], b: &[u8]) -> String {
    let parse = |x: &[u8]| serde_json::from_slice::<serde_json::Value>(x).unwrap_or_default();
    first_diff(&parse(a), &parse(b), "state").unwrap_or_default()
}

/// Where two JSON values first differ, for a failure message a person can use.
fn first_diff(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{path}.{k}");
                match y.get(k) {
                    Some(vb) => {
                        if let Some(d) = first_diff(va, vb, &p) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{p}: {va} vs (absent)")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}: (absent) vs {}", y[k]))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (va, vb))| first_diff(va, vb, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

impl World {
    fn start(c: &Case) -> Result<World, TestCaseError> {
        let mut cfg = config::load_builtin().expect("built-in config");
        if c.frank_holds_many {
            // Two roles of the minor release's standard and enterprise gates
            // (qa_lead + product_owner) and of the major release's startup gate
            // (qa_lead + dev_lead). The plan carries this roster.
            for p in &mut cfg.roster.people {
                if p.name == "frank" {
                    p.roles
                        .extend(["product_owner", "dev_lead"].map(|r| Role(r.into())));
                }
            }
        }
        let version: Version = match c.release_type {
            ReleaseType::Minor => "v1.1.0",
            ReleaseType::Major => "v2.0.0",
            _ => "v1.0.1",
        }
        .parse()
        .expect("a version");
        let selection = match &c.selection {
            SelSpec::All => Selection::All,
            SelSpec::Tiers(pick) => Selection::Tiers(
                cfg.tiers
                    .iter()
                    .skip(1)
                    .zip(pick)
                    .filter(|(_, p)| **p)
                    .map(|(t, _)| t.name.clone())
                    .collect(),
            ),
            SelSpec::Customers(pick) => Selection::Customers(
                pick.iter()
                    .map(|(i, by_name)| {
                        let cu = &cfg.customers[i % cfg.customers.len()];
                        if *by_name {
                            cu.name.clone()
                        } else {
                            cu.id.to_string()
                        }
                    })
                    .collect(),
            ),
        };
        let emergency = c.emergency && c.release_type.is_patch();
        if c.emergency && !emergency {
            prop_assert!(
                ReleasePlan::build(&cfg, version.clone(), c.release_type, Selection::All, true)
                    .is_err(),
                "emergency accepted for a non-patch type"
            );
        }
        // A selection that names nobody real is refused by the planner; run all then.
        let plan = ReleasePlan::build(&cfg, version, c.release_type, selection, emergency)
            .or_else(|_| {
                ReleasePlan::build(
                    &cfg,
                    "v1.0.1".parse().expect("a version"),
                    c.release_type,
                    Selection::All,
                    emergency,
                )
            })
            .expect("a plan for all customers");
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("a time");
        let t0 = t0 + TimeDelta::minutes(i64::from(c.start_minutes));
        let mut drill = Drill::new(plan, ACTORS[c.starter], t0).expect("fold of the plan event");
        drill.answers.checked_after_deploy = None;
        let state_for_bytes = drill.state.clone();
        let checker = Checker::new(&drill.log[0]);
        Ok(World {
            cfg,
            drill,
            delivered: Vec::new(),
            batches: vec![1],
            checker,
            steps: 0,
            last: bytes(&state_for_bytes),
        })
    }

    /// One `step`, with invariants 1–4 checked around it.
    fn input(&mut self, input: Input) -> Result<(), TestCaseError> {
        self.steps += 1;
        // The world queues its answers to the effects at once; the effects are
        // checked below all the same.
        let result = self.drill.decide(&input);
        // What it was before is what the last step left (`bytes` of it).
        let after = bytes(&self.drill.state);
        let before = std::mem::replace(&mut self.last, after.clone());
        prop_assert!(
            *self.drill.state.plan == self.checker.plan,
            "the plan changed after {input:?}"
        );
        let d = match result {
            Err(refused) => {
                // 3. A refusal changes nothing.
                prop_assert!(
                    before == after,
                    "refused {input:?} ({refused}) but the state changed: before vs after {}",
                    explain(&before, &after)
                );
                return Ok(());
            }
            Ok(d) => d,
        };
        if d.events.is_empty() {
            // 3. No event, no change.
            prop_assert!(
                before == after,
                "{input:?} produced no event but changed the state: before vs after {}",
                explain(&before, &after)
            );
            prop_assert!(
                d.effects.is_empty(),
                "effects without events: {:?}",
                d.effects
            );
            return Ok(());
        }
        for e in &d.events {
            prop_assert_eq!(e.at, self.drill.now, "event stamped with another time");
            self.checker.observe(e)?;
        }
        self.checker.end_of_step()?;
        for eff in &d.effects {
            self.checker.observe_effect(eff)?;
        }
        self.batches.push(d.events.len());
        // 4. Replay equals live, after every step.
        let replayed = ReleaseState::fold(&self.drill.log).expect("the log folds");
        let replayed_bytes = bytes(&replayed);
        prop_assert!(
            replayed_bytes == after && replayed.plan == self.drill.state.plan,
            "replaying the log does not rebuild the live state after {input:?}: replayed vs live {}",
            explain(&replayed_bytes, &after)
        );
        Ok(())
    }

    fn deliver(&mut self, r: EffectResult) -> Result<(), TestCaseError> {
        self.delivered.push(r.clone());
        self.input(Input::Result(r))
    }

    /// Delivers every queued result due by now, oldest first.
    fn deliver_due(&mut self) -> Result<(), TestCaseError> {
        loop {
            let next = self
                .drill
                .queue
                .iter()
                .enumerate()
                .filter(|(_, (t, _))| *t <= self.drill.now)
                .min_by_key(|(i, (t, _))| (*t, *i))
                .map(|(i, _)| i);
            let Some(i) = next else { return Ok(()) };
            let (_, r) = self.drill.queue.remove(i);
            self.deliver(r)?;
        }
    }

    /// A new process: the state is what the journal says, nothing else.
    fn restart(&mut self) -> Result<(), TestCaseError> {
        self.drill.state = ReleaseState::fold(&self.drill.log).expect("the log folds");
        let fresh = bytes(&self.drill.state);
        prop_assert!(fresh == self.last, "a restart does not rebuild the state");
        Ok(())
    }

    fn advance(&mut self, d: TimeDelta, how: Pass) -> Result<(), TestCaseError> {
        let limit = self.drill.now + d;
        if how == Pass::Down {
            self.advance(d / 2, Pass::Stepwise)?;
            self.drill.now = limit;
            self.restart()?;
            self.input(Input::Attached)?;
        }
        if how == Pass::Stepwise {
            let mut rounds = 0;
            loop {
                let next_result = self.drill.queue.iter().map(|(t, _)| *t).min();
                let deadline = engine::next_deadline(&self.drill.state, self.drill.now);
                if let Some(dl) = deadline {
                    prop_assert!(dl > self.drill.now, "next_deadline {dl} is not after now");
                }
                let next = match (deadline, next_result) {
                    (Some(a), Some(b)) => a.min(b),
                    (a, b) => match a.or(b) {
                        Some(t) => t,
                        None => break,
                    },
                };
                if next > limit {
                    break;
                }
                self.drill.now = self.drill.now.max(next);
                self.deliver_due()?;
                self.input(Input::Tick)?;
                rounds += 1;
                prop_assert!(rounds < 10_000, "time does not settle: {rounds} wake-ups");
            }
        }
        self.drill.now = limit;
        self.deliver_due()?;
        self.input(Input::Tick)
    }

    fn customers(&self) -> Vec<CustomerId> {
        let mut ids: Vec<CustomerId> = self
            .drill
            .state
            .customers
            .iter()
            .map(|c| c.id.clone())
            .collect();
        ids.push(CustomerId::new("ghost"));
        ids
    }

    /// The plan's customers held to their own maintenance window.
    fn window_bound(&self) -> Vec<CustomerId> {
        self.drill
            .state
            .plan
            .waves
            .iter()
            .flat_map(|w| &w.customers)
            .filter(|c| c.window_only)
            .map(|c| c.id.clone())
            .collect()
    }

    fn any_customer(&self, i: usize) -> CustomerId {
        // Customers of this plan mostly; sometimes configured ones outside it.
        let mut ids = self.customers();
        ids.extend(self.cfg.customers.iter().map(|c| c.id.clone()));
        let plan_len = self.drill.state.customers.len() + 1;
        if i % 4 == 3 {
            ids[plan_len + (i / 4) % (ids.len() - plan_len)].clone()
        } else {
            ids[i % plan_len].clone()
        }
    }

    fn wave_name(&self, i: usize) -> TierName {
        let mut tiers: Vec<TierName> = self.cfg.tiers.iter().map(|t| t.name.clone()).collect();
        tiers.push(TierName::new("nope"));
        tiers[i % tiers.len()].clone()
    }

    fn role(&self, i: usize) -> Role {
        let mut roles: Vec<Role> = self.cfg.roster.roles.iter().map(|r| r.id.clone()).collect();
        roles.push(Role::new("janitor"));
        roles[i % roles.len()].clone()
    }

    fn gating_items(&self) -> Vec<(String, String)> {
        self.drill
            .state
            .plan
            .checklists
            .iter()
            .flat_map(|l| {
                l.items
                    .iter()
                    .filter(|i| i.gates.is_some() && i.check.is_none())
                    .map(move |i| (l.id.clone(), i.id.clone()))
            })
            .collect()
    }

    fn tick_command(&self, item: ItemPick, list: ListSel, on_word: bool) -> Command {
        let all: Vec<(String, String)> = self
            .cfg
            .checklists
            .iter()
            .flat_map(|l| l.items.iter().map(move |i| (l.id.clone(), i.id.clone())))
            .collect();
        let (own, item) = match item {
            ItemPick::Next => {
                let g = self.gating_items();
                let ticked = |(l, i): &&(String, String)| {
                    self.checker.ticks.contains(&(l.clone(), i.clone()))
                };
                g.iter().find(|x| !ticked(x)).unwrap_or(&g[0]).clone()
            }
            ItemPick::Gating(i) => {
                let g = self.gating_items();
                g[i % g.len()].clone()
            }
            ItemPick::Any(i) => all[i % all.len()].clone(),
            ItemPick::Garbage => ("nope".into(), "no-such-item".into()),
        };
        let checklist = match list {
            ListSel::Own => Some(own),
            ListSel::Bare => None,
            ListSel::Other(i) => Some(
                self.cfg.checklists[i % self.cfg.checklists.len()]
                    .id
                    .clone(),
            ),
            ListSel::Garbage => Some("no-such-list".into()),
        };
        Command::TickItem {
            checklist,
            item,
            on_word,
        }
    }

    fn command(&mut self, actor: &str, command: Command) -> Result<(), TestCaseError> {
        self.input(Input::Command {
            actor: actor.into(),
            command,
        })
    }

    fn run(&mut self, a: &Action) -> Result<(), TestCaseError> {
        match a {
            Action::Advance { secs, how } => {
                self.advance(TimeDelta::seconds(i64::from(*secs)), *how)
            }
            Action::Deliver { pick, fail } => {
                if self.drill.queue.is_empty() {
                    return self.input(Input::Tick);
                }
                let (_, mut r) = self.drill.queue.remove(pick % self.drill.queue.len());
                if *fail {
                    match &mut r {
                        EffectResult::DeployFinished { ok, detail, .. }
                        | EffectResult::RollbackFinished { ok, detail, .. }
                        | EffectResult::CheckFinished { ok, detail, .. } => {
                            *ok = false;
                            *detail = "boom".into();
                        }
                        EffectResult::NoticeDelivered { ok, answer, .. } => {
                            *ok = false;
                            *answer = "boom".into();
                        }
                        EffectResult::Probed { .. } | EffectResult::DeployRetrying { .. } => {}
                    }
                }
                self.deliver(r)
            }
            Action::Redeliver { pick } => {
                if self.delivered.is_empty() {
                    return self.input(Input::Tick);
                }
                let r = self.delivered[pick % self.delivered.len()].clone();
                self.deliver(r)
            }
            Action::Probe {
                customer,
                kind,
                times,
            } => {
                let customer = self.any_customer(*customer);
                for n in 0..*times {
                    self.input(Input::Result(EffectResult::Probed {
                        customer: customer.clone(),
                        outcome: outcome(*kind, n),
                    }))?;
                }
                Ok(())
            }
            Action::Checks { customer, kinds } => {
                let deployed: Vec<CustomerId> = self
                    .drill
                    .state
                    .customers
                    .iter()
                    .filter(|c| c.deploys_started > 0)
                    .map(|c| c.id.clone())
                    .collect();
                let customer = if deployed.is_empty() {
                    self.any_customer(*customer)
                } else {
                    deployed[customer % deployed.len()].clone()
                };
                for (n, kind) in (0u8..).zip(kinds) {
                    self.input(Input::Result(EffectResult::Probed {
                        customer: customer.clone(),
                        outcome: outcome(*kind, n),
                    }))?;
                }
                Ok(())
            }
            Action::Attached { restart } => {
                if *restart {
                    self.restart()?;
                }
                self.input(Input::Attached)
            }
            Action::Tick => self.input(Input::Tick),
            Action::Cmd { actor, cmd } => {
                let actor = ACTORS[*actor];
                let command = match cmd {
                    CmdSpec::TickItem {
                        item,
                        list,
                        on_word,
                    } => self.tick_command(*item, *list, *on_word),
                    CmdSpec::Untick { item, reason } => {
                        // Mostly an item the log has ticked; sometimes none.
                        let ticked: Vec<(String, String)> =
                            self.checker.ticks.iter().cloned().collect();
                        let (checklist, item) = match (item, ticked.len()) {
                            (ItemPick::Garbage, _) | (_, 0) => (None, "no-such-item".to_string()),
                            (ItemPick::Next, n) => {
                                let (l, i) = ticked[n - 1].clone();
                                (Some(l), i)
                            }
                            (ItemPick::Gating(k) | ItemPick::Any(k), n) => {
                                let (l, i) = ticked[*k % n].clone();
                                (Some(l), i)
                            }
                        };
                        Command::UntickItem {
                            checklist,
                            item,
                            reason: reason.text(),
                        }
                    }
                    CmdSpec::TickAll => {
                        for (list, item) in self.gating_items() {
                            self.command(
                                actor,
                                Command::TickItem {
                                    checklist: Some(list),
                                    item,
                                    on_word: true,
                                },
                            )?;
                        }
                        return Ok(());
                    }
                    CmdSpec::Approve { wave, role } => Command::Approve {
                        wave: wave.map(|w| self.wave_name(w)),
                        role: role.map(|r| self.role(r)),
                    },
                    CmdSpec::FrankSignsTwice { wave } => {
                        for _ in 0..2 {
                            self.command(
                                "frank",
                                Command::Approve {
                                    wave: wave.map(|w| self.wave_name(w)),
                                    role: None,
                                },
                            )?;
                        }
                        return Ok(());
                    }
                    CmdSpec::SkipWait { wave, reason } => Command::SkipWait {
                        wave: wave.map(|w| self.wave_name(w)),
                        reason: reason.text(),
                    },
                    CmdSpec::Pause(r) => Command::Pause { reason: r.text() },
                    CmdSpec::Resume(r) => Command::Resume { reason: r.text() },
                    CmdSpec::Rollback {
                        scope,
                        reason,
                        force,
                    } => Command::Rollback {
                        scope: match scope {
                            ScopeSpec::Customer(i) => {
                                RollbackScope::Customer(self.any_customer(*i))
                            }
                            ScopeSpec::Wave(i) => RollbackScope::Wave(self.wave_name(*i)),
                            ScopeSpec::All => RollbackScope::All,
                        },
                        reason: reason.text(),
                        force: *force,
                    },
                    CmdSpec::Abort(r) => Command::Abort { reason: r.text() },
                    CmdSpec::Emergency(r, override_all) => Command::Emergency {
                        reason: r.text(),
                        override_windows: if *override_all {
                            self.window_bound()
                        } else {
                            Vec::new()
                        },
                    },
                    CmdSpec::ReportIssue { customer, reason } => Command::ReportIssue {
                        customer: self.any_customer(*customer),
                        reason: reason.text(),
                    },
                    CmdSpec::ConfirmOverdue => Command::ConfirmOverdue,
                };
                self.command(actor, command)
            }
        }
    }

    /// Invariant 4 through the real journal: every event written (in the runtime's
    /// group commits, with a reopen half-way), read back, folded, compared with live.
    fn check_journal(&self) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("releases/v/journal.jsonl");
        // Few fsyncs: consecutive steps' events are grouped into at most 4 commits.
        let per_commit = self.batches.len().div_ceil(4).max(1);
        let mut bounds = Vec::new();
        let mut at = 0;
        for group in self.batches.chunks(per_commit) {
            let len: usize = group.iter().sum();
            bounds.push(at..at + len);
            at += len;
        }
        prop_assert_eq!(at, self.drill.log.len());
        let half = bounds.len() / 2;
        {
            let (mut w, replay) = JournalWriter::<Event>::open(&path).expect("open a new journal");
            prop_assert!(replay.records.is_empty());
            for b in &bounds[..half] {
                w.append_batch(&self.drill.log[b.clone()]).expect("append");
            }
        }
        let (mut w, replay) = JournalWriter::<Event>::open(&path).expect("reopen the journal");
        let prefix = bounds.get(half).map_or(self.drill.log.len(), |b| b.start);
        prop_assert_eq!(replay.records.len(), prefix, "reopen lost events");
        prop_assert!(replay.dropped_tail.is_none());
        // A checkpoint of the state at the reopen point, as the runtime takes them.
        if prefix > 0 {
            let at_prefix = ReleaseState::fold(&self.drill.log[..prefix]).expect("prefix folds");
            let state_dir = StateDir::at(dir.path());
            checkpoint::write(
                &checkpoint::path(&state_dir, "v"),
                &w.position(),
                &at_prefix,
            )
            .expect("write a checkpoint");
        }
        for b in &bounds[half..] {
            w.append_batch(&self.drill.log[b.clone()]).expect("append");
        }
        prop_assert_eq!(w.next_seq(), self.drill.log.len() as u64);
        drop(w);
        let read = read_all::<Event>(&path).expect("read the journal back");
        prop_assert!(read.dropped_tail.is_none());
        for (i, r) in read.records.iter().enumerate() {
            prop_assert_eq!(r.seq, i as u64);
        }
        let events: Vec<Event> = read.into_events().collect();
        prop_assert_eq!(events.len(), self.drill.log.len());
        let replayed = ReleaseState::fold(&events).expect("the journal folds");
        let (replayed, live) = (json(&replayed), json(&self.drill.state));
        // Exact, floats included (serde_json's `float_roundtrip`).
        let difference = first_diff(&replayed, &live, "state");
        prop_assert!(
            difference.is_none(),
            "the journal read back does not rebuild the live state: replayed vs live {}",
            difference.unwrap_or_default()
        );
        // Checkpoint + tail == full replay, through the store as a resume opens it.
        let opened = store::open(
            &StateDir::at(dir.path()),
            "v",
            &store::OpenOptions {
                mode: store::OpenMode::Existing,
                accept_tampered: false,
                actor: "prop",
                now: self.drill.now,
            },
        )
        .expect("the store opens the release");
        prop_assert_eq!(opened.base.is_some(), prefix > 0, "the checkpoint was used");
        let resumed = json(&opened.fold().expect("folds").expect("a release"));
        let difference = first_diff(&resumed, &live, "state");
        prop_assert!(
            difference.is_none(),
            "checkpoint + tail does not rebuild the live state: resumed vs live {}",
            difference.unwrap_or_default()
        );
        Ok(())
    }
}

fn run_case(c: &Case) -> Result<World, TestCaseError> {
    let mut w = World::start(c)?;
    for a in &c.actions {
        w.run(a)?;
    }
    // Let the world run on for a while, so what was started gets its results.
    w.advance(TimeDelta::days(3), Pass::Stepwise)?;
    w.check_journal()?;
    view_covers_the_state(&w.drill.state)?;
    // 1. Across the whole case, on the live state too.
    for cs in &w.drill.state.customers {
        prop_assert!(
            cs.deploys_started <= 1,
            "{} deployed {} times",
            cs.id,
            cs.deploys_started
        );
    }
    Ok(w)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

/// A fixed seed by default, so a CI failure replays exactly;
/// `PROPTEST_RNG_SEED=N` (or `random`) explores other sequences.
fn rng_seed() -> RngSeed {
    match std::env::var("PROPTEST_RNG_SEED").ok().as_deref() {
        Some("random") => RngSeed::Random,
        Some(n) => n.parse().unwrap_or(RngSeed::Fixed(SEED)),
        None => RngSeed::Fixed(SEED),
    }
}

const SEED: u64 = 0x5eed_2026;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        rng_seed: rng_seed(),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_releases_keep_the_invariants(c in case()) {
        let w = run_case(&c)?;
        if std::env::var_os("SHIPDECK_PROP_STATS").is_some() {
            print_stats(&c, &w);
        }
    }
}

/// With `SHIPDECK_PROP_STATS` set (and `--nocapture`): where each case ended and
/// which event kinds it produced, to see what the generator reaches.
fn print_stats(c: &Case, w: &World) {
    let started = w
        .drill
        .state
        .waves
        .iter()
        .filter(|x| x.started_at.is_some());
    eprintln!(
        "{:?} emergency={} phase={:?} waves_started={}/{} events={} steps={}",
        c.release_type,
        w.drill.state.emergency,
        w.drill.state.phase,
        started.count(),
        w.drill.state.waves.len(),
        w.drill.log.len(),
        w.steps
    );
    let kinds: BTreeSet<String> = w
        .drill
        .log
        .iter()
        .filter_map(|e| match serde_json::to_value(&e.event) {
            Ok(serde_json::Value::String(s)) => Some(s),
            Ok(serde_json::Value::Object(o)) => o.keys().next().cloned(),
            _ => None,
        })
        .collect();
    eprintln!("KINDS {}", kinds.into_iter().collect::<Vec<_>>().join(" "));
}

/// A guard on the generator, not the engine: a fixed sample of cases gets past the
/// demo wave and ends in several phases, so the property does not pass vacuously
/// on releases that never leave validation.
#[test]
fn the_generator_reaches_the_rollout() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut phases = BTreeSet::new();
    let mut later_waves = 0;
    for _ in 0..16 {
        let c = case().new_tree(&mut runner).expect("a case").current();
        let w = run_case(&c).expect("the invariants hold");
        phases.insert(format!("{:?}", w.drill.state.phase));
        if w.drill
            .state
            .waves
            .iter()
            .skip(1)
            .any(|x| x.started_at.is_some())
        {
            later_waves += 1;
        }
    }
    assert!(
        later_waves > 0,
        "no case got past the demo wave: {phases:?}"
    );
    assert!(phases.len() >= 3, "cases end in too few phases: {phases:?}");
}

/// Found by the property: without serde_json's `float_roundtrip` feature, about one
/// f64 in ten (health samples, baselines: means are arbitrary doubles) read back
/// from the journal 1 ULP off, so a resumed process did not hold exactly what the
/// live one held. `Cargo.toml` enables the feature; this pins it.
#[test]
fn journal_round_trips_health_figures_exactly() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("journal.jsonl");
    let sample = HealthSample {
        error_rate: Some(0.2 + 0.37 * 0.1),
        latency_p95_ms: Some(98.0 + 1.0 / 3.0),
    };
    let event = Event {
        at: "2026-01-01T00:00:00Z".parse().expect("a time"),
        event: EventKind::BaselineRecorded {
            customer: CustomerId::new("techstart"),
            baseline: sample,
        },
    };
    let (mut w, _) = JournalWriter::<Event>::open(&path).expect("open");
    w.append(&event).expect("append");
    drop(w);
    let back: Vec<Event> = read_all::<Event>(&path)
        .expect("read")
        .into_events()
        .collect();
    assert_eq!(back, vec![event]);
}

/// Shrunk from the property (engine bug, fixed in `gate`): both demo deploys fail
/// and are rolled back, the operator resumes, and the rollbacks finish: the demo
/// wave is cleared and completes, and the startup wave must still wait its 4h. It
/// used to start in the same round, while the demo's completion (the anchor of every
/// delay) was not applied yet and so no delay applied at all.
#[test]
fn a_demo_wave_cleared_by_rollbacks_still_delays_the_next_wave() {
    let given = Reason::Given;
    let c = Case {
        release_type: ReleaseType::Performance,
        emergency: false,
        selection: SelSpec::All,
        starter: 0,
        start_minutes: 0,
        frank_holds_many: false,
        actions: vec![
            Action::Cmd {
                actor: 0,
                cmd: CmdSpec::TickAll,
            },
            Action::Deliver {
                pick: 0,
                fail: true,
            },
            Action::Deliver {
                pick: 0,
                fail: true,
            },
            Action::Cmd {
                actor: 0,
                cmd: CmdSpec::Resume(given),
            },
        ],
    };
    if let Err(e) = run_case(&c) {
        panic!("{e}");
    }
}

/// Shrunk from the property (engine bug, fixed in `rollout`): a standard customer
/// waits for its window; another's deploy fails and pauses the release; the operator
/// resumes just as that window opens. The deferred customer's deploy starts, so the
/// standard wave is no longer cleared, and the enterprise wave must wait for it. It
/// used to start in the same round, judged on the state from before that deploy.
#[test]
fn a_wave_waits_for_a_window_customer_that_starts_deploying_in_the_same_round() {
    let adv = |secs: u32| Action::Advance {
        secs,
        how: Pass::Stepwise,
    };
    let mut actions = vec![
        Action::Cmd {
            actor: 0,
            cmd: CmdSpec::TickAll,
        },
        adv(12_560),
        Action::Advance {
            secs: 74_775,
            how: Pass::Late,
        },
        adv(76),
        Action::Deliver {
            pick: 0,
            fail: true,
        },
    ];
    // Paused until 2026-04-04 00:00 UTC, when Umbrella Health's window opens.
    actions.push(adv(76_569));
    actions.push(Action::Cmd {
        actor: 0,
        cmd: CmdSpec::Resume(Reason::Given),
    });
    let c = Case {
        release_type: ReleaseType::BugFix,
        emergency: false,
        selection: SelSpec::All,
        starter: 0,
        start_minutes: 131_187,
        frank_holds_many: false,
        actions,
    };
    if let Err(e) = run_case(&c) {
        panic!("{e}");
    }
}
