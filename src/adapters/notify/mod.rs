//! Notifiers: where the engine's notices go. Today the state dir's notification log;
//! chat and webhook channels come behind the same port.

pub mod file;

pub use file::FileNotifier;
