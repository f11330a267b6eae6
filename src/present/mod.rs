//! Words and documents shared by the CLI and the cockpit: release notes, the
//! changelog, the release report. Pure functions of journaled data (no I/O), so
//! golden tests pin their output.

pub mod changelog;
pub mod notes;
pub mod report;
pub mod templates;
