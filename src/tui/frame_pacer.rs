//! When to redraw: only when something changed, and at most ~15 times a second.
//!
//! Over a slow ssh link every frame costs bandwidth, and a tmux pane watched by a
//! second person costs it twice. So the cockpit does not redraw on a timer: anything
//! that changes what is on screen (a new engine snapshot, a key, a resize, the
//! header clock's second ticking over) marks the pacer dirty, and the event loop asks
//! the pacer whether to draw now or when. Bursts (a snapshot per probe result during
//! a 10,000-customer wave, a held-down `j`) collapse into one frame per interval.
//!
//! The pacer is a pure value: it reads no clock, and is given `tokio::time::Instant`s
//! so the event loop can feed it `Instant::now()` and tests can feed it explicit
//! instants or paused time. It never asks for a wake-up while clean, so an idle
//! cockpit sleeps until the next input: no busy loop, no idle redraws.

use std::time::Duration;

use tokio::time::Instant;

/// What the event loop should do about drawing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Nothing changed since the last frame: wait for input only.
    Idle,
    /// Something changed and the frame budget allows a frame: draw, then call
    /// [`FramePacer::drew`].
    DrawNow,
    /// Something changed but the last frame was too recent: wake up at this instant.
    DrawAt(Instant),
}

/// Decides when to redraw. See the module documentation.
#[derive(Debug, Clone)]
pub struct FramePacer {
    min_interval: Duration,
    last_draw: Option<Instant>,
    dirty: bool,
}

impl FramePacer {
    /// The default cap: smooth enough for a progress bar, light enough for ssh.
    pub const DEFAULT_MAX_FPS: u32 = 15;

    /// A pacer allowing at most `max_fps` frames a second (0 is treated as 1).
    /// It starts dirty, because nothing has been drawn yet.
    pub fn new(max_fps: u32) -> Self {
        let fps = u64::from(max_fps.max(1));
        Self {
            min_interval: Duration::from_nanos(1_000_000_000 / fps),
            last_draw: None,
            dirty: true,
        }
    }

    /// The shortest time between two frames.
    pub fn min_interval(&self) -> Duration {
        self.min_interval
    }

    /// Records that what is on screen is out of date.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Whether a frame is owed.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Whether to draw at `now`, and if not yet, when.
    pub fn pace(&self, now: Instant) -> Pace {
        if !self.dirty {
            return Pace::Idle;
        }
        match self.last_draw {
            Some(last) if now < last + self.min_interval => Pace::DrawAt(last + self.min_interval),
            _ => Pace::DrawNow,
        }
    }

    /// The instant to wake up for the next frame, if one is owed (it may be in the
    /// past, meaning "now"). Handy for a `sleep_until` branch in `select!`.
    pub fn next_frame_at(&self, now: Instant) -> Option<Instant> {
        match self.pace(now) {
            Pace::Idle => None,
            Pace::DrawNow => Some(now),
            Pace::DrawAt(at) => Some(at),
        }
    }

    /// Records that a frame was drawn at `now`; the pacer is clean until the next
    /// [`mark_dirty`](Self::mark_dirty).
    pub fn drew(&mut self, now: Instant) {
        self.dirty = false;
        self.last_draw = Some(now);
    }
}

impl Default for FramePacer {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_FPS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn draws_the_first_frame_immediately() {
        let pacer = FramePacer::default();
        assert_eq!(pacer.pace(Instant::now()), Pace::DrawNow);
    }

    #[test]
    fn stays_idle_until_something_changes() {
        let t0 = Instant::now();
        let mut pacer = FramePacer::default();
        pacer.drew(t0);
        assert_eq!(pacer.pace(t0 + ms(10)), Pace::Idle);
        assert_eq!(pacer.pace(t0 + Duration::from_secs(3600)), Pace::Idle);
        assert_eq!(pacer.next_frame_at(t0 + ms(10)), None);
    }

    #[test]
    fn caps_frames_at_about_fifteen_per_second() {
        let t0 = Instant::now();
        let mut pacer = FramePacer::new(15);
        assert_eq!(pacer.min_interval(), Duration::from_nanos(66_666_666));
        pacer.drew(t0);
        pacer.mark_dirty();
        let due = t0 + pacer.min_interval();
        assert_eq!(pacer.pace(t0 + ms(10)), Pace::DrawAt(due));
        assert_eq!(pacer.next_frame_at(t0 + ms(10)), Some(due));
        assert_eq!(pacer.pace(due), Pace::DrawNow);
    }

    #[test]
    fn a_burst_of_changes_costs_one_frame() {
        let t0 = Instant::now();
        let mut pacer = FramePacer::new(15);
        pacer.drew(t0);
        let mut frames = 0;
        // A snapshot every millisecond for a second. The cap is one frame per
        // 66.7 ms; with changes landing on whole milliseconds each frame is due at the
        // first ms after that (67, 134, 201, ... 938 ms): 14 frames instead of 1000.
        for i in 1..=1000 {
            let now = t0 + ms(i);
            pacer.mark_dirty();
            if pacer.pace(now) == Pace::DrawNow {
                pacer.drew(now);
                frames += 1;
            }
        }
        assert_eq!(frames, 14);
    }

    #[test]
    fn a_change_after_a_quiet_spell_draws_at_once() {
        let t0 = Instant::now();
        let mut pacer = FramePacer::default();
        pacer.drew(t0);
        pacer.mark_dirty();
        assert_eq!(pacer.pace(t0 + Duration::from_secs(5)), Pace::DrawNow);
    }

    #[test]
    fn zero_fps_is_treated_as_one() {
        assert_eq!(FramePacer::new(0).min_interval(), Duration::from_secs(1));
    }
}
