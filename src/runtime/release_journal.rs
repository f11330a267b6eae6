//! A release's journal of engine events, with its hash chain judged: a journal
//! edited after it was written is refused (with the line), unless the operator
//! accepts it with `--accept-tampered`, which is itself journaled
//! ([`EventKind::TamperAccepted`]) so that the next open, and every reader, knows
//! those breaks were seen and accepted, and by whom.

use std::path::Path;

use super::journal::{Accept, JournalError, JournalWriter, Replay, read_all_with};
use crate::engine::{Event, EventKind};

/// The lines an event records as accepted breaks of the chain.
pub fn accepted_lines(e: &Event) -> Vec<usize> {
    match &e.event {
        EventKind::TamperAccepted { lines, .. } => lines.clone(),
        _ => Vec::new(),
    }
}

/// An opened release journal: the writer, what it held, and the breaks of its
/// chain that this open accepted (to be journaled first).
pub type Opened = (JournalWriter<Event>, Replay<Event>, Vec<usize>);

/// Opens a release's journal for appending. With `accept_tampered`, breaks no
/// event has accepted yet are let through and returned, for the caller to journal
/// (as its first event) before anything else.
pub fn open(path: &Path, accept_tampered: bool) -> Result<Opened, JournalError> {
    if !accept_tampered {
        let (w, r) = JournalWriter::open_with(path, Accept::Recorded(&accepted_lines))?;
        return Ok((w, r, Vec::new()));
    }
    let (w, mut r) = JournalWriter::open_with(path, Accept::All)?;
    let newly = newly_accepted(&mut r);
    Ok((w, r, newly))
}

/// [`open`], replaying only what follows a checkpoint's position (see
/// [`JournalWriter::open_after`]).
pub fn open_after(
    path: &Path,
    from: &super::journal::Position,
    accept_tampered: bool,
) -> Result<Opened, JournalError> {
    if !accept_tampered {
        let (w, r) = JournalWriter::open_after(path, from, Accept::Recorded(&accepted_lines))?;
        return Ok((w, r, Vec::new()));
    }
    let (w, mut r) = JournalWriter::open_after(path, from, Accept::All)?;
    let newly = newly_accepted(&mut r);
    Ok((w, r, newly))
}

/// Reads a release's journal. With `accept_tampered`, a broken chain is read all
/// the same (nothing is recorded: readers never write); the breaks are in the
/// replay's chain report.
pub fn read(path: &Path, accept_tampered: bool) -> Result<Replay<Event>, JournalError> {
    if accept_tampered {
        let mut r = read_all_with(path, Accept::All)?;
        let _ = newly_accepted(&mut r);
        Ok(r)
    } else {
        read_all_with(path, Accept::Recorded(&accepted_lines))
    }
}

/// Fills in the breaks events already accepted; returns those none has.
fn newly_accepted(r: &mut Replay<Event>) -> Vec<usize> {
    r.chain.accepted = r
        .records
        .iter()
        .flat_map(|rec| accepted_lines(&rec.event))
        .collect();
    r.chain.unaccepted().iter().map(|b| b.line).collect()
}
