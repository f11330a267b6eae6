//! Scenario files: the shipped ones parse and name real customers, bad ones are
//! refused with a reason that points at the problem, and a scenario run applies and
//! removes faults on a live fleet as a manual clock passes its steps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::Deserialize;
use shipdeck::domain::{Customer, CustomerId};
use shipdeck::sim::{self, Fault, Reply, Scenario, ScenarioRun, StepChange};

#[derive(Deserialize)]
struct CustomersFile {
    customers: Vec<Customer>,
}

fn configured_customers() -> Vec<Customer> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/customers.json"
    ))
    .unwrap();
    serde_json::from_str::<CustomersFile>(&text)
        .unwrap()
        .customers
}

#[test]
fn shipped_scenarios_parse_and_name_configured_customers() {
    let customers = configured_customers();
    for name in Scenario::builtin_names() {
        let s = Scenario::builtin(name).unwrap();
        assert_eq!(s.name, name);
        assert!(!s.description.is_empty());
        s.check_customers(&customers, name).unwrap();
    }
    let default = Scenario::builtin("default").unwrap();
    assert_eq!(default.steps[0].customer, CustomerId::new("techstart"));
    assert_eq!(
        default.steps[0].when_version,
        Some("v1.0.2".parse().unwrap())
    );
    assert_eq!(
        default.steps[0].fault,
        Fault::ErrorRateClimb {
            to: 12.0,
            over: "1m".parse().unwrap()
        }
    );
}

fn refused(text: &str) -> String {
    Scenario::parse(text, "bad.json").unwrap_err().to_string()
}

#[test]
fn bad_scenarios_are_refused_with_a_reason() {
    let e =
        refused(r#"{"name":"x","steps":[{"at":"2m","customer":"a","fault":{"kind":"meltdown"}}]}"#);
    assert!(e.starts_with("bad.json: line 1, column "), "{e}");
    assert!(
        e.contains("steps[0].fault") && e.contains("meltdown"),
        "{e}"
    );

    let e =
        refused(r#"{"name":"x","steps":[{"at":"soon","customer":"a","fault":{"kind":"hang"}}]}"#);
    assert!(
        e.contains("steps[0].at") && e.contains("`soon` is not a duration"),
        "{e}"
    );

    let e = refused(r#"{"name":"x","stepz":[]}"#);
    assert!(e.contains("unknown field `stepz`"), "{e}");

    let e = refused(
        r#"{"name":"x","steps":[{"at":"1m","customer":"a","fault":{"kind":"hang","extra":1}}]}"#,
    );
    assert!(e.contains("unknown field `extra`"), "{e}");

    let e = refused(
        r#"{"name":"x","steps":[{"at":"1m","customer":"a","fault":{"kind":"error_rate_climb","to":400,"over":"1m"}}]}"#,
    );
    assert_eq!(
        e,
        "bad.json: steps[0]: error_rate_climb `to` is 400, expected a percentage from 0 to 100"
    );

    let e = refused(
        r#"{"name":"x","steps":[{"at":"5m","until":"2m","customer":"a","fault":{"kind":"hang"}}]}"#,
    );
    assert!(e.contains("`until` (2m) must come after `at` (5m)"), "{e}");

    let e = refused(r#"{"name":"x","steps":[}"#);
    assert!(e.starts_with("bad.json: line 1, column 22: "), "{e}");

    let s = Scenario::parse(
        r#"{"name":"x","steps":[{"at":"1m","customer":"nobody","fault":{"kind":"hang"}}]}"#,
        "x.json",
    )
    .unwrap();
    let e = s
        .check_customers(&configured_customers(), "x.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("x.json: steps[0]: unknown customer `nobody`; customers include: "),
        "{e}"
    );

    assert!(
        Scenario::builtin("nope")
            .unwrap_err()
            .to_string()
            .contains("default")
    );
}

#[test]
fn active_steps_follow_release_time() {
    let s = Scenario::builtin("flaky").unwrap();
    let at = |mins: u64| -> Vec<&str> {
        s.active_steps(Duration::from_secs(mins * 60))
            .iter()
            .map(|st| st.customer.as_str())
            .collect()
    };
    assert!(at(2).is_empty());
    assert_eq!(at(4), ["techstart"]);
    assert_eq!(at(5), ["techstart", "acme-corp"]);
    assert_eq!(at(6), ["acme-corp"]);
    assert!(at(15).is_empty());
}

#[tokio::test]
async fn a_run_applies_and_removes_steps_on_a_live_fleet() {
    let now = Arc::new(Mutex::new(Utc.timestamp_opt(1_750_000_000, 0).unwrap()));
    let t = now.clone();
    let clock: sim::Clock = Arc::new(move || *t.lock().unwrap());
    let advance = |by: TimeDelta| -> DateTime<Utc> {
        let mut n = now.lock().unwrap();
        *n += by;
        *n
    };
    let start = clock();
    let customers = configured_customers();
    let fleet = sim::serve(&customers, "127.0.0.1:0".parse().unwrap(), clock.clone())
        .await
        .unwrap();
    let techstart = CustomerId::new("techstart");
    let mut run = ScenarioRun::new(Scenario::builtin("flaky").unwrap(), start);

    assert!(
        run.advance(&fleet, advance(TimeDelta::minutes(1)))
            .is_empty()
    );
    // The driver wakes late, 3m40s in: the flapping is dated at 3m, so it is in its
    // second period (up), as it would be had the driver woken on time.
    let changes = run.advance(&fleet, advance(TimeDelta::seconds(160)));
    assert!(
        matches!(&changes[..], [StepChange::Applied { step: 0, customer, .. }] if *customer == techstart),
        "{changes:?}"
    );
    assert!(matches!(
        fleet.reply_for(&techstart),
        Some(Reply::Health { up: true, .. })
    ));
    advance(TimeDelta::seconds(30));
    assert!(matches!(
        fleet.reply_for(&techstart),
        Some(Reply::Health { up: false, .. })
    ));

    let changes = run.advance(&fleet, advance(TimeDelta::minutes(3)));
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(fleet.faults(&techstart).is_empty());
    assert_eq!(fleet.faults(&CustomerId::new("acme-corp")).len(), 1);
    assert!(!run.is_settled());
    run.advance(&fleet, advance(TimeDelta::minutes(10)));
    assert!(run.is_settled());
    assert!(fleet.faults(&CustomerId::new("acme-corp")).is_empty());
    fleet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn drive_applies_steps_as_the_clock_passes_them() {
    // A manual release clock for the fleet, and tokio's paused time for the
    // driver's tick: "not yet" is checked after the driver has really looked.
    let now = Arc::new(Mutex::new(Utc.timestamp_opt(1_750_000_000, 0).unwrap()));
    let t = now.clone();
    let clock: sim::Clock = Arc::new(move || *t.lock().unwrap());
    let start = clock();
    let fleet = sim::serve(
        &configured_customers(),
        "127.0.0.1:0".parse().unwrap(),
        clock.clone(),
    )
    .await
    .unwrap();
    let techstart = CustomerId::new("techstart");
    let run = ScenarioRun::new(Scenario::builtin("default").unwrap(), start);
    let task = sim::drive(run, fleet.clone(), clock, Duration::from_millis(5));

    *now.lock().unwrap() += TimeDelta::seconds(119);
    // Six of the driver's ticks pass (paused time: exactly, however busy the
    // machine), each one looking at 1:59 of release time.
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(
        fleet.faults(&techstart).is_empty(),
        "applied before its time"
    );
    assert!(!task.is_finished(), "settled before its step");

    *now.lock().unwrap() += TimeDelta::seconds(1);
    // The driver settles (and its task ends) at its next tick once the step is in.
    tokio::time::timeout(Duration::from_millis(10), task)
        .await
        .expect("applied at the driver's next tick")
        .unwrap();
    let faults = fleet.faults(&techstart);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].since, start + TimeDelta::minutes(2));
    assert_eq!(faults[0].when_version, Some("v1.0.2".parse().unwrap()));
    fleet.shutdown().await;
}
