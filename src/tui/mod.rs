//! The full-screen cockpit: ratatui views over engine snapshots, and the terminal
//! plumbing beneath them.
//!
//! The views own only view state (selection, scroll, dialogs); every change to a
//! release goes to the runtime as a command. The plumbing modules (`terminal`,
//! `input`, `frame_pacer`, `theme`, `too_small`) know nothing about releases, so the
//! views can be tested on a `TestBackend` with scripted input and no terminal.

pub mod app;
pub mod checklists;
pub mod choices;
pub mod cockpit;
pub mod event_loop;
pub mod frame_pacer;
pub mod input;
pub mod keys;
pub mod start;
pub mod start_loop;
pub mod strings;
pub mod terminal;
pub mod theme;
pub mod too_small;
pub mod view;
pub mod wrap;
