//! Helpers shared by the integration suite's modules. Each uses a subset, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod deploy;
pub mod drill;
pub mod process;
pub mod prometheus;
pub mod receiver;
pub mod tmux;
