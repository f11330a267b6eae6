use super::*;

#[test]
fn navigation_keys_move_focus_selection_and_scroll() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Checklist);
    app.on_key(
        KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
        &s,
        now,
    );
    assert_eq!(app.focus, Focus::Timeline);
    press(&mut app, &s, now, KeyCode::BackTab);
    assert_eq!(app.focus, Focus::Log);
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Timeline);
    let last_wave = s.waves.len() - 1;
    for (code, want) in [
        (KeyCode::Char('j'), 1),
        (KeyCode::Down, 2),
        (KeyCode::Char('k'), 1),
        (KeyCode::Up, 0),
        (KeyCode::Up, 0),
        (KeyCode::Char('G'), last_wave),
        (KeyCode::Down, last_wave),
        (KeyCode::Char('g'), 0),
        (KeyCode::End, last_wave),
        (KeyCode::Home, 0),
    ] {
        press(&mut app, &s, now, code);
        assert_eq!(app.wave_sel, want, "timeline {code:?}");
    }
    app.focus = Focus::Checklist;
    press(&mut app, &s, now, KeyCode::Char('G'));
    let items = current_checklist(&s).map_or(0, |c| c.items.len());
    assert_eq!(app.item_sel, items - 1);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Char('j'));
    assert_eq!(app.customer_sel, 2);
    app.focus = Focus::Log;
    press(&mut app, &s, now, KeyCode::Char('G'));
    assert_eq!(app.log_scroll, s.decisions.len() - 1);
    press(&mut app, &s, now, KeyCode::Char('g'));
    assert_eq!(app.log_scroll, 0);
}

#[test]
fn slash_filters_esc_clears_and_question_mark_toggles_help() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    press(&mut app, &s, now, KeyCode::Char('/'));
    assert!(app.filter_editing);
    assert_eq!(app.focus, Focus::Health);
    // Keys are text while filtering: q does not quit, a does not approve.
    typ(&mut app, &s, now, "aq");
    assert_eq!(app.filter, "aq");
    press(&mut app, &s, now, KeyCode::Backspace);
    press(&mut app, &s, now, KeyCode::Backspace);
    typ(&mut app, &s, now, "acme");
    press(&mut app, &s, now, KeyCode::Enter);
    assert!(!app.filter_editing);
    assert_eq!(app.visible_customers(&s).len(), 1);
    press(&mut app, &s, now, KeyCode::Esc);
    assert!(app.filter.is_empty());
    assert_eq!(app.visible_customers(&s).len(), s.customers.len());
    app.refuse("something");
    press(&mut app, &s, now, KeyCode::Esc);
    assert!(app.message.is_none(), "esc clears the message");
    press(&mut app, &s, now, KeyCode::Char('?'));
    assert!(app.help);
    // Help swallows action keys.
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
    press(&mut app, &s, now, KeyCode::Char('?'));
    assert!(!app.help);
    press(&mut app, &s, now, KeyCode::Char('?'));
    press(&mut app, &s, now, KeyCode::Esc);
    assert!(!app.help);
}

/// Every key of the issue's list in every focus: what it does there.
#[test]
fn every_key_in_every_focus() {
    let (s, now) = demo_state();
    let pause = Some(Outgoing::Command(Command::Pause {
        reason: strings::PAUSE_REASON.into(),
    }));
    for focus in Focus::ORDER {
        let fresh = || {
            let mut app = App::new("alice", false, true);
            app.focus = focus;
            app
        };
        let mut app = fresh();
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
        assert_eq!(dialog(&app).kind, DialogKind::Approve, "{focus:?}");
        let mut app = fresh();
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('p')),
            pause,
            "{focus:?}"
        );
        for (c, kind) in [
            ('r', DialogKind::Rollback),
            ('s', DialogKind::SkipWait { wave: None }),
            ('e', DialogKind::Emergency),
            ('A', DialogKind::Abort),
            ('q', DialogKind::Quit { running: true }),
        ] {
            let mut app = fresh();
            assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None);
            assert_eq!(dialog(&app).kind, kind, "{c} in {focus:?}");
            assert_ne!(
                focus_of(&app),
                "confirm",
                "{c}: confirm never focused at first"
            );
        }
        let mut app = fresh();
        press(&mut app, &s, now, KeyCode::Char('i'));
        assert!(
            matches!(dialog(&app).kind, DialogKind::ReportIssue { .. }),
            "i in {focus:?}"
        );
        for c in ['x', ' '] {
            let mut app = fresh();
            let out = press(&mut app, &s, now, KeyCode::Char(c));
            if focus == Focus::Checklist {
                assert!(
                    matches!(out, Some(Outgoing::Command(Command::TickItem { .. }))),
                    "{c:?}"
                );
            } else {
                assert_eq!(out, None);
                assert_eq!(message(&app).1, strings::TICK_NEEDS_FOCUS);
            }
        }
        let mut app = fresh();
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('c')),
            Some(Outgoing::Command(Command::ConfirmOverdue))
        );
        let mut app = fresh();
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('f')),
            Some(Outgoing::InjectFault(s.customers[0].id.clone()))
        );
        let mut app = fresh();
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(app.focus, focus.next());
        press(&mut app, &s, now, KeyCode::BackTab);
        assert_eq!(app.focus, focus);
        let mut app = fresh();
        press(&mut app, &s, now, KeyCode::Char('?'));
        assert!(app.help);
        let mut app = fresh();
        press(&mut app, &s, now, KeyCode::Char('/'));
        assert!(app.filter_editing);
    }
}

#[test]
fn readonly_refuses_every_action_key_with_a_note_and_still_navigates() {
    let (s, now) = demo_state();
    let actions: Vec<char> = keys::DEFAULT_BINDINGS
        .iter()
        .filter(|(_, a)| a.acts())
        .filter_map(|(code, _)| match code {
            KeyCode::Char(c) => Some(*c),
            _ => None,
        })
        .collect();
    assert!(
        actions.contains(&'A') && actions.contains(&'f'),
        "{actions:?}"
    );
    for focus in Focus::ORDER {
        let mut app = App::new("alice", true, true);
        app.focus = focus;
        for &c in &actions {
            app.message = None;
            assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None, "{c}");
            assert!(app.dialog.is_none(), "{c} opened a dialog");
            let (kind, text) = message(&app);
            assert_eq!(kind, MessageKind::Refused);
            assert!(
                text.starts_with("read-only: `") && text.contains("--readonly"),
                "{c}: {text}"
            );
        }
    }
    let mut app = App::new("alice", true, true);
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Checklist);
    press(&mut app, &s, now, KeyCode::Char('q'));
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('y')),
        Some(Outgoing::Quit)
    );
}

#[test]
fn too_small_only_quits() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    app.too_small = true;
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('p')), None);
    assert_eq!(
        app.message.as_ref().map(|m| m.text.as_str()),
        Some(strings::TOO_SMALL_KEYS)
    );
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('q')),
        Some(Outgoing::Quit),
        "a confirmation could not be seen: q quits at once"
    );
}

#[test]
fn a_dialog_cannot_be_answered_while_the_terminal_is_too_small() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('r'));
    press(&mut app, &s, now, KeyCode::Tab);
    typ(&mut app, &s, now, "bad");
    press(&mut app, &s, now, KeyCode::Enter);
    press(&mut app, &s, now, KeyCode::Right);
    assert_eq!(focus_of(&app), "confirm");
    app.too_small = true;
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
    assert_eq!(dialog(&app).reason, "bad", "the dialog waits, intact");
    app.too_small = false;
    assert!(matches!(
        press(&mut app, &s, now, KeyCode::Enter),
        Some(Outgoing::Command(Command::Rollback { .. }))
    ));
}

#[test]
fn f_is_demo_only_and_names_the_selected_customer() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('f')), None);
    let mut demo = App::new("alice", false, true);
    demo.focus = Focus::Health;
    press(&mut demo, &s, now, KeyCode::Char('G'));
    let last = s.customers.last().expect("customers").id.clone();
    assert_eq!(
        press(&mut demo, &s, now, KeyCode::Char('f')),
        Some(Outgoing::InjectFault(last))
    );
}

#[test]
fn after_the_runtime_stopped_action_keys_say_so() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.runtime_stopped = true;
    for c in ['a', 'p', 'r', 's', 'e', 'A'] {
        app.message = None;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None, "{c}");
        assert!(app.dialog.is_none(), "{c}");
        assert_eq!(message(&app).1, strings::RUNTIME_STOPPED, "{c}");
    }
}

#[test]
fn engine_refusal_reaches_the_message_line() {
    let mut app = App::new("alice", false, false);
    let cmd = Command::Approve {
        wave: None,
        role: None,
    };
    app.on_command_result(
        &cmd,
        Err(SendError::Rejected(crate::engine::Rejected::NoPendingGate)),
    );
    assert_eq!(
        app.message,
        Some(Message {
            kind: MessageKind::Refused,
            text: "refused: no wave is waiting for an approval".into()
        })
    );
}
