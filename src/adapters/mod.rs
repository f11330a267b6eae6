//! The outside world: health probes, checks, notices and deployers.
//!
//! Everything that touches a socket, a child process or the environment lives here,
//! behind the runtime's effect ports (`runtime::effects`). The engine never imports
//! this module: it only sees the results (`ProbeOutcome`, `EffectResult`, …).

pub mod checks;
pub mod deploy;
pub mod git;
pub mod health;
pub mod notify;
pub mod process;
