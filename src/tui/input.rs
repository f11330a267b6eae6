//! Terminal input as a `Stream`, so the event loop never touches the terminal
//! directly.
//!
//! The cockpit's event loop takes any
//! `impl Stream<Item = io::Result<Event>> + Unpin`: in production that is
//! [`terminal_events`] (crossterm's `EventStream`), in tests it is
//! [`scripted_events`] / [`scripted_keys`], which feed keys without a terminal, a
//! tty or a sleep. The loop behaves identically for both, so a test of "press `a`,
//! then `y`" exercises the same code path as an operator at a keyboard.

use std::io;

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures_util::Stream;
use futures_util::{StreamExt, stream};

/// Events from the real terminal. Create it after entering the terminal session:
/// crossterm reads the tty from a background thread once the stream is polled.
pub fn terminal_events() -> impl Stream<Item = io::Result<Event>> + Unpin {
    EventStream::new()
}

/// A finite stream of the given events; it ends after the last one.
///
/// An event loop that treats the end of input as "quit" stops there. To keep the
/// loop running afterwards (e.g. to let timers fire on paused time), chain
/// `futures_util::stream::pending()`.
///
/// Each event comes a millisecond after the last, like a fast typist: on paused
/// tokio time that lets everything the previous key set off (a command, its journal
/// write, its verdict) finish first, so scripted runs are deterministic.
pub fn scripted_events(events: Vec<Event>) -> impl Stream<Item = io::Result<Event>> + Unpin {
    Box::pin(stream::iter(events).then(|e| async move {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        Ok(e)
    }))
}

/// [`scripted_events`] for key presses only.
pub fn scripted_keys(keys: Vec<KeyEvent>) -> impl Stream<Item = io::Result<Event>> + Unpin {
    scripted_events(keys.into_iter().map(Event::Key).collect())
}

/// A press of `code` without modifiers.
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// One plain key press per character: `typed("jjq")` is `j`, `j`, `q`.
/// Upper-case letters carry SHIFT, as crossterm reports them.
pub fn typed(text: &str) -> Vec<KeyEvent> {
    text.chars()
        .map(|c| {
            let modifiers = if c.is_uppercase() {
                KeyModifiers::SHIFT
            } else {
                KeyModifiers::NONE
            };
            KeyEvent::new(KeyCode::Char(c), modifiers)
        })
        .collect()
}

/// Whether an event is a key *press* (or repeat).
///
/// Terminals with the kitty keyboard protocol also report releases; acting on those
/// would run every action twice. crossterm only reports them when asked, which
/// shipdeck does not do, but key handlers should still filter with this.
pub fn is_press(key: &KeyEvent) -> bool {
    matches!(key.kind, KeyEventKind::Press | KeyEventKind::Repeat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn scripted_keys_arrive_in_order_then_end() {
        let mut events = scripted_keys(vec![key(KeyCode::Tab), key(KeyCode::Esc)]);
        let first = events.next().await.unwrap().unwrap();
        let second = events.next().await.unwrap().unwrap();
        assert_eq!(first, Event::Key(key(KeyCode::Tab)));
        assert_eq!(second, Event::Key(key(KeyCode::Esc)));
        assert!(events.next().await.is_none());
    }

    #[tokio::test]
    async fn scripted_events_carry_pastes_and_resizes() {
        let script = vec![
            Event::Paste("rollback: p95\nup 40%".into()),
            Event::Resize(80, 24),
        ];
        let got: Vec<Event> = scripted_events(script.clone())
            .map(|event| event.unwrap())
            .collect()
            .await;
        assert_eq!(got, script);
    }

    #[test]
    fn typed_maps_characters_to_plain_presses() {
        let keys = typed("aQ");
        assert_eq!(
            keys[0],
            KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE)
        );
        assert_eq!(
            keys[1],
            KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT)
        );
        assert!(keys.iter().all(is_press));
    }

    #[test]
    fn releases_are_not_presses() {
        let mut release = key(KeyCode::Char('a'));
        release.kind = KeyEventKind::Release;
        assert!(!is_press(&release));
    }
}
