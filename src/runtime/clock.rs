//! Release time. The system clock runs production; a scaled clock runs drills and
//! the demo (`--speed N`: N seconds of release time per real second). The scaled
//! clock counts on tokio's `Instant`, so tests on paused tokio time drive it exactly.

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

/// The slowest and fastest `--speed` accepted. Below 0.01 a second of release
/// time takes minutes and the arithmetic on real durations overflows; above a
/// million, a day of release time passes in 86 ms and nothing could be watched.
pub const MIN_SPEED: f64 = 0.01;
pub const MAX_SPEED: f64 = 1_000_000.0;

/// Parses `--speed` and refuses what the clock cannot run at, saying what is
/// accepted (a clap value parser).
pub fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text.trim().parse().map_err(|_| {
        format!(
            "`{text}` is not a number: give seconds of release time per real second, {MIN_SPEED} to {MAX_SPEED:.0} (e.g. 60)"
        )
    })?;
    if !speed.is_finite() || !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
        return Err(format!(
            "{text} is outside {MIN_SPEED} to {MAX_SPEED:.0} (seconds of release time per real second)"
        ));
    }
    Ok(speed)
}

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
                speed.clamp(MIN_SPEED, MAX_SPEED)
            } else {
                1.0
            },
        }
    }

    /// The system clock when no speed is given; else a scaled one starting now
    /// (or at `not_before`, if that is later). An explicit speed of 1 is a scaled
    /// clock too, so that it can be told from "no speed given": a drill resumed
    /// without `--speed` goes on at its own speed, with `--speed 1` at real speed.
    pub fn with_speed(speed: Option<f64>, not_before: Option<DateTime<Utc>>) -> Clock {
        match speed {
            Some(s) => {
                let origin = not_before.map_or_else(Utc::now, |t| t.max(Utc::now()));
                Clock::scaled(origin, s)
            }
            None => Clock::System,
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
                // Saturating: a clock left running for ages at top speed must not
                // panic the loop that owns a release.
                let micros = (real * speed * 1e6).min(i64::MAX as f64) as i64;
                origin
                    .checked_add_signed(TimeDelta::microseconds(micros))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    /// Real time until the release clock reads `t` (zero if it already does).
    pub fn real_until(&self, t: DateTime<Utc>) -> std::time::Duration {
        let delta = t
            .signed_duration_since(self.now())
            .to_std()
            .unwrap_or_default();
        self.real_for(delta)
    }

    /// Real time that `release` of release time takes (saturating, never panicking).
    pub fn real_for(&self, release: std::time::Duration) -> std::time::Duration {
        std::time::Duration::try_from_secs_f64(release.as_secs_f64() / self.speed())
            .unwrap_or(std::time::Duration::MAX)
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

    #[test]
    fn speeds_are_bounded_with_a_clear_message() {
        assert_eq!(parse_speed("60"), Ok(60.0));
        for bad in ["1e13", "0", "-5", "1e-9", "NaN", "inf", "fast"] {
            let e = parse_speed(bad).unwrap_err();
            assert!(e.contains(bad), "{bad}: {e}");
        }
        // Even unchecked, the clock's arithmetic saturates instead of panicking.
        let far: DateTime<Utc> = "2026-11-21T10:00:00Z".parse().unwrap();
        let clock = Clock::scaled(far, 1e-300);
        assert!(clock.real_until(DateTime::<Utc>::MAX_UTC) > std::time::Duration::ZERO);
        let clock = Clock::scaled(DateTime::<Utc>::MAX_UTC - TimeDelta::seconds(1), 1e300);
        let _ = clock.now();
    }

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
