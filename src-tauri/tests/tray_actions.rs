//! The tray menu's actions on Tauri's mock runtime (no display, no broker): what each entry
//! does to the model and the windows. The tray icon itself and the pipeline need a desktop
//! and a broker; `tests/tests/tray.rs` in the workspace drives them end to end.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use herald_core::filter::Action;
use herald_core::pipeline::PipelineEvent;
use herald_desktop::tray::{self, MenuId, Tray, TrayState, SHOW_MESSAGE};
use herald_desktop::{run_app, window, Lifetime};
use tauri::{Listener, Manager};

fn notified(id: &str, summary: &str) -> PipelineEvent {
    PipelineEvent::Stored {
        id: id.into(),
        topic: "org.example.test".into(),
        source: "generic".into(),
        severity: 20,
        summary: summary.into(),
        action: Action::Notify,
        rule: Some("t".into()),
    }
}

#[test]
fn picking_a_message_marks_it_seen_and_tells_the_main_window() {
    let app = run_app(tauri::test::mock_builder()).expect("the app builds on the mock runtime");
    let handle = app.handle();
    let state = handle.state::<Tray>();
    state.apply(&notified("m1", "first"));
    state.apply(&notified("m2", "second"));
    assert_eq!(state.view(Instant::now()).state, TrayState::Unread);

    let (tx, rx) = mpsc::channel();
    handle.listen_any(SHOW_MESSAGE, move |event| {
        let _ = tx.send(event.payload().to_owned());
    });
    tray::act(handle, MenuId::Message("m1".into()));

    let payload = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the window hears which message was picked");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&payload).expect("JSON payload"),
        serde_json::json!({ "id": "m1" })
    );
    let view = state.view(Instant::now());
    assert_eq!(view.tooltip, "Herald — starting, 1 unread");
    assert!(handle.get_webview_window(window::MAIN).is_some());
}

#[test]
fn open_history_marks_everything_seen_and_opens_the_window() {
    let app = run_app(tauri::test::mock_builder()).expect("the app builds on the mock runtime");
    let handle = app.handle();
    let state = handle.state::<Tray>();
    state.apply(&notified("m1", "first"));
    tray::act(handle, MenuId::OpenHistory);
    assert_eq!(state.view(Instant::now()).state, TrayState::Normal);
    assert!(handle.get_webview_window(window::MAIN).is_some());
}

#[test]
fn pause_and_resume_change_the_icon_and_the_enabled_entries() {
    let app = run_app(tauri::test::mock_builder()).expect("the app builds on the mock runtime");
    let handle = app.handle();
    let state = handle.state::<Tray>();
    let enabled = |id: &MenuId| {
        state
            .view(Instant::now())
            .menu
            .0
            .into_iter()
            .find_map(|e| match e {
                tray::MenuEntry::Item {
                    id: item, enabled, ..
                } if &item == id => Some(enabled),
                _ => None,
            })
            .expect("entry in the menu")
    };

    tray::act(handle, MenuId::PauseHour);
    assert_eq!(state.view(Instant::now()).state, TrayState::Paused);
    assert!(!enabled(&MenuId::PauseHour));
    assert!(enabled(&MenuId::Resume));

    tray::act(handle, MenuId::Resume);
    assert_eq!(state.view(Instant::now()).state, TrayState::Normal);
    assert!(!enabled(&MenuId::Resume));

    tray::act(handle, MenuId::PauseUntilResumed);
    assert_eq!(state.view(Instant::now()).state, TrayState::Paused);
    assert!(!enabled(&MenuId::PauseUntilResumed));

    // Not quitting unless Quit is picked.
    assert!(!handle.state::<Lifetime>().quitting());
}
