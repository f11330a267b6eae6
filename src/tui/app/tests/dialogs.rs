use super::*;

// ---- the quit confirmation (the bug: Tab, y, Enter did not quit) ----

fn quit_dialog() -> (App, ReleaseState, DateTime<Utc>) {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
    assert_eq!(
        dialog(&app).kind,
        DialogKind::Quit { running: true },
        "q asks while the release runs"
    );
    assert_eq!(focus_of(&app), "cancel", "focus starts on Cancel");
    (app, s, now)
}

#[test]
fn quit_dialog_tab_then_enter_quits() {
    let (mut app, s, now) = quit_dialog();
    assert_eq!(press(&mut app, &s, now, KeyCode::Tab), None);
    assert_eq!(focus_of(&app), "confirm", "tab moves to Quit");
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Enter),
        Some(Outgoing::Quit)
    );
}

#[test]
fn quit_dialog_what_the_person_typed_quits() {
    // q, Tab, y, Enter: y already quits.
    let (mut app, s, now) = quit_dialog();
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('y')),
        Some(Outgoing::Quit)
    );
}

#[test]
fn quit_dialog_y_quits_at_once_from_cancel() {
    let (mut app, s, now) = quit_dialog();
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('y')),
        Some(Outgoing::Quit)
    );
    let (mut app, s, now) = quit_dialog();
    let shift_y = KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT);
    assert_eq!(app.on_key(shift_y, &s, now), Some(Outgoing::Quit));
}

#[test]
fn quit_dialog_buttons_move_with_tab_arrows_and_hl() {
    let (mut app, s, now) = quit_dialog();
    let moves = [
        (KeyCode::Tab, "confirm"),
        (KeyCode::Tab, "cancel"),
        (KeyCode::BackTab, "confirm"),
        (KeyCode::BackTab, "cancel"),
        (KeyCode::Right, "confirm"),
        (KeyCode::Right, "confirm"),
        (KeyCode::Left, "cancel"),
        (KeyCode::Left, "cancel"),
        (KeyCode::Char('l'), "confirm"),
        (KeyCode::Char('h'), "cancel"),
    ];
    for (code, want) in moves {
        assert_eq!(press(&mut app, &s, now, code), None, "{code:?}");
        assert_eq!(focus_of(&app), want, "after {code:?}");
    }
}

#[test]
fn quit_dialog_enter_on_cancel_n_and_esc_stay() {
    for code in [KeyCode::Enter, KeyCode::Char('n'), KeyCode::Esc] {
        let (mut app, s, now) = quit_dialog();
        assert_eq!(press(&mut app, &s, now, code), None, "{code:?}");
        assert!(app.dialog.is_none(), "{code:?} closes the question");
    }
    // Tab to Quit, then back to Cancel: Enter stays.
    let (mut app, s, now) = quit_dialog();
    press(&mut app, &s, now, KeyCode::Tab);
    press(&mut app, &s, now, KeyCode::BackTab);
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert!(app.dialog.is_none());
}

#[test]
fn quit_dialog_q_and_ctrl_c_again_quit() {
    let (mut app, s, now) = quit_dialog();
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('q')),
        Some(Outgoing::Quit)
    );
    let (mut app, s, now) = quit_dialog();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.on_key(ctrl_c, &s, now), Some(Outgoing::Quit));
}

#[test]
fn q_quits_at_once_when_the_release_has_ended() {
    let (mut s, now) = demo_state();
    run(&mut s, Command::Abort { reason: "x".into() }, now).expect("abort");
    let mut app = App::new("alice", false, true);
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('q')),
        Some(Outgoing::Quit)
    );
}

// ---- destructive dialogs: Cancel first, y never skips the checks ----

#[test]
fn y_in_a_reason_field_is_text_and_on_the_buttons_it_still_needs_the_reason() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('i'));
    assert_eq!(focus_of(&app), "reason");
    typ(&mut app, &s, now, "yn");
    assert_eq!(dialog(&app).reason, "yn", "y and n are letters in a reason");
    press(&mut app, &s, now, KeyCode::Backspace);
    press(&mut app, &s, now, KeyCode::Backspace);
    // Enter in the reason of a destructive dialog moves to the buttons, on Cancel.
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert_eq!(focus_of(&app), "cancel");
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('y')),
        None,
        "no reason"
    );
    assert_eq!(focus_of(&app), "reason", "sent back to the reason");
    assert_eq!(
        dialog(&app).error.as_deref(),
        Some(strings::REASON_REQUIRED)
    );
    typ(&mut app, &s, now, "500s on checkout");
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(focus_of(&app), "cancel");
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::ReportIssue {
            customer: s.customers[0].id.clone(),
            reason: "500s on checkout".into()
        }))
    );
    assert!(app.dialog.is_none());
}

#[test]
fn n_on_the_buttons_cancels_a_destructive_dialog() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    press(&mut app, &s, now, KeyCode::Char('e'));
    typ(&mut app, &s, now, "why");
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('n')), None);
    assert!(app.dialog.is_none());
}

#[test]
fn rollback_tab_order_walks_fields_then_cancel_then_confirm() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('r'));
    let order: Vec<&str> = (0..5)
        .map(|_| {
            press(&mut app, &s, now, KeyCode::Tab);
            focus_of(&app)
        })
        .collect();
    assert_eq!(order, ["reason", "cancel", "confirm", "scope", "reason"]);
    // Shift-Tab from the first field wraps to the buttons, on Cancel.
    press(&mut app, &s, now, KeyCode::BackTab);
    assert_eq!(focus_of(&app), "scope");
    press(&mut app, &s, now, KeyCode::BackTab);
    assert_eq!(focus_of(&app), "cancel");
    // Everything: the typed version joins the tab order.
    press(&mut app, &s, now, KeyCode::Tab);
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(focus_of(&app), "scope");
    press(&mut app, &s, now, KeyCode::Char('G'));
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Char('j'));
    assert_eq!(dialog(&app).selected_scope(), Some(&RollbackScope::All));
    let order: Vec<&str> = (0..4)
        .map(|_| {
            press(&mut app, &s, now, KeyCode::Tab);
            focus_of(&app)
        })
        .collect();
    assert_eq!(order, ["reason", "version", "cancel", "confirm"]);
}

#[test]
fn r_opens_the_rollback_dialog_with_cancel_focused_and_all_needs_the_version() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    app.focus = Focus::Health;
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('r')), None);
    let d = dialog(&app).clone();
    assert_eq!(d.kind, DialogKind::Rollback);
    assert!(!d.confirm_focused);
    assert!(matches!(
        d.selected_scope(),
        Some(RollbackScope::Customer(_))
    ));
    let labels: Vec<&str> = d.scopes.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        labels,
        [
            "customer Demo (main)",
            "wave demo (2 customers)",
            "everything deployed (ends the release)"
        ]
    );
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Enter);
    typ(&mut app, &s, now, "bad");
    press(&mut app, &s, now, KeyCode::Enter); // to version
    typ(&mut app, &s, now, "1.0.0");
    press(&mut app, &s, now, KeyCode::Enter); // to buttons, Cancel focused
    assert_eq!(focus_of(&app), "cancel");
    press(&mut app, &s, now, KeyCode::Right);
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Enter),
        None,
        "wrong version refused"
    );
    assert_eq!(focus_of(&app), "version");
    assert!(
        dialog(&app)
            .error
            .as_ref()
            .is_some_and(|e| e.contains("v1.0.1") && e.contains("roll back everything"))
    );
    for _ in 0..5 {
        press(&mut app, &s, now, KeyCode::Backspace);
    }
    typ(&mut app, &s, now, "v1.0.1");
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(focus_of(&app), "cancel", "back on Cancel after an error");
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Rollback {
            scope: RollbackScope::All,
            reason: "bad".into(),
            force: false
        }))
    );
}

#[test]
fn rollback_on_the_timeline_offers_the_selected_wave_first() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Char('r'));
    assert_eq!(
        dialog(&app).selected_scope(),
        Some(&RollbackScope::Wave(TierName::new("startup")))
    );
}

#[test]
fn a_refused_rollback_after_the_window_comes_back_offering_force_with_the_reason() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('r'));
    press(&mut app, &s, now, KeyCode::Tab);
    typ(&mut app, &s, now, "late regression");
    press(&mut app, &s, now, KeyCode::Enter);
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    let Some(Outgoing::Command(cmd)) = out else {
        panic!("no command: {out:?}");
    };
    assert!(matches!(cmd, Command::Rollback { force: false, .. }));
    let closed = t0() - chrono::TimeDelta::hours(1);
    app.on_command_result(
        &cmd,
        Err(SendError::Rejected(Rejected::RollbackWindowClosed {
            closed,
        })),
    );
    let (kind, text) = message(&app);
    assert_eq!(kind, MessageKind::Refused);
    assert!(text.contains("rollback window closed"), "{text}");
    let d = dialog(&app).clone();
    assert!(d.force, "force offered");
    assert_eq!(d.reason, "late regression", "the reason is kept");
    assert_eq!(focus_of(&app), "cancel", "Cancel focused");
    assert!(
        d.error
            .as_deref()
            .is_some_and(|e| e.contains("rollback window closed"))
    );
    // Force still needs the reason.
    press(&mut app, &s, now, KeyCode::BackTab);
    for _ in 0.."late regression".len() {
        press(&mut app, &s, now, KeyCode::Backspace);
    }
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
    assert_eq!(focus_of(&app), "reason");
    typ(&mut app, &s, now, "customer escalation");
    press(&mut app, &s, now, KeyCode::Enter);
    press(&mut app, &s, now, KeyCode::Right);
    let out = press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Rollback {
            scope: RollbackScope::Customer(s.customers[0].id.clone()),
            reason: "customer escalation".into(),
            force: true
        }))
    );
}

#[test]
fn other_refusals_of_a_rollback_do_not_offer_force() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('G'));
    press(&mut app, &s, now, KeyCode::Char('r'));
    press(&mut app, &s, now, KeyCode::Tab);
    typ(&mut app, &s, now, "not deployed yet");
    press(&mut app, &s, now, KeyCode::Tab);
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    let verdict = deliver(&mut app, &mut s, now, out).expect("sent");
    assert!(
        matches!(verdict, Err(Rejected::NothingToRollBack(_))),
        "{verdict:?}"
    );
    assert!(app.dialog.is_none());
    assert!(message(&app).1.starts_with("refused: nothing to roll back"));
}

#[test]
fn capital_a_aborts_after_reason_version_and_an_explicit_confirm() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    let shift_a = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT);
    assert_eq!(app.on_key(shift_a, &s, now), None);
    assert_eq!(dialog(&app).kind, DialogKind::Abort);
    assert_eq!(focus_of(&app), "reason");
    assert!(dialog(&app).kind.destructive());
    // Straight to the buttons: Cancel, and y without a reason goes back.
    press(&mut app, &s, now, KeyCode::BackTab);
    assert_eq!(focus_of(&app), "cancel");
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
    assert_eq!(focus_of(&app), "reason");
    typ(&mut app, &s, now, "wrong build");
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(focus_of(&app), "version");
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
    assert_eq!(focus_of(&app), "version", "the version must be typed");
    assert!(
        dialog(&app)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("v1.0.2") && e.contains("abort"))
    );
    typ(&mut app, &s, now, "1.0.2");
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(focus_of(&app), "cancel");
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None, "Cancel");
    assert!(app.dialog.is_none());
    assert!(!s.phase.is_final());

    app.on_key(shift_a, &s, now);
    typ(&mut app, &s, now, "wrong build");
    press(&mut app, &s, now, KeyCode::Tab);
    typ(&mut app, &s, now, "v1.0.2");
    press(&mut app, &s, now, KeyCode::Tab);
    press(&mut app, &s, now, KeyCode::Tab);
    assert_eq!(focus_of(&app), "confirm");
    let out = press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Abort {
            reason: "wrong build".into()
        }))
    );
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert_eq!(s.phase, engine::Phase::Aborted);
    assert_eq!(message(&app).0, MessageKind::Info);
}

#[test]
fn enter_on_the_default_button_cancels() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    press(&mut app, &s, now, KeyCode::Char('e'));
    typ(&mut app, &s, now, "why");
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert!(app.dialog.is_none(), "cancelled");
}

#[test]
fn chords_neither_confirm_a_dialog_nor_type_into_it() {
    let (s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('r'));
    press(&mut app, &s, now, KeyCode::Tab);
    typ(&mut app, &s, now, "bad");
    let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    assert_eq!(app.on_key(ctrl('w'), &s, now), None);
    assert_eq!(dialog(&app).reason, "bad", "Ctrl-W typed nothing");
    press(&mut app, &s, now, KeyCode::Enter);
    press(&mut app, &s, now, KeyCode::Right);
    assert_eq!(app.on_key(alt('y'), &s, now), None);
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT), &s, now),
        None
    );
    assert!(app.dialog.is_some(), "still asking");
}

#[test]
fn pasted_newlines_become_spaces_in_the_reason() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    press(&mut app, &s, now, KeyCode::Char('e'));
    app.on_paste("line one\rline two");
    assert_eq!(
        app.dialog.as_ref().map(|d| d.reason.as_str()),
        Some("line one line two")
    );
}
