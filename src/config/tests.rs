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

/// A file with an escape in it takes the long way (document, string walk, typed
/// read with paths); one without reads straight into its type. Both must give the
/// same configuration.
#[test]
fn the_direct_read_and_the_long_way_give_the_same_configuration() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let direct = load_dir(&repo).expect("the repository's config loads");
    let tmp = tempfile::tempdir().unwrap();
    let mut escaped = 0;
    for entry in std::fs::read_dir(&repo).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains('\\'),
            "{}: already has an escape",
            path.display()
        );
        // The same text, every file with one escaped character in a key.
        text = text.replacen("\"id\"", "\"\\u0069d\"", 1);
        text = text.replacen("\"name\"", "\"n\\u0061me\"", 1);
        escaped += usize::from(text.contains('\\'));
        std::fs::write(tmp.path().join(path.file_name().unwrap()), text).unwrap();
    }
    assert!(escaped >= 3, "only {escaped} files took the long way");
    let long_way = load_dir(tmp.path()).expect("the escaped copy loads");
    assert_eq!(direct, long_way);
}
