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

/// `err` and its causes, outermost first.
fn causes<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
}

/// True when `err` or one of its causes is hyper's status-line parse error.
pub(crate) fn is_unparsable_status_line(err: &(dyn std::error::Error + 'static)) -> bool {
    causes(err).any(|c| {
        c.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse_status)
    })
}

/// The kinds of the I/O errors among `err`'s causes, outermost first.
pub(crate) fn io_kinds<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = std::io::ErrorKind> + 'a {
    causes(err).filter_map(|c| c.downcast_ref::<std::io::Error>().map(std::io::Error::kind))
}

/// The transport failures every HTTP client here names alike: the common network
/// errors by name, and a status line that does not parse.
pub(crate) fn known_transport_failure(
    err: &(dyn std::error::Error + 'static),
) -> Option<&'static str> {
    use std::io::ErrorKind;
    io_kinds(err)
        .find_map(|kind| match kind {
            ErrorKind::ConnectionRefused => Some("connection refused"),
            ErrorKind::ConnectionReset => Some("connection reset by peer"),
            ErrorKind::ConnectionAborted => Some("connection aborted"),
            ErrorKind::TimedOut => Some("connection timed out"),
            _ => None,
        })
        .or_else(|| is_unparsable_status_line(err).then_some(STATUS_LINE_UNPARSABLE))
}
