//! Store faults on a real history while real messages flow: the database locked past the busy
//! timeout by another connection, the disk full, a damaged file, and a history written by a
//! newer Herald. Nothing is acknowledged that is not committed, no good message is
//! quarantined, Herald says why and carries on by itself once the fault clears; files it
//! cannot use are refused at open and left as they were.

use herald_core::history::HistoryStore;
use herald_core::sources::RenderContext;
use herald_e2e::herald::{
    confirm_channel, herald_bin, output_text, publish_raw, rabbitmqctl, wait_for_messages,
    TopicWorld,
};
use sqlx::Connection as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn herald(world: &TopicWorld, db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(herald_bin());
    c.arg("--config")
        .arg(world.dir.config())
        .arg("--db")
        .arg(db)
        .args(args)
        .env("HOME", world.dir.dir.path())
        .env("XDG_CONFIG_HOME", world.dir.dir.path().join("xdg-config"))
        .env("XDG_DATA_HOME", world.dir.dir.path().join("xdg-data"));
    c
}

async fn publish(world: &TopicWorld, from: usize, count: usize, body_bytes: usize) {
    let conn = world.vhost.connect().await;
    let ch = confirm_channel(&conn).await;
    let pad = "x".repeat(body_bytes);
    for i in from..from + count {
        let props = lapin::BasicProperties::default()
            .with_message_id(format!("f-{i}").into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2);
        let body = format!("{{\"n\": {i}, \"pad\": \"{pad}\"}}");
        publish_raw(&ch, "amq.topic", "org.test.fault", body.as_bytes(), props).await;
    }
    let _ = conn.close(200, "done".into()).await;
}

async fn counts(db: &Path) -> (i64, i64) {
    let store = HistoryStore::open(db, &RenderContext::default())
        .await
        .expect("open history");
    let s = store.stats(1).await.expect("stats");
    (s.messages, s.quarantined)
}

async fn wait_for(db: &Path, messages: i64, within: Duration) -> (i64, i64) {
    let s = wait_for_messages(db, messages as usize, within).await;
    (s.messages, s.quarantined)
}

/// Deliveries the broker has handed out and not had acknowledged, and those still ready.
fn unacked_and_ready(world: &TopicWorld) -> (u64, u64) {
    let out = rabbitmqctl(&[
        "list_queues",
        "-p",
        &world.vhost.name,
        "messages_unacknowledged",
        "messages_ready",
    ]);
    let nums: Vec<u64> = out
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (
        nums.iter().step_by(2).sum(),
        nums.iter().skip(1).step_by(2).sum(),
    )
}

fn stop(child: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("herald exits");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "clean exit: {stderr}");
    stderr
}

fn spawn_run(world: &TopicWorld, db: &Path) -> Child {
    herald(world, db, &["run", "--no-notify"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start herald")
}

#[test]
fn a_history_locked_past_the_busy_timeout_pauses_then_resumes() {
    let world = TopicWorld::new("herald-locked", "");
    world.dir.declare();
    let db = world.dir.db();
    let child = spawn_run(&world, &db);
    world.rt.block_on(async {
        publish(&world, 0, 5, 10).await;
        assert_eq!(wait_for(&db, 5, Duration::from_secs(30)).await, (5, 0));

        // Another process holds the write lock for longer than Herald's 10 s busy timeout.
        let url = format!("sqlite://{}", db.display());
        let mut other = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut other)
            .await
            .expect("lock");
        publish(&world, 5, 20, 10).await;
        tokio::time::sleep(Duration::from_secs(13)).await;
        let (unacked, _) = unacked_and_ready(&world);
        assert!(unacked > 0, "the blocked batch is not acknowledged");
        let stats = output_text(&herald(&world, &db, &["stats"]).output().expect("stats"));
        assert!(
            stats.contains("writable:    NO, another process holds its write lock"),
            "{stats}"
        );
        sqlx::query("ROLLBACK")
            .execute(&mut other)
            .await
            .expect("unlock");
        drop(other);
        assert_eq!(wait_for(&db, 25, Duration::from_secs(60)).await, (25, 0));
    });
    let stderr = stop(child);
    assert!(
        stderr.contains("cannot write to the history") && stderr.contains("consuming paused"),
        "the user is told: {stderr}"
    );
    assert_eq!(unacked_and_ready(&world), (0, 0));
    let stats = output_text(&herald(&world, &db, &["stats"]).output().expect("stats"));
    assert!(stats.contains("writable:    yes"), "{stats}");
}

/// A small tmpfs of the test's own, unmounted on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(at: PathBuf, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(&at).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir: at })
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) {
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=64k"])
            .arg(format!("of={}", self.dir.join("filler").display()))
            .stderr(Stdio::null())
            .status();
    }

    fn unfill(&self) {
        std::fs::remove_file(self.dir.join("filler")).expect("remove filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_pauses_consuming_then_resumes_once_there_is_room() {
    let world = TopicWorld::new("herald-full", "");
    world.dir.declare();
    let Some(disk) = SmallDisk::mount(world.dir.dir.path().join("small"), "8m") else {
        assert!(
            std::env::var("CI").is_err(),
            "a tmpfs mount is needed for the full-disk test"
        );
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let db = disk.dir.join("history.db");
    let child = spawn_run(&world, &db);
    let after = world.rt.block_on(async {
        publish(&world, 0, 5, 10).await;
        assert_eq!(wait_for(&db, 5, Duration::from_secs(30)).await, (5, 0));
        disk.fill();
        publish(&world, 5, 200, 4_000).await;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let (unacked, ready) = unacked_and_ready(&world);
        let (stored, quarantined) = counts(&db).await;
        assert_eq!(quarantined, 0, "nothing good is quarantined");
        assert_eq!(
            stored as u64 + unacked + ready,
            205,
            "every message is either stored or still held by the broker"
        );
        assert!(stored < 205, "the disk really was full");
        let stats = output_text(&herald(&world, &db, &["stats"]).output().expect("stats"));
        assert!(
            stats.contains("writable:    NO, the disk is full"),
            "{stats}"
        );
        disk.unfill();
        wait_for(&db, 205, Duration::from_secs(90)).await
    });
    let stderr = stop(child);
    assert_eq!(after, (205, 0), "all stored once there was room: {stderr}");
    assert!(stderr.contains("consuming paused"), "{stderr}");
    assert_eq!(unacked_and_ready(&world), (0, 0));
}

fn file_bytes(p: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    std::fs::File::open(p)
        .expect("open")
        .read_to_end(&mut v)
        .expect("read");
    v
}

#[test]
fn a_damaged_history_is_refused_with_what_to_do_and_left_alone() {
    let world = TopicWorld::new("herald-damaged", "");
    let db = world.dir.db();
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &garbage).expect("write garbage");
    for args in [&["run", "--until-idle", "1"][..], &["stats"][..]] {
        let out = herald(&world, &db, args).output().expect("run herald");
        let text = output_text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(
            text.contains("is not a Herald history or is damaged")
                && text.contains("move it aside"),
            "{args:?}: {text}"
        );
    }
    assert_eq!(file_bytes(&db), garbage, "nothing was overwritten");
}

#[test]
fn a_history_from_a_newer_herald_is_refused_and_left_alone() {
    let world = TopicWorld::new("herald-newer", "");
    let db = world.dir.db();
    world.rt.block_on(async {
        let store = HistoryStore::open(&db, &RenderContext::default())
            .await
            .expect("create");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (99991231000001, 'from the future', 1, x'00', 0)",
        )
        .execute(store.pool())
        .await
        .expect("add a future upgrade");
        store.pool().close().await;
    });
    let before = file_bytes(&db);
    let out = herald(&world, &db, &["run", "--until-idle", "1"])
        .output()
        .expect("run herald");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("written by a newer Herald") && text.contains("99991231000001"),
        "{text}"
    );
    assert_eq!(file_bytes(&db), before, "nothing was changed");
}
