use super::*;

// ---- the keys of the issue, one by one ----

#[test]
fn a_with_no_pending_gate_says_so_in_any_focus() {
    let (s, now) = state(ReleaseType::Security);
    for focus in Focus::ORDER {
        let mut app = App::new("alice", false, false);
        app.focus = focus;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
        assert!(app.dialog.is_none(), "{focus:?}");
        assert_eq!(
            message(&app),
            (
                MessageKind::Refused,
                "refused: no wave is waiting for an approval".to_string()
            ),
            "{focus:?}"
        );
    }
}

/// Issue 10, item 3: with demo selected, `a` signed enterprise ten hours early
/// and said only "approval recorded for the next pending gate".
#[test]
fn a_asks_before_signing_and_names_the_wave_and_role() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    assert_eq!(app.wave_sel, 0, "demo selected");
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
    let d = dialog(&app);
    assert_eq!(d.kind, DialogKind::Approve);
    assert_eq!(focus_of(&app), "cancel", "nothing is signed by accident");
    let label = d.choices[0].label.clone();
    assert!(
        label.starts_with("wave enterprise as release_captain (Release captain)"),
        "{label}"
    );
    assert!(label.ends_with("· after validation"), "{label}");
    // Enter on Cancel: nothing sent.
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert!(app.dialog.is_none());
    press(&mut app, &s, now, KeyCode::Char('a'));
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Approve {
            wave: Some(TierName::new("enterprise")),
            role: Some(crate::domain::Role::new("release_captain")),
        }))
    );
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert_eq!(
        message(&app),
        (
            MessageKind::Info,
            "signed wave enterprise as release_captain".to_string()
        )
    );
    let d = s.decisions.last().expect("decision");
    assert_eq!(d.what, "approved wave enterprise as release_captain");
    // The demo's gate wants a second signature, the product owner's, which
    // alice also holds there.
    press(&mut app, &s, now, KeyCode::Char('a'));
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    let d = s.decisions.last().expect("decision");
    assert_eq!(d.what, "approved wave enterprise as product_owner");
    // Nothing left to sign: the engine's words on the message line.
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
    assert_eq!(
        message(&app),
        (
            MessageKind::Refused,
            "refused: no wave is waiting for an approval".to_string()
        )
    );
}

#[test]
fn a_lists_the_pending_gates_when_the_selection_names_none() {
    let (s, now) = state(ReleaseType::Minor);
    let mut app = App::new("bob", false, false);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('a'));
    let waves: Vec<String> = dialog(&app)
        .choices
        .iter()
        .map(|c| c.label.split(" · ").next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        waves,
        [
            "wave startup as qa_lead (QA lead)",
            "wave standard as qa_lead (QA lead)",
            "wave enterprise as qa_lead (QA lead)"
        ]
    );
    assert_eq!(focus_of(&app), "choice");
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(focus_of(&app), "cancel");
    press(&mut app, &s, now, KeyCode::Right);
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Enter),
        Some(Outgoing::Command(Command::Approve {
            wave: Some(TierName::new("standard")),
            role: Some(crate::domain::Role::new("qa_lead")),
        }))
    );
    // The selected wave on the timeline: that gate only.
    let mut app = App::new("bob", false, false);
    press(&mut app, &s, now, KeyCode::Char('G'));
    press(&mut app, &s, now, KeyCode::Char('a'));
    assert_eq!(dialog(&app).choices.len(), 1);
    assert_eq!(
        dialog(&app).choices[0].wave,
        Some(TierName::new("enterprise"))
    );
    // Someone who may not sign: the engine's refusal, no dialog.
    let mut app = App::new("alice", false, false);
    press(&mut app, &s, now, KeyCode::Char('a'));
    assert!(app.dialog.is_none());
    assert!(
        message(&app).1.contains("may not approve"),
        "{:?}",
        app.message
    );
}

#[test]
fn joins_and_leaves_become_notes_and_the_old_captain_is_told() {
    use crate::protocol::Peer;
    let (s, now) = demo_state();
    let peer = |id: u64, name: &str, readonly: bool| Peer {
        id,
        name: name.into(),
        user: "u".into(),
        uid: 1,
        readonly,
        host: id == 0,
    };
    let mut app = App::new("alice", false, true);
    // Who was already here is not news.
    app.on_presence(vec![peer(0, "alice", false), peer(1, "bob", false)], now);
    assert!(app.notes.is_empty());
    app.on_presence(
        vec![
            peer(0, "alice", false),
            peer(1, "bob", false),
            peer(2, "carol", true),
        ],
        now,
    );
    app.on_presence(vec![peer(0, "alice", false), peer(2, "carol", true)], now);
    let notes: Vec<&str> = app.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(notes, ["carol joined (watching)", "bob left"]);
    // Not a decision: the journal's decision log is untouched.
    assert!(s.decisions.iter().all(|d| !d.what.contains("joined")));
    app.on_captain("alice", "bob");
    assert_eq!(
        message(&app),
        (MessageKind::Info, "bob took over as captain".into())
    );
    let mut other = App::new("carol", false, true);
    other.on_captain("alice", "bob");
    assert!(other.message.is_none(), "only the captain who was is told");
}

#[test]
fn q_in_an_attached_cockpit_just_leaves_and_b_hands_over_only_when_offered() {
    let (s, now) = demo_state();
    let mut app = App::new("bob", false, false);
    app.attached = true;
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('q')),
        Some(Outgoing::Quit)
    );
    let mut app = App::new("alice", false, false);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('b')),
        None,
        "not offered"
    );
    let mut app = App::new("alice", false, false);
    app.background = true;
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
    assert_eq!(
        press(&mut app, &s, now, KeyCode::Char('b')),
        Some(Outgoing::Background)
    );
}

#[test]
fn p_pauses_at_once_and_resuming_asks_why() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    let out = press(&mut app, &s, now, KeyCode::Char('p'));
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Pause {
            reason: strings::PAUSE_REASON.into()
        }))
    );
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert!(s.is_paused());
    // Resuming an operator's pause: a dialog, reason optional, Enter resumes.
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('p')), None);
    assert_eq!(dialog(&app).kind, DialogKind::Resume { after_stop: false });
    assert_eq!(focus_of(&app), "reason");
    typ(&mut app, &s, now, "call over");
    let out = press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Resume {
            reason: "call over".into()
        }))
    );
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert!(!s.is_paused());
    let d = s.decisions.last().expect("decision");
    assert_eq!(
        (d.what.as_str(), d.reason.as_str()),
        ("resumed", "call over")
    );
    // Without a reason, after an operator's pause, Enter still resumes.
    let out = press(&mut app, &s, now, KeyCode::Char('p'));
    deliver(&mut app, &mut s, now, out);
    press(&mut app, &s, now, KeyCode::Char('p'));
    let out = press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::Resume {
            reason: String::new()
        }))
    );
}

#[test]
fn resuming_after_a_stop_requires_a_reason() {
    let (mut s, now) = demo_state();
    s.pause = Some(crate::engine::state::Pause {
        actor: "shipdeck".into(),
        reason: "after rollback".into(),
        since: now,
        cause: PauseCause::RollbackLock,
    });
    let mut app = App::new("alice", false, true);
    press(&mut app, &s, now, KeyCode::Char('p'));
    assert_eq!(dialog(&app).kind, DialogKind::Resume { after_stop: true });
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert_eq!(
        dialog(&app).error.as_deref(),
        Some(strings::REASON_REQUIRED)
    );
    typ(&mut app, &s, now, "techstart back on v1.0.1");
    assert!(matches!(
        press(&mut app, &s, now, KeyCode::Enter),
        Some(Outgoing::Command(Command::Resume { .. }))
    ));
}

#[test]
fn s_skips_the_selected_wave_or_the_next_with_a_reason() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    // Demo (running) selected: the engine picks the next wave.
    press(&mut app, &s, now, KeyCode::Char('s'));
    assert_eq!(dialog(&app).kind, DialogKind::SkipWait { wave: None });
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert_eq!(
        dialog(&app).error.as_deref(),
        Some(strings::REASON_REQUIRED)
    );
    press(&mut app, &s, now, KeyCode::Esc);
    press(&mut app, &s, now, KeyCode::Char('j'));
    press(&mut app, &s, now, KeyCode::Char('s'));
    typ(&mut app, &s, now, "customer asked");
    let out = press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::SkipWait {
            wave: Some(TierName::new("startup")),
            reason: "customer asked".into()
        }))
    );
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    let d = s.decisions.last().expect("decision");
    assert_eq!(d.reason, "customer asked");
}

#[test]
fn x_ticks_the_selected_item_only_in_the_checklist() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('x')), None);
    assert_eq!(
        app.message.as_ref().map(|m| m.text.as_str()),
        Some(strings::TICK_NEEDS_FOCUS)
    );
    app.focus = Focus::Checklist;
    press(&mut app, &s, now, KeyCode::Char('j'));
    let out = press(&mut app, &s, now, KeyCode::Char(' '));
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::TickItem {
            checklist: Some("pre-release-security".into()),
            item: "fix-complete".into(),
            on_word: false
        }))
    );
}

#[test]
fn x_ticks_the_row_shown_when_a_shorter_list_replaced_the_selection() {
    let (s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    app.focus = Focus::Checklist;
    let rows = crate::tui::checklists::rows(&s, app.list_view(&s));
    // A selection left far down a longer list the view no longer shows.
    app.item_sel = rows.len() + 5;
    let last = rows.last().expect("rows");
    let out = press(&mut app, &s, now, KeyCode::Char('x'));
    assert_eq!(
        out,
        Some(Outgoing::Command(Command::TickItem {
            checklist: Some(last.list.id.clone()),
            item: last.item.id.clone(),
            on_word: false
        }))
    );
}

#[test]
fn ticking_an_item_twice_is_refused_by_the_engine() {
    let (mut s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    // The first list itself (the gating view moves a ticked item down).
    press(&mut app, &s, now, KeyCode::Char(']'));
    assert_eq!(app.focus, Focus::Checklist);
    let out = press(&mut app, &s, now, KeyCode::Char('x'));
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert_eq!(message(&app).0, MessageKind::Info);
    let out = press(&mut app, &s, now, KeyCode::Char('x'));
    let verdict = deliver(&mut app, &mut s, now, out).expect("sent");
    assert!(matches!(verdict, Err(Rejected::AlreadyTicked(_))));
    let (kind, text) = message(&app);
    assert_eq!(kind, MessageKind::Refused);
    assert!(text.contains("already ticked"), "{text}");
}

/// Issue 10, item 2: the gating view lists every open item that holds what
/// comes next, whichever list; x works through them; u takes one back (asks
/// why).
#[test]
fn the_gating_view_works_through_open_items_and_u_takes_one_back() {
    let (mut s, now) = state(ReleaseType::Security);
    let mut app = App::new("alice", false, false);
    app.focus = Focus::Checklist;
    let open = s.unticked_gating_all();
    for _ in 0..open.len() {
        let out = press(&mut app, &s, now, KeyCode::Char('x'));
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    }
    assert!(
        s.unticked_gating_all().is_empty(),
        "every gating item ticked"
    );
    // The first row now is a ticked one: u asks why, then takes it back.
    let rows = crate::tui::checklists::rows(&s, crate::tui::checklists::ListView::Gating);
    assert!(rows.iter().all(|r| r.holds.is_none()));
    app.checklist_view = Some(crate::tui::checklists::ListView::Gating);
    app.item_sel = rows.len() - 1;
    let key = rows[rows.len() - 1].key();
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('u')), None);
    assert!(matches!(dialog(&app).kind, DialogKind::Untick { .. }));
    assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
    assert_eq!(
        dialog(&app).error.as_deref(),
        Some(strings::REASON_REQUIRED)
    );
    typ(&mut app, &s, now, "ticked the wrong row");
    let out = press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert_eq!(s.unticked_gating_all(), vec![key]);
    let d = s.decisions.last().expect("decision");
    assert_eq!(d.reason, "ticked the wrong row");
    // u on an open item says there is nothing to take back.
    app.item_sel = 0;
    assert_eq!(press(&mut app, &s, now, KeyCode::Char('u')), None);
    assert_eq!(message(&app).1, strings::NO_TICK);
}

#[test]
fn i_on_a_customer_not_deployed_is_refused_by_the_engine() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    app.focus = Focus::Health;
    press(&mut app, &s, now, KeyCode::Char('G'));
    press(&mut app, &s, now, KeyCode::Char('i'));
    let name = match &dialog(&app).kind {
        DialogKind::ReportIssue { name, .. } => name.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        Some(name.as_str()),
        s.customers.last().map(|c| c.name.as_str())
    );
    typ(&mut app, &s, now, "pager");
    press(&mut app, &s, now, KeyCode::Enter);
    press(&mut app, &s, now, KeyCode::Right);
    let out = press(&mut app, &s, now, KeyCode::Enter);
    let verdict = deliver(&mut app, &mut s, now, out).expect("sent");
    assert!(
        matches!(verdict, Err(Rejected::NotDeployed(_))),
        "{verdict:?}"
    );
    assert!(message(&app).1.contains("has not been deployed"));
}

#[test]
fn e_declares_an_emergency_after_confirming_and_the_engine_may_refuse() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    press(&mut app, &s, now, KeyCode::Char('e'));
    assert!(dialog(&app).kind.destructive());
    typ(&mut app, &s, now, "exploit");
    press(&mut app, &s, now, KeyCode::Enter);
    assert_eq!(focus_of(&app), "cancel");
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
    assert!(s.emergency);
    press(&mut app, &s, now, KeyCode::Char('e'));
    typ(&mut app, &s, now, "again");
    press(&mut app, &s, now, KeyCode::Tab);
    let out = press(&mut app, &s, now, KeyCode::Char('y'));
    assert_eq!(
        deliver(&mut app, &mut s, now, out),
        Some(Err(Rejected::AlreadyEmergency))
    );
    assert!(message(&app).1.contains("already in emergency mode"));
}

#[test]
fn c_confirms_overdue_waves_and_the_engine_says_when_there_are_none() {
    let (mut s, now) = demo_state();
    let mut app = App::new("alice", false, true);
    let out = press(&mut app, &s, now, KeyCode::Char('c'));
    assert_eq!(out, Some(Outgoing::Command(Command::ConfirmOverdue)));
    assert_eq!(
        deliver(&mut app, &mut s, now, out),
        Some(Err(Rejected::NothingOverdue))
    );
    assert_eq!(
        message(&app).1,
        "refused: no wave is waiting for confirmation"
    );
}
