//! Helpers shared by the integration tests. Each test crate (`tests/*.rs`) includes
//! this with `mod support;` and uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod tmux;
