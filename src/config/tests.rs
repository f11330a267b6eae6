//! Unit tests of the loader as a whole; the error cases one by one live in
//! `tests/config_errors.rs`.

use super::*;

#[test]
fn builtin_defaults_load_and_validate() {
    let cfg = match load_builtin() {
        Ok(c) => c,
        Err(e) => panic!("built-in config refused:\n{e}"),
    };
    assert_eq!(
        summary(&cfg),
        "4 tiers, 14 customers, 6 policies, 7 checklists, 7 people"
    );
}
