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

/// What a health check, a webhook deploy or a notice says when the peer's status
/// line does not parse although its code may be fine: hyper reports any bad byte
/// there (a control character in the reason phrase) as "invalid HTTP status-code
/// parsed", which misleads. Nothing of the peer's bytes is quoted.
pub(crate) const STATUS_LINE_UNPARSABLE: &str =
    "the response's status line does not parse (control characters in its reason phrase?)";

/// True when `err` or one of its causes is hyper's status-line parse error
/// (`hyper::Error::is_parse_status`; hyper is not a direct dependency, so its
/// message is what is matched).
pub(crate) fn is_unparsable_status_line(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(cause) = source {
        if cause
            .to_string()
            .contains("invalid HTTP status-code parsed")
        {
            return true;
        }
        source = cause.source();
    }
    false
}
