//! Faults the demo fleet can be told to show, and the pure rule that turns a
//! customer's baseline, deployed version and active faults into what its health
//! endpoint answers at a given instant.
//!
//! Faults that evolve (a climbing error rate, a flapping service) are functions of
//! time since they began, read from the injected clock, so that a scaled demo clock
//! and a manual test clock drive them the same way and no test has to sleep.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{HumanDuration, Version};

/// One way a simulated customer can misbehave. In JSON: `{"kind": "hang"}`,
/// `{"kind": "error_rate_climb", "to": 12.0, "over": "1m"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FaultRepr", into = "FaultRepr")]
pub enum Fault {
    /// Down (HTTP 503) and up in turns of `period`, starting down.
    Flapping { period: HumanDuration },
    /// The error rate rises linearly from the baseline to `to` percent over `over`,
    /// then stays there.
    ErrorRateClimb { to: f64, over: HumanDuration },
    /// p95 latency is the baseline times `factor`.
    LatencySpike { factor: f64 },
    /// Accepts the request and never answers.
    Hang,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with a body of many megabytes.
    Flood,
    /// HTTP 500.
    ServerError,
    /// Drops the connection with a TCP reset.
    Reset,
    /// 200 with `{}`: nothing to judge by.
    NoData,
}

/// The JSON shape of [`Fault`]. serde ignores `deny_unknown_fields` for the unit
/// variants of an internally tagged enum (`{"kind":"hang","typo":1}` would pass), so
/// the wire form spells every variant as a struct, and a stray field is refused.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultRepr {
    Flapping { period: HumanDuration },
    ErrorRateClimb { to: f64, over: HumanDuration },
    LatencySpike { factor: f64 },
    Hang {},
    Garbage {},
    Flood {},
    ServerError {},
    Reset {},
    NoData {},
}

impl From<FaultRepr> for Fault {
    fn from(r: FaultRepr) -> Fault {
        match r {
            FaultRepr::Flapping { period } => Fault::Flapping { period },
            FaultRepr::ErrorRateClimb { to, over } => Fault::ErrorRateClimb { to, over },
            FaultRepr::LatencySpike { factor } => Fault::LatencySpike { factor },
            FaultRepr::Hang {} => Fault::Hang,
            FaultRepr::Garbage {} => Fault::Garbage,
            FaultRepr::Flood {} => Fault::Flood,
            FaultRepr::ServerError {} => Fault::ServerError,
            FaultRepr::Reset {} => Fault::Reset,
            FaultRepr::NoData {} => Fault::NoData,
        }
    }
}

impl From<Fault> for FaultRepr {
    fn from(f: Fault) -> FaultRepr {
        match f {
            Fault::Flapping { period } => FaultRepr::Flapping { period },
            Fault::ErrorRateClimb { to, over } => FaultRepr::ErrorRateClimb { to, over },
            Fault::LatencySpike { factor } => FaultRepr::LatencySpike { factor },
            Fault::Hang => FaultRepr::Hang {},
            Fault::Garbage => FaultRepr::Garbage {},
            Fault::Flood => FaultRepr::Flood {},
            Fault::ServerError => FaultRepr::ServerError {},
            Fault::Reset => FaultRepr::Reset {},
            Fault::NoData => FaultRepr::NoData {},
        }
    }
}

impl Fault {
    /// Refuses figures that make no sense, with the reason.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Fault::Flapping { period } if period.is_zero() => {
                Err("flapping needs a period longer than 0s".into())
            }
            Fault::ErrorRateClimb { to, .. } if !(0.0..=100.0).contains(to) => Err(format!(
                "error_rate_climb `to` is {to}, expected a percentage from 0 to 100"
            )),
            Fault::LatencySpike { factor } if !(factor.is_finite() && *factor > 0.0) => Err(
                format!("latency_spike `factor` is {factor}, expected a number above 0"),
            ),
            _ => Ok(()),
        }
    }

    /// The name used in scenario files (`error_rate_climb`).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Flapping { .. } => "flapping",
            Fault::ErrorRateClimb { .. } => "error_rate_climb",
            Fault::LatencySpike { .. } => "latency_spike",
            Fault::Hang => "hang",
            Fault::Garbage => "garbage",
            Fault::Flood => "flood",
            Fault::ServerError => "server_error",
            Fault::Reset => "reset",
            Fault::NoData => "no_data",
        }
    }
}

/// Identifies one injected fault, to remove just that one later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub u64);

/// A fault as injected: since when, and optionally only while a given version runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveFault {
    pub id: FaultId,
    pub fault: Fault,
    /// Only while this version is deployed (e.g. "v1.0.2 is the bad build").
    pub when_version: Option<Version>,
    pub since: DateTime<Utc>,
    /// Gone from this instant of the fleet's clock on (a blip of known length,
    /// however late the code that would remove it runs).
    pub until: Option<DateTime<Utc>>,
}

/// The simulated state of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCustomer {
    pub baseline_error_rate: f64,
    pub baseline_latency_ms: f64,
    pub version: Version,
    /// When `version` was deployed: a version-bound fault starts evolving from then.
    pub version_since: DateTime<Utc>,
    pub faults: Vec<ActiveFault>,
}

/// What a customer's health endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `status` "ok" (200) or "down" (503) with figures.
    Health {
        up: bool,
        error_rate: f64,
        latency_p95_ms: f64,
        version: Version,
    },
    ServerError,
    NoData,
    Garbage,
    Flood,
    Hang,
    Reset,
}

impl SimCustomer {
    /// What the endpoint answers at `now`. Connection-level faults win over
    /// status-level ones, which win over figures: a hung service shows no error rate.
    pub fn reply(&self, now: DateTime<Utc>) -> Reply {
        let active: Vec<(&Fault, DateTime<Utc>)> = self
            .faults
            .iter()
            .filter(|f| f.until.is_none_or(|until| now < until))
            .filter_map(|f| match &f.when_version {
                None => Some((&f.fault, f.since)),
                Some(v) if *v == self.version => Some((&f.fault, f.since.max(self.version_since))),
                Some(_) => None,
            })
            .collect();
        let has = |want: fn(&Fault) -> bool| active.iter().any(|(f, _)| want(f));

        if has(|f| matches!(f, Fault::Hang)) {
            return Reply::Hang;
        }
        if has(|f| matches!(f, Fault::Reset)) {
            return Reply::Reset;
        }
        if has(|f| matches!(f, Fault::ServerError)) {
            return Reply::ServerError;
        }
        let flapping_down = active.iter().any(|(f, start)| match f {
            Fault::Flapping { period } => {
                let elapsed = (now - *start).num_milliseconds().max(0);
                let period_ms = i64::try_from(period.as_secs().saturating_mul(1000))
                    .unwrap_or(i64::MAX)
                    .max(1);
                (elapsed / period_ms) % 2 == 0
            }
            _ => false,
        });
        if has(|f| matches!(f, Fault::Garbage)) {
            return Reply::Garbage;
        }
        if has(|f| matches!(f, Fault::Flood)) {
            return Reply::Flood;
        }
        if has(|f| matches!(f, Fault::NoData)) && !flapping_down {
            return Reply::NoData;
        }

        let mut error_rate = self.baseline_error_rate;
        let mut latency = self.baseline_latency_ms;
        for (fault, start) in &active {
            match fault {
                Fault::ErrorRateClimb { to, over } => {
                    let progress = if over.is_zero() {
                        1.0
                    } else {
                        let elapsed = (now - *start).num_milliseconds().max(0) as f64;
                        (elapsed / (over.as_secs() as f64 * 1000.0)).min(1.0)
                    };
                    let climbed =
                        self.baseline_error_rate + (to - self.baseline_error_rate) * progress;
                    error_rate = error_rate.max(climbed);
                }
                Fault::LatencySpike { factor } => latency *= factor,
                _ => {}
            }
        }
        Reply::Health {
            up: !flapping_down,
            error_rate: round2(error_rate),
            latency_p95_ms: round2(latency),
            version: self.version.clone(),
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn customer(faults: Vec<ActiveFault>) -> SimCustomer {
        SimCustomer {
            baseline_error_rate: 0.4,
            baseline_latency_ms: 120.0,
            version: Version::new(1, 0, 1),
            version_since: t(0),
            faults,
        }
    }

    fn active(fault: Fault, when_version: Option<Version>, since: i64) -> ActiveFault {
        ActiveFault {
            id: FaultId(1),
            fault,
            when_version,
            since: t(since),
            until: None,
        }
    }

    fn error_rate(r: Reply) -> f64 {
        match r {
            Reply::Health { error_rate, .. } => error_rate,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn climb_is_linear_then_flat() {
        let c = customer(vec![active(
            Fault::ErrorRateClimb {
                to: 12.4,
                over: HumanDuration::from_secs(60),
            },
            None,
            0,
        )]);
        assert_eq!(error_rate(c.reply(t(0))), 0.4);
        assert_eq!(error_rate(c.reply(t(30))), 6.4);
        assert_eq!(error_rate(c.reply(t(60))), 12.4);
        assert_eq!(error_rate(c.reply(t(600))), 12.4);
    }

    #[test]
    fn a_fault_with_an_end_is_gone_from_that_instant() {
        let mut blip = active(Fault::ServerError, None, 10);
        blip.until = Some(t(20));
        let c = customer(vec![blip]);
        assert_eq!(c.reply(t(10)), Reply::ServerError);
        assert_eq!(c.reply(t(19)), Reply::ServerError);
        assert!(matches!(c.reply(t(20)), Reply::Health { up: true, .. }));
    }

    #[test]
    fn version_bound_fault_waits_for_its_version() {
        let bad = Version::new(1, 0, 2);
        let mut c = customer(vec![active(
            Fault::ErrorRateClimb {
                to: 10.4,
                over: HumanDuration::from_secs(100),
            },
            Some(bad.clone()),
            0,
        )]);
        assert_eq!(error_rate(c.reply(t(500))), 0.4);
        c.version = bad;
        c.version_since = t(500);
        assert_eq!(error_rate(c.reply(t(550))), 5.4);
    }

    #[test]
    fn flapping_starts_down_and_alternates() {
        let c = customer(vec![active(
            Fault::Flapping {
                period: HumanDuration::from_secs(10),
            },
            None,
            0,
        )]);
        assert!(matches!(c.reply(t(5)), Reply::Health { up: false, .. }));
        assert!(matches!(c.reply(t(15)), Reply::Health { up: true, .. }));
        assert!(matches!(c.reply(t(25)), Reply::Health { up: false, .. }));
    }

    #[test]
    fn connection_faults_win() {
        let c = customer(vec![
            active(Fault::ServerError, None, 0),
            active(Fault::Hang, None, 0),
        ]);
        assert_eq!(c.reply(t(1)), Reply::Hang);
    }

    #[test]
    fn json_form_round_trips_and_refuses_stray_fields() {
        for f in [Fault::Hang, Fault::LatencySpike { factor: 2.0 }] {
            let text = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), f);
        }
        assert_eq!(
            serde_json::to_string(&Fault::NoData).unwrap(),
            r#"{"kind":"no_data"}"#
        );
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"hang","typo":1}"#).is_err());
    }

    #[test]
    fn validation_explains() {
        assert!(
            Fault::ErrorRateClimb {
                to: 140.0,
                over: HumanDuration::ZERO
            }
            .validate()
            .unwrap_err()
            .contains("0 to 100")
        );
        assert!(Fault::LatencySpike { factor: 0.0 }.validate().is_err());
        assert!(
            Fault::Flapping {
                period: HumanDuration::ZERO
            }
            .validate()
            .is_err()
        );
    }
}
