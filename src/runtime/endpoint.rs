//! Where a release's socket lives, and who is on the other end of it.
//!
//! The socket is `releases/<v>/socket`, next to the journal and the lock, so that
//! whoever can find the release can find the process that runs it. A Unix socket's
//! path must fit `sun_path` (108 bytes on Linux, 104 on macOS, with the NUL); a
//! state dir deep in a home directory or a CI workspace can be longer than that. Then
//! the socket goes to the user's runtime dir (`$XDG_RUNTIME_DIR/shipdeck/`, else
//! `/tmp/shipdeck-<uid>/`, created 0700 and checked to be ours), named after the
//! release and a hash of its directory, and the release dir holds `socket.path`,
//! a pointer to it, which clients (and `status`) read.
//!
//! Identity comes from the kernel: the uid of a socket's peer (`SO_PEERCRED`), and
//! that uid's account name from the password database. Names a client claims are
//! checked against the roster's `os_users` ([`resolve_operator`]).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::state_dir::{StateDir, create_dir_all_durable};
use crate::domain::Roster;
use crate::protocol::valid_operator_name;

/// The socket's name inside the release dir.
pub const SOCKET_FILE: &str = "socket";
/// The pointer to a socket that had to live elsewhere (its path, one line).
pub const SOCKET_POINTER: &str = "socket.path";

/// The longest socket path that fits `sun_path` everywhere we run (macOS: 104
/// bytes with the NUL).
pub const SUN_PATH_MAX: usize = 103;

/// Where a server binds its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketPlace {
    pub path: PathBuf,
    /// The in-dir path was too long: `path` is in the runtime dir, and the release
    /// dir's `socket.path` must point to it.
    pub pointer: Option<PathBuf>,
}

fn fits(path: &Path) -> bool {
    path.as_os_str().len() <= SUN_PATH_MAX
}

/// Where the server of release `label` binds: in its release dir when the path
/// fits `sun_path`, else in the user's runtime dir.
pub fn socket_place(dir: &StateDir, label: &str) -> Result<SocketPlace, io::Error> {
    let release_dir = dir.release_dir(label);
    let in_dir = release_dir.join(SOCKET_FILE);
    if fits(&in_dir) {
        return Ok(SocketPlace {
            path: in_dir,
            pointer: None,
        });
    }
    let runtime = runtime_dir()?;
    let name = format!(
        "{}-{:016x}.sock",
        label.chars().take(32).collect::<String>(),
        fnv1a(release_dir.as_os_str().as_encoded_bytes())
    );
    let path = runtime.join(name);
    if !fits(&path) {
        return Err(io::Error::other(format!(
            "no socket path short enough for release {label}: {} is {} bytes (the limit is {SUN_PATH_MAX}); set XDG_RUNTIME_DIR to a short directory",
            path.display(),
            path.as_os_str().len()
        )));
    }
    Ok(SocketPlace {
        path,
        pointer: Some(release_dir.join(SOCKET_POINTER)),
    })
}

/// Where a client finds the socket of release `label`: the in-dir path when it
/// fits, else what `socket.path` says. `None`: there is no pointer (nobody serves).
pub fn socket_path(dir: &StateDir, label: &str) -> Option<PathBuf> {
    let release_dir = dir.release_dir(label);
    let in_dir = release_dir.join(SOCKET_FILE);
    if fits(&in_dir) {
        return Some(in_dir);
    }
    let text = fs::read_to_string(release_dir.join(SOCKET_POINTER)).ok()?;
    let path = PathBuf::from(text.trim_end_matches('\n'));
    (path.is_absolute() && fits(&path)).then_some(path)
}

/// `$XDG_RUNTIME_DIR/shipdeck`, else `/tmp/shipdeck-<uid>`: created 0700 if
/// missing, and refused unless it is a directory of ours that nobody else can write.
pub fn runtime_dir() -> io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.is_dir());
    let dir = match base {
        Some(b) => b.join("shipdeck"),
        None => std::env::temp_dir().join(format!("shipdeck-{}", current_uid())),
    };
    match fs::create_dir(&dir) {
        Ok(()) => fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dir_all_durable(&dir)?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        }
        Err(e) => return Err(e),
    }
    // Not followed: a symlink planted in /tmp must not redirect our socket.
    let meta = fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != current_uid() || meta.mode() & 0o022 != 0 {
        return Err(io::Error::other(format!(
            "{} is not a private directory of this user (uid {}); remove it or set XDG_RUNTIME_DIR",
            dir.display(),
            current_uid()
        )));
    }
    Ok(dir)
}

/// FNV-1a, 64 bits: a stable name for a path (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// This process's real uid.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The account name of `uid`, from the password database; the number when it has
/// none (a container without /etc/passwd entries).
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0u8; 4096];
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes into `pwd` and `buf` (of the length given) and sets
    // `result` to `pwd` or null; nothing is read from them unless it succeeded.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            pwd.as_mut_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return uid.to_string();
    }
    // SAFETY: success: `pwd` is initialised and `pw_name` points into `buf`, a
    // NUL-terminated string that lives as long as `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr((*result).pw_name) };
    let name = name.to_string_lossy().into_owned();
    if name.is_empty() {
        uid.to_string()
    } else {
        name
    }
}

/// Who a connection acts as: `requested` (`--as NAME`) when the roster maps the
/// peer's OS user to that person, else a refusal that says how to fix it. Without
/// `--as`: the one roster person the OS user maps to, else the OS user's own name.
pub fn resolve_operator(
    roster: &Roster,
    requested: Option<&str>,
    user: &str,
    uid: u32,
) -> Result<String, String> {
    match requested.map(str::trim) {
        Some(name) => {
            if !valid_operator_name(name) {
                return Err("--as needs a name of 1 to 64 printable characters".to_string());
            }
            if roster.maps_os_user(name, user) {
                return Ok(name.to_string());
            }
            Err(match roster.person(name) {
                Some(p) if !p.os_users.is_empty() => format!(
                    "--as {name} refused: the roster maps {name} to OS user(s) {}, and this connection is from OS user {user} (uid {uid}); add \"{user}\" to {name}'s os_users in roster.json if it is theirs",
                    p.os_users.join(", ")
                ),
                Some(_) => format!(
                    "--as {name} refused: the roster does not map OS user {user} (uid {uid}) to {name}; add \"os_users\": [\"{user}\"] to {name} in roster.json"
                ),
                None => format!(
                    "--as {name} refused: {name} is not in the roster, and this connection is from OS user {user} (uid {uid}); act as yourself, or add {name} with \"os_users\": [\"{user}\"] to roster.json"
                ),
            })
        }
        None => {
            let people = roster.people_of_os_user(user);
            Ok(match people.as_slice() {
                [one] => one.name.clone(),
                _ => user.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Person, Role};

    fn roster() -> Roster {
        Roster {
            roles: Vec::new(),
            people: vec![
                Person {
                    name: "alice".into(),
                    roles: vec![Role::new("release_captain")],
                    os_users: Vec::new(),
                },
                Person {
                    name: "bob".into(),
                    roles: vec![Role::new("qa_lead")],
                    os_users: vec!["bsmith".into()],
                },
            ],
        }
    }

    #[test]
    fn as_is_accepted_only_for_the_os_user_the_roster_maps() {
        let r = roster();
        assert_eq!(
            resolve_operator(&r, Some("bob"), "bsmith", 1001),
            Ok("bob".into())
        );
        let err = resolve_operator(&r, Some("bob"), "mallory", 1002).unwrap_err();
        assert!(err.contains("maps bob to OS user(s) bsmith"), "{err}");
        assert!(err.contains("mallory (uid 1002)"), "{err}");
        assert_eq!(
            resolve_operator(&r, Some("alice"), "alice", 1000),
            Ok("alice".into())
        );
        assert!(resolve_operator(&r, Some("alice"), "bsmith", 1001).is_err());
        assert!(resolve_operator(&r, Some("carol"), "bsmith", 1001).is_err());
        assert!(resolve_operator(&r, Some("bo\x1bb"), "bsmith", 1001).is_err());
    }

    #[test]
    fn without_as_the_os_user_maps_to_its_one_person_or_stays_itself() {
        let r = roster();
        assert_eq!(resolve_operator(&r, None, "bsmith", 1001), Ok("bob".into()));
        assert_eq!(
            resolve_operator(&r, None, "alice", 1000),
            Ok("alice".into())
        );
        assert_eq!(resolve_operator(&r, None, "zed", 1003), Ok("zed".into()));
    }

    #[test]
    fn a_long_state_dir_puts_the_socket_in_the_runtime_dir_behind_a_pointer() {
        let short = StateDir::at("/s");
        let place = socket_place(&short, "v1.0.1").unwrap();
        assert_eq!(place.path, PathBuf::from("/s/releases/v1.0.1/socket"));
        assert!(place.pointer.is_none());
        let long = StateDir::at(format!("/tmp/{}", "d".repeat(120)));
        let place = socket_place(&long, "v1.0.1").unwrap();
        assert!(place.path.as_os_str().len() <= SUN_PATH_MAX);
        assert!(
            place
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("v1.0.1-")
        );
        assert_eq!(
            place.pointer,
            Some(long.release_dir("v1.0.1").join(SOCKET_POINTER))
        );
        // The same dir always gets the same name.
        assert_eq!(socket_place(&long, "v1.0.1").unwrap().path, place.path);
    }

    #[test]
    fn the_current_user_has_a_name() {
        assert!(!user_name(current_uid()).is_empty());
    }
}
