//! The tray menu's actions on Tauri's mock runtime (no display, no broker): what each entry
//! does to the model and the windows. The tray icon itself and the pipeline need a desktop
//! and a broker; `tests/tests/tray.rs` in the workspace drives them end to end.

use std::time::Instant;

use herald_core::filter::Action;
use herald_core::pipeline::PipelineEvent;
use herald_desktop::status::{Focus, Live};
use herald_desktop::tray::{self, MenuId, Tray, TrayState};
use herald_desktop::window::Window;
use herald_desktop::{run_app, Lifetime};
use tauri::Manager;

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

    tray::act(handle, MenuId::Message("m1".into()));

    // The history window opens and, once its page listens, is told to show the message.
    assert!(handle.get_webview_window("history").is_some());
    let live = handle.state::<Live>();
    assert_eq!(live.take_pending_show("settings"), None);
    assert_eq!(
        live.take_pending_show("history"),
        Some(Focus::Message { id: "m1".into() })
    );
    assert_eq!(live.take_pending_show("history"), None, "shown once");
    let view = state.view(Instant::now());
    assert_eq!(view.tooltip, "Herald — starting, 1 unread");
}

#[test]
fn picking_a_package_behind_upstream_opens_its_timeline_in_the_history() {
    let app = run_app(tauri::test::mock_builder()).expect("the app builds on the mock runtime");
    let handle = app.handle();
    let state = handle.state::<Tray>();
    state.apply(&notified("m1", "first"));

    tray::act(handle, MenuId::Package("python-requests".into()));

    assert!(handle.get_webview_window("history").is_some());
    assert_eq!(
        handle.state::<Live>().take_pending_show("history"),
        Some(Focus::Package {
            name: "python-requests".into()
        })
    );
    // Looking at a package is not reading the messages.
    assert_eq!(state.view(Instant::now()).state, TrayState::Unread);
}

#[test]
fn open_history_marks_everything_seen_and_opens_the_window() {
    let app = run_app(tauri::test::mock_builder()).expect("the app builds on the mock runtime");
    let handle = app.handle();
    let state = handle.state::<Tray>();
    state.apply(&notified("m1", "first"));
    assert!(handle.get_webview_window(Window::History.label()).is_none());
    tray::act(handle, MenuId::OpenHistory);
    assert_eq!(state.view(Instant::now()).state, TrayState::Normal);
    assert!(handle.get_webview_window(Window::History.label()).is_some());
    assert!(handle
        .get_webview_window(Window::Settings.label())
        .is_none());
}

#[test]
fn settings_opens_the_settings_window_only() {
    let app = run_app(tauri::test::mock_builder()).expect("the app builds on the mock runtime");
    let handle = app.handle();
    tray::act(handle, MenuId::Settings);
    assert!(handle
        .get_webview_window(Window::Settings.label())
        .is_some());
    assert!(handle.get_webview_window(Window::History.label()).is_none());
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
