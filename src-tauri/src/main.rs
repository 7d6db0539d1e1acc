//! Herald's tray app binary; everything lives in the library so tests can boot it.

// Release builds on Windows would otherwise open a console next to the window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    match herald_desktop::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herald-desktop: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
