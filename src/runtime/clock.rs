//! Release time. The system clock runs production; a scaled clock runs drills and
//! the demo (`--speed N`: N seconds of release time per real second). The scaled
//! clock counts on tokio's `Instant`, so tests on paused tokio time drive it exactly.

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Scaled {
        origin: DateTime<Utc>,
        started: Instant,
        speed: f64,
    },
}

impl Clock {
    /// A clock that starts at `origin` and runs `speed` times real time.
    pub fn scaled(origin: DateTime<Utc>, speed: f64) -> Clock {
        Clock::Scaled {
            origin,
            started: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        }
    }

    /// The system clock at speed 1, else a scaled one starting now.
    pub fn with_speed(speed: Option<f64>, not_before: Option<DateTime<Utc>>) -> Clock {
        match speed {
            Some(s) if (s - 1.0).abs() > f64::EPSILON => {
                let origin = not_before.map_or_else(Utc::now, |t| t.max(Utc::now()));
                Clock::scaled(origin, s)
            }
            _ => Clock::System,
        }
    }

    pub fn speed(&self) -> f64 {
        match self {
            Clock::System => 1.0,
            Clock::Scaled { speed, .. } => *speed,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Scaled {
                origin,
                started,
                speed,
            } => {
                let real = started.elapsed().as_secs_f64();
                *origin + TimeDelta::microseconds((real * speed * 1e6) as i64)
            }
        }
    }

    /// Real time until the release clock reads `t` (zero if it already does).
    pub fn real_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        let delta = (t - self.now()).to_std().unwrap_or_default();
        delta.div_f64(self.speed())
    }

    /// Real time that `release` of release time takes.
    pub fn real_for(&self, release: std::time::Duration) -> std::time::Duration {
        release.div_f64(self.speed())
    }

    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        // Rounded up by a millisecond so that waking never lands just before `t`.
        let wait = self.real_until(t);
        if !wait.is_zero() {
            tokio::time::sleep(wait + std::time::Duration::from_millis(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn scaled_clock_runs_faster_and_sleeps_shorter() {
        let origin: DateTime<Utc> = "2026-11-21T10:00:00Z".parse().unwrap();
        let clock = Clock::scaled(origin, 60.0);
        assert_eq!(clock.now(), origin);
        tokio::time::advance(std::time::Duration::from_secs(2)).await;
        assert_eq!(clock.now(), origin + TimeDelta::minutes(2));
        let target = origin + TimeDelta::minutes(5);
        assert_eq!(clock.real_until(target), std::time::Duration::from_secs(3));
        clock.sleep_until(target).await;
        assert!(clock.now() >= target);
    }
}
