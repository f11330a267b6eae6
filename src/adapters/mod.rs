//! The outside world: health probes, deployers, notifiers.
//!
//! Everything that touches a socket, a child process or the environment lives here,
//! behind plain functions the runtime calls when the engine asks for an effect. The
//! engine never imports this module: it only sees the results (`ProbeOutcome`, …).

pub mod health;
