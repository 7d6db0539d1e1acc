//! `herald rules` in a process of its own racing the settings window's save in this one:
//! both hold the config's lock from reading to writing, and the save merges what the other
//! process wrote since the window read its settings, so both changes land every time.

use herald_core::config::Config;
use herald_core::settings::{self, Settings};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn config_rules_add_in_another_process_and_a_settings_save_keep_both_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, "# mine\n[herald]\nretention_days = 30\n").expect("config");
    let (mut cli_first, rounds) = (0, 24u32);
    for round in 0..rounds {
        // The window read its settings before the command started.
        let mut s = Settings::load_with(&path, |_, _| Ok(false)).expect("settings");
        s.retention_days = 100 + round;
        let (id, package) = (format!("cli-{round}"), format!("p{round}"));
        let mut child = herald(
            tmp.path(),
            &path,
            &[
                "rules",
                "add",
                "--id",
                &id,
                "--package",
                &package,
                "--action",
                "drop",
            ],
        )
        .spawn()
        .expect("start herald");
        // Saves before, during and after the command's own write.
        let delay = [0, 5, 20, 60][round as usize % 4] + fastrand::u64(0..15);
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().expect("child").is_some() {
            cli_first += 1;
        }
        let report = settings::save(&path, &s).expect("save");
        let out = child.wait_with_output().expect("herald");
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(report.conflicts.is_empty(), "round {round}: {report:?}");
        let cfg = Config::load(&path, false).expect("loads");
        assert_eq!(
            cfg.herald.retention_days,
            100 + round,
            "round {round}: the window's change is lost"
        );
        assert!(
            cfg.herald
                .rules
                .iter()
                .any(|r| r.id == format!("cli-{round}")),
            "round {round}: the command's rule is lost"
        );
    }
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.starts_with("# mine\n"), "{text}");
    let cfg = Config::load(&path, false).expect("loads");
    assert_eq!(cfg.herald.rules.len(), rounds as usize);
    // The order that used to lose the rule (the window saving over it) came up.
    assert!(cli_first > 0, "the command never finished before a save");
}

/// `herald ARGS` on `config`, with a home of its own in `tmp`.
fn herald(tmp: &std::path::Path, config: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_herald"));
    c.arg("--config")
        .arg(config)
        .arg("--db")
        .arg(tmp.join("history.db"))
        .args(args)
        .env("HOME", tmp)
        .env("XDG_CONFIG_HOME", tmp.join("xdg-config"))
        .env("XDG_DATA_HOME", tmp.join("xdg-data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn config_writes_fsync_the_file_then_rename_then_fsync_the_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tmp_path = std::fs::canonicalize(tmp.path()).expect("real path");
    let path = tmp_path.join("config.toml");
    std::fs::write(&path, "# mine\n").expect("config");
    let log = tmp_path.join("strace.log");
    let cmd = herald(
        &tmp_path,
        &path,
        &["rules", "add", "--id", "traced", "--package", "p"],
    );
    // The system calls themselves, as the kernel saw them.
    let out = Command::new("strace")
        .args(["-f", "-qq", "-s", "4096", "-o"])
        .arg(&log)
        .args([
            "-e",
            "trace=openat,fsync,fdatasync,rename,renameat,renameat2",
        ])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .expect("strace runs (it is needed for this test)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&log).expect("strace log");
    let lines: Vec<&str> = log.lines().collect();
    let folder = format!("\"{}\"", tmp_path.display());
    let tmp_prefix = format!("\"{}/.config.toml.", tmp_path.display());
    let fd = |line: &str| line.rsplit("= ").next().map(str::trim).map(str::to_owned);

    let (created, tmp_fd) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains("openat(") && l.contains(&tmp_prefix) && l.contains(".tmp\""))
        .map(|(i, l)| (i, fd(l).expect("fd")))
        .unwrap_or_else(|| panic!("no temporary file opened:\n{log}"));
    let open = lines[created];
    assert!(
        open.contains("O_CREAT") && open.contains("O_EXCL") && open.contains(", 0600)"),
        "created exclusively and private: {open}"
    );
    let synced = (created..lines.len())
        .find(|&i| lines[i].contains(&format!("fsync({tmp_fd})")))
        .unwrap_or_else(|| panic!("the temporary file is not fsynced:\n{log}"));
    let renamed = (synced..lines.len())
        .find(|&i| {
            lines[i].contains("rename")
                && lines[i].contains(&tmp_prefix)
                && lines[i].contains(&format!("\"{}\"", path.display()))
                && lines[i].ends_with("= 0")
        })
        .unwrap_or_else(|| panic!("no rename over the config after the fsync:\n{log}"));
    let opened_folder = (renamed..lines.len())
        .find(|&i| {
            lines[i].contains("openat(") && lines[i].contains(&format!("{folder}, O_RDONLY"))
        })
        .unwrap_or_else(|| panic!("the folder is not opened after the rename:\n{log}"));
    let dir_fd = fd(lines[opened_folder]).expect("fd");
    assert!(
        lines[opened_folder..]
            .iter()
            .any(|l| l.contains(&format!("fsync({dir_fd})")) && l.ends_with("= 0")),
        "the folder is not fsynced after the rename:\n{log}"
    );
}

#[test]
fn config_a_killed_writer_leaves_the_old_file_or_the_new_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    // Big enough that writing it takes a while: a writer killed halfway through a write in
    // place would leave part of it.
    let mut old = String::from("# mine\n");
    for i in 0..40_000 {
        old.push_str(&format!(
            "# padding line {i:>8} ........................................\n"
        ));
    }
    std::fs::write(&path, &old).expect("config");
    let mut replaced = 0;
    for round in 0..16u64 {
        let before = std::fs::read_to_string(&path).expect("read");
        let mut child = herald(
            tmp.path(),
            &path,
            &[
                "rules",
                "add",
                "--id",
                &format!("r{round}"),
                "--package",
                "p",
            ],
        )
        .spawn()
        .expect("start herald");
        std::thread::sleep(Duration::from_millis(
            20 + round * 15 + fastrand::u64(0..10),
        ));
        let _ = child.kill();
        let _ = child.wait();
        let after = std::fs::read_to_string(&path).expect("read");
        if after == before {
            continue;
        }
        replaced += 1;
        let cfg = Config::load(&path, false).expect("a whole file");
        assert!(
            cfg.herald.rules.iter().any(|r| r.id == format!("r{round}")),
            "round {round}: neither the old file nor the new one"
        );
        assert_eq!(
            after.lines().filter(|l| l.starts_with("# padding")).count(),
            40_000,
            "round {round}: part of the file is missing"
        );
    }
    // Whatever a killed writer left behind is the user's alone.
    for entry in std::fs::read_dir(tmp.path()).expect("read dir").flatten() {
        use std::os::unix::fs::PermissionsExt as _;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".config.toml.") {
            let mode = entry.metadata().expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }
    assert!(replaced > 0, "no writer got as far as replacing the file");
}
