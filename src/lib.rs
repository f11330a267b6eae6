//! shipdeck: a release cockpit for the terminal.
//!
//! Layers point down only: `cli` and `tui` use `runtime`; `runtime` uses `engine`
//! and `adapters`; `engine` uses `domain`; `domain` uses nothing of ours; `protocol`
//! (the attach wire types) is pure data over `engine`.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod adapters;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod present;
pub mod protocol;
pub mod runtime;
pub mod sim;
pub mod tui;
