//! The attach protocol: what crosses a release's Unix socket between the process
//! that runs the release (the server) and everyone else (cockpits attached to it,
//! and commands from any terminal).
//!
//! Pure data, as `engine/` is: no I/O, no tokio. The runtime frames these messages
//! with a 4-byte big-endian length prefix (tokio-util's `LengthDelimitedCodec`);
//! each frame holds one JSON object tagged by `type`. A connection goes:
//!
//! ```text
//! client                                   server
//! hello {protocol, operator, readonly} ──►
//!                                      ◄── welcome {release, next_seq, now, speed, you, serving}
//!                                          (or bye {reason: refused | version_too_new, message})
//! command {id, command}              ──►
//!                                      ◄── committed {seq, event}   every journaled event, in order
//!                                      ◄── verdict {id, outcome}    the engine's answer
//!                                      ◄── clock {now, next_seq}    once a second
//!                                      ◄── presence {people}        when someone joins or leaves
//! bye                                ──►   (or)                ◄── bye {reason, message}
//! ```
//!
//! A client builds its state from the journal on disk and folds the `committed`
//! events with the engine's `apply`. Sequence numbers are the journal's: a
//! `committed` beyond the next expected one, or a `clock` whose `next_seq` is ahead,
//! means the client missed something (it was slow and the server moved on), and it
//! re-reads the journal, which always holds every event a frame announced.
//!
//! Versioning: `hello` and `welcome` carry [`PROTOCOL_VERSION`]. The server refuses
//! a client that speaks a newer protocol (`bye` with `version_too_new`, naming both
//! versions) rather than guess; fields are only ever added, and readers ignore the
//! fields they do not know.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::rejected::Refusal;
use crate::engine::{Command, Event};

/// The protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Frames a server accepts from a client: commands and greetings are small, so
/// anything bigger is a broken or hostile client, and its connection is closed.
pub const MAX_CLIENT_FRAME: usize = 64 * 1024;

/// Frames a client accepts from a server. The biggest event is the plan (the first
/// one), which clients read from the journal; this bound leaves room for any other
/// event at 10,000+ customers. An event that would not fit is not sent: the client
/// sees the gap in sequence numbers and reads it from the journal.
pub const MAX_SERVER_FRAME: usize = 4 * 1024 * 1024;

/// What a client says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    Hello(Hello),
    /// `id` is the client's own: the verdict comes back with it.
    Command {
        id: u64,
        command: Command,
    },
    Bye,
}

/// The first frame of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// `--as NAME`; `None` acts as the OS user (or the roster person it maps to).
    #[serde(default)]
    pub operator: Option<String>,
    /// Every command on this connection is refused by the server.
    #[serde(default)]
    pub readonly: bool,
    #[serde(default)]
    pub client: ClientKind,
}

/// What kind of client connects: a cockpit shows in everyone's presence line; a
/// one-shot command does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    #[default]
    Cockpit,
    Command,
}

/// What the server says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome(Welcome),
    Committed { seq: u64, event: Event },
    Clock { now: DateTime<Utc>, next_seq: u64 },
    Verdict { id: u64, outcome: Outcome },
    Presence { people: Vec<Peer> },
    Bye(Farewell),
}

/// The answer to a `hello` the server accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Welcome {
    pub protocol: u32,
    /// The release's label (`v1.0.2`).
    pub release: String,
    /// Events in the journal when the connection was accepted; every later one
    /// arrives as `committed`.
    pub next_seq: u64,
    /// Release time at the server, and how fast it runs (1 = real time).
    pub now: DateTime<Utc>,
    pub speed: f64,
    /// The journal the client reads its state from.
    pub journal: String,
    /// Who the server takes this connection for.
    pub you: Peer,
    pub serving: Serving,
}

/// The process that runs the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serving {
    pub pid: u32,
    pub host: String,
    pub kind: ServingKind,
    /// The operator of that process (the cockpit's person, the runner's owner).
    pub operator: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServingKind {
    Cockpit,
    Deploy,
    Runner,
    Demo,
}

impl ServingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ServingKind::Cockpit => "a cockpit",
            ServingKind::Deploy => "`shipdeck deploy`",
            ServingKind::Runner => "a background runner",
            ServingKind::Demo => "`shipdeck demo`",
        }
    }
}

/// Someone present: the serving process's own operator, or an attached cockpit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Unique per server: tells two sessions of one person apart.
    pub id: u64,
    /// The name actions are journaled under.
    pub name: String,
    /// The OS account and uid, as the kernel reported them for the socket.
    pub user: String,
    pub uid: u32,
    pub readonly: bool,
    /// The operator of the process that runs the release (not attached).
    #[serde(default)]
    pub host: bool,
}

/// A verdict as it crosses the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Refused(Refusal),
}

/// Why a connection ends, from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Farewell {
    pub reason: ByeReason,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ByeReason {
    /// The release ended (completed, rolled back, aborted).
    Ended,
    /// The process stopped running it (its operator quit, a signal, an error).
    Stopped,
    /// The release moves to another process (a background runner): reconnect.
    HandedOff,
    /// The `hello` was refused (identity, access).
    Refused,
    /// The client speaks a newer protocol than this server.
    VersionTooNew,
    /// The client sent something that is not a frame of this protocol.
    BadFrame,
}

impl fmt::Display for Farewell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is not JSON: {0}")]
    NotJson(String),
    #[error("the frame is JSON but not a message of this protocol: {0}")]
    NotAMessage(String),
    #[error(
        "the client speaks protocol {found}; this shipdeck speaks up to {supported}: run the same shipdeck version on both sides"
    )]
    NewerVersion { found: u32, supported: u32 },
}

/// The bytes of a message, as the frame's payload.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    // Our messages are plain data (strings, numbers, maps with string keys): they
    // always serialize. Should one ever not, an empty payload reads as garbage on
    // the other side and closes the connection with a reason.
    serde_json::to_vec(msg).unwrap_or_default()
}

/// The payload of a `committed` frame, without copying the event.
pub fn encode_committed(seq: u64, event: &Event) -> Vec<u8> {
    #[derive(Serialize)]
    struct Out<'a> {
        r#type: &'static str,
        seq: u64,
        event: &'a Event,
    }
    encode(&Out {
        r#type: "committed",
        seq,
        event,
    })
}

/// Reads a client's frame. A `hello` of a newer protocol is named as such, even
/// when the rest of it does not read.
pub fn decode_client(bytes: &[u8]) -> Result<ClientMsg, FrameError> {
    #[derive(Deserialize)]
    struct Probe {
        r#type: String,
        protocol: Option<u32>,
    }
    let newer = |bytes: &[u8]| match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe {
            r#type,
            protocol: Some(found),
        }) if r#type == "hello" && found > PROTOCOL_VERSION => Some(FrameError::NewerVersion {
            found,
            supported: PROTOCOL_VERSION,
        }),
        _ => None,
    };
    match serde_json::from_slice::<ClientMsg>(bytes) {
        Ok(ClientMsg::Hello(h)) if h.protocol > PROTOCOL_VERSION => Err(FrameError::NewerVersion {
            found: h.protocol,
            supported: PROTOCOL_VERSION,
        }),
        Ok(msg) => Ok(msg),
        Err(e) => {
            if let Some(err) = newer(bytes) {
                return Err(err);
            }
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => Err(FrameError::NotAMessage(e.to_string())),
                Err(e) => Err(FrameError::NotJson(e.to_string())),
            }
        }
    }
}

/// Reads a server's frame.
pub fn decode_server(bytes: &[u8]) -> Result<ServerMsg, FrameError> {
    serde_json::from_slice::<ServerMsg>(bytes).map_err(|e| {
        match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => FrameError::NotAMessage(e.to_string()),
            Err(e) => FrameError::NotJson(e.to_string()),
        }
    })
}

/// Text from the other side of a socket, made safe to print or draw: control
/// characters (an escape sequence hidden in a name) become `?`, and it is cut to
/// `max` characters.
pub fn clean_text(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// The first control character hidden in a command's text (a reason, an item, a
/// wave), if any: a command from another process is refused rather than let an
/// escape sequence into the journal and onto everyone's terminal.
pub fn control_char_in(command: &Command) -> Option<char> {
    fn walk(v: &serde_json::Value) -> Option<char> {
        match v {
            serde_json::Value::String(s) => s.chars().find(|c| c.is_control()),
            serde_json::Value::Array(a) => a.iter().find_map(walk),
            serde_json::Value::Object(o) => o
                .iter()
                .find_map(|(k, v)| k.chars().find(|c| c.is_control()).or_else(|| walk(v))),
            _ => None,
        }
    }
    serde_json::to_value(command).ok().as_ref().and_then(walk)
}

/// Whether `name` may name an operator: 1 to 64 characters, none of them control
/// characters, not only spaces.
pub fn valid_operator_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=64).contains(&n) && !name.chars().any(char::is_control) && !name.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_reads_with_defaults_and_unknown_fields_are_ignored() {
        let msg = decode_client(br#"{"type":"hello","protocol":1,"color":"blue"}"#).unwrap();
        assert_eq!(
            msg,
            ClientMsg::Hello(Hello {
                protocol: 1,
                operator: None,
                readonly: false,
                client: ClientKind::Cockpit,
            })
        );
    }

    #[test]
    fn a_newer_hello_is_named_even_when_it_does_not_read() {
        for bytes in [
            &br#"{"type":"hello","protocol":7}"#[..],
            &br#"{"type":"hello","protocol":7,"readonly":"maybe"}"#[..],
        ] {
            assert_eq!(
                decode_client(bytes),
                Err(FrameError::NewerVersion {
                    found: 7,
                    supported: PROTOCOL_VERSION
                })
            );
        }
    }

    #[test]
    fn garbage_is_told_apart_from_json_of_the_wrong_shape() {
        assert!(matches!(
            decode_client(b"\x00\xffnot json"),
            Err(FrameError::NotJson(_))
        ));
        assert!(matches!(
            decode_client(br#"{"type":"launch_missiles"}"#),
            Err(FrameError::NotAMessage(_))
        ));
        assert!(matches!(
            decode_server(b"[1,2"),
            Err(FrameError::NotJson(_))
        ));
    }

    #[test]
    fn commands_verdicts_and_committed_events_round_trip() {
        let cmd = ClientMsg::Command {
            id: 9,
            command: Command::Pause {
                reason: "db".into(),
            },
        };
        assert_eq!(decode_client(&encode(&cmd)).unwrap(), cmd);
        let verdict = ServerMsg::Verdict {
            id: 9,
            outcome: Outcome::Refused(Refusal {
                code: "not_paused".into(),
                message: "the release is not paused".into(),
            }),
        };
        assert_eq!(decode_server(&encode(&verdict)).unwrap(), verdict);
        let event = Event {
            at: "2026-11-21T10:00:00Z".parse().unwrap(),
            event: crate::engine::EventKind::Completed,
        };
        let bytes = encode_committed(4, &event);
        assert_eq!(
            decode_server(&bytes).unwrap(),
            ServerMsg::Committed { seq: 4, event }
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Nothing a peer sends can make decoding panic.
        #[test]
        fn any_bytes_decode_without_panicking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            json in "\\{\"type\":\"[a-z_]{0,12}\"(,\"[a-z]{1,8}\":[0-9a-z\\[\\]{}\",]{0,24})?\\}",
        ) {
            let _ = decode_client(&bytes);
            let _ = decode_server(&bytes);
            let _ = decode_client(json.as_bytes());
            let _ = decode_server(json.as_bytes());
        }
    }

    #[test]
    fn control_characters_in_a_command_are_found() {
        let clean = Command::Pause {
            reason: "db — ok".into(),
        };
        assert_eq!(control_char_in(&clean), None);
        let dirty = Command::Pause {
            reason: "x\x1b[2J".into(),
        };
        assert_eq!(control_char_in(&dirty), Some('\x1b'));
    }

    #[test]
    fn text_from_a_peer_is_cleaned_and_names_are_checked() {
        assert_eq!(clean_text("bob\x1b[2J", 64), "bob?[2J");
        assert_eq!(clean_text("abcdef", 3), "abc…");
        assert!(valid_operator_name("bob"));
        assert!(!valid_operator_name(""));
        assert!(!valid_operator_name("   "));
        assert!(!valid_operator_name("bo\nb"));
        assert!(!valid_operator_name(&"x".repeat(65)));
    }
}
