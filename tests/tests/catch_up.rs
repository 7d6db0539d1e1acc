//! Catch-up end to end, against the real broker and a real datagrepper (over PostgreSQL) on
//! loopback: what was published while Herald could not hear it is stored exactly once, from
//! the queue the broker kept when it kept one, else from the archive, marked back-filled.
//! The archive is filled with the very messages published to the broker (the archive's own
//! consumer would do the same), and a fault-injecting proxy stands in front of it where a
//! test needs the archive to fail.

use herald_e2e::archive::{self, Archive};
use herald_e2e::catch_up::{
    assert_clean, batch, config, ids, now, padded, publish, stored, wait_stored, Locked, Running,
};
use herald_e2e::fault_proxy::{Fault, HttpFaults};
use herald_e2e::herald::{output_text, rabbitmqctl, HeraldDir, Vhost};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[test]
fn a_gap_on_a_private_queue_is_filled_once_from_the_archive_across_a_drop_and_a_restart() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let faults = HttpFaults::start(&archive.url());
    let vhost = Vhost::new();
    let dir = HeraldDir::new(&config(&vhost, true, &faults.url(), ""));

    let running = Running::start(&dir, &[]);
    running.wait_for("connected to", Duration::from_secs(30));
    let before = batch("before", 3, now());
    archive.load(&before);
    publish(&rt, &vhost, &before);
    wait_stored(&dir, &ids(&before), Duration::from_secs(20), Some(&running));

    // The connection drops and cannot come back while 150 messages (more than a page, all
    // within one second) are published: the private queue is gone, so the broker drops them.
    let gap = {
        let _locked = Locked::out(&vhost);
        assert!(vhost.close_connections_marked("herald-e2e-catchup") > 0);
        std::thread::sleep(Duration::from_millis(500));
        let gap = batch("gap", 150, now());
        publish(&rt, &vhost, &gap);
        archive.load(&gap);
        gap
    };
    running.wait_for("messages missed", Duration::from_secs(60));
    let after = batch("after", 2, now());
    archive.load(&after);
    publish(&rt, &vhost, &after);
    let mut all = ids(&before);
    all.extend(ids(&gap));
    all.extend(ids(&after));
    wait_stored(&dir, &all, Duration::from_secs(60), Some(&running));
    running.wait_for("caught up", Duration::from_secs(30));
    let said = running.stop();

    // Closed, then started again: what was published meanwhile comes from the archive too.
    let closed = batch("closed", 40, now());
    publish(&rt, &vhost, &closed);
    archive.load(&closed);
    let out = dir.run(&["-v", "run", "--no-notify", "--until-idle", "3"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(text.contains("Herald was closed"), "{text}");
    all.extend(ids(&closed));

    let s = stored(&dir);
    for id in &all {
        assert!(s.contains_key(id), "{id} missing; {said}\n{text}");
    }
    assert_eq!(s.len(), all.len(), "nothing else stored");
    assert_clean(&said);
    assert_clean(&text);
    for id in ids(&gap).iter().chain(ids(&closed).iter()) {
        assert!(s[id], "{id} is marked back-filled");
    }
    for id in ids(&before) {
        assert!(!s[&id], "{id} arrived live");
    }
    assert_eq!(
        faults.max_in_flight(),
        1,
        "one archive request at a time: {:#?}",
        faults.targets()
    );
    for head in faults.heads() {
        assert!(head.contains("\r\nuser-agent: herald/"), "{head}");
        assert!(head.contains("\r\naccept: application/json"), "{head}");
    }
    for t in faults.targets() {
        // A page of 100, or the window's count (a page of one row); never unlimited.
        let one_page = t.contains("rows_per_page=100&") || t.contains("rows_per_page=1&");
        assert!(one_page, "{t}");
    }
    // The detail and the JSON say where a back-filled message came from.
    let shown = dir.run_ok(&["show", "gap-7"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("back-filled from the bus archive"),
        "{}",
        output_text(&shown)
    );
}

/// Lists the vhost's queues with their flags and arguments.
fn queue_list(vhost: &Vhost) -> String {
    rabbitmqctl(&[
        "list_queues",
        "-p",
        &vhost.name,
        "name",
        "durable",
        "auto_delete",
        "exclusive",
        "arguments",
        "messages",
    ])
}

#[test]
fn the_kept_queue_covers_a_drop_and_a_restart_and_an_expired_one_is_filled() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let faults = HttpFaults::start(&archive.url());
    let vhost = Vhost::new();
    let dir = HeraldDir::new(&config(&vhost, false, &faults.url(), ""));

    let running = Running::start(&dir, &[]);
    running.wait_for("connected to", Duration::from_secs(30));
    let list = queue_list(&vhost);
    assert!(
        list.contains("true\tfalse\tfalse"),
        "durable, not auto-deleted, not exclusive:\n{list}"
    );
    assert!(
        list.contains("x-expires") && list.contains("x-max-length-bytes"),
        "{list}"
    );
    let first = batch("first", 3, now());
    publish(&rt, &vhost, &first);
    wait_stored(&dir, &ids(&first), Duration::from_secs(20), Some(&running));

    let during = {
        let _locked = Locked::out(&vhost);
        assert!(vhost.close_connections_marked("herald-e2e-catchup") > 0);
        let during = batch("during", 20, now());
        publish(&rt, &vhost, &during);
        archive.load(&during);
        during
    };
    wait_stored(&dir, &ids(&during), Duration::from_secs(60), Some(&running));
    running.wait_for(
        "the queue kept what arrived meanwhile",
        Duration::from_secs(10),
    );
    let said = running.stop();

    let closed = batch("closed", 10, now());
    publish(&rt, &vhost, &closed);
    archive.load(&closed);
    let out = dir.run(&["-v", "run", "--no-notify", "--until-idle", "2"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Herald was closed: the queue kept what arrived meanwhile (10 waiting)"),
        "{text}"
    );
    assert!(
        !said.contains("messages missed") && !text.contains("messages missed"),
        "{said}\n{text}"
    );
    assert_eq!(
        faults.requests(),
        0,
        "nothing fetched from the archive:\n{said}\n{text}"
    );

    // The broker expired the queue (its sweeper, or x-expires) while Herald was closed.
    let queue = queue_list(&vhost)
        .lines()
        .find_map(|l| {
            l.split('\t')
                .next()
                .filter(|q| uuid::Uuid::parse_str(q).is_ok())
                .map(str::to_owned)
        })
        .expect("the generated queue");
    rabbitmqctl(&["delete_queue", "-p", &vhost.name, &queue]);
    let expired = batch("expired", 15, now());
    publish(&rt, &vhost, &expired);
    archive.load(&expired);
    let out = dir.run(&["-v", "run", "--no-notify", "--until-idle", "2"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the queue did not survive"), "{text}");
    assert!(text.contains("caught up"), "{text}");
    let s = stored(&dir);
    for id in ids(&expired) {
        assert_eq!(s.get(&id), Some(&true), "{id}: {text}");
    }
    for id in ids(&first).iter().chain(&ids(&during)).chain(&ids(&closed)) {
        assert_eq!(s.get(id), Some(&false), "{id} came from the queue");
    }
    assert!(
        queue_list(&vhost).contains(&queue),
        "the same name, declared again"
    );
}

#[test]
fn an_overflowed_kept_queue_is_detected_and_its_lost_head_filled() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let vhost = Vhost::new();
    let dir = HeraldDir::new(&config(
        &vhost,
        false,
        &archive.url(),
        "queue_max_bytes = 4000\n",
    ));
    let out = dir.run(&["run", "--no-notify", "--until-idle", "1"]);
    assert!(out.status.success(), "{}", output_text(&out));
    let first = batch("first", 1, now());
    publish(&rt, &vhost, &first);
    archive.load(&first);
    dir.run_ok(&["run", "--no-notify", "--until-idle", "1"]);

    // ~290 bytes each: 60 of them overflow a 4,000-byte queue, which drops the oldest.
    let flood = padded("flood", 60, now(), 200);
    publish(&rt, &vhost, &flood);
    archive.load(&flood);
    let out = dir.run(&["-v", "run", "--no-notify", "--until-idle", "2"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("oldest messages were dropped"), "{text}");
    let s = stored(&dir);
    for id in ids(&flood) {
        assert!(s.contains_key(&id), "{id}: {text}");
    }
    assert!(
        ids(&flood).iter().any(|id| s[id]),
        "the dropped head came from the archive"
    );
}

#[test]
fn a_failing_archive_is_retried_and_a_restart_mid_walk_resumes_without_duplicates() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let faults = HttpFaults::start(&archive.url());
    let vhost = Vhost::new();
    // Requests a second apart, so a walk of 8 pages can be interrupted halfway.
    // A request that hangs is given up after 3 s.
    let dir = HeraldDir::new(
        &config(&vhost, true, &faults.url(), "")
            .replace("spacing_ms = 0", "spacing_ms = 700")
            .replace("request_timeout_ms = 20000", "request_timeout_ms = 3000"),
    );
    let first = batch("first", 1, now() - time::Duration::seconds(30));
    archive.load(&first);
    let running = Running::start(&dir, &[]);
    running.wait_for("connected to", Duration::from_secs(30));
    publish(&rt, &vhost, &first);
    wait_stored(&dir, &ids(&first), Duration::from_secs(20), Some(&running));
    let _ = running.stop();

    // 750 messages over three seconds while Herald is closed; the archive fails in every way
    // on the way: a 500, a 502, an HTML 400 page, and a request that never ends.
    let t = now();
    let mut missed = Vec::new();
    for (k, s) in [(0, 0), (1, 1), (2, 2)] {
        missed.extend(batch(
            &format!("missed{k}"),
            250,
            t + time::Duration::seconds(s),
        ));
    }
    archive.load(&missed);
    faults.fail_at(2, Fault::Status(500));
    faults.fail_at(4, Fault::Status(502));
    faults.fail_at(5, Fault::Html400);
    faults.fail_at(7, Fault::Hang);

    let running = Running::start(&dir, &[]);
    running.wait_for("catching up", Duration::from_secs(60));
    // Interrupted mid-walk (a kill, no chance to save anything more), then started again.
    let start = Instant::now();
    while faults.requests() < 9 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{}",
            running.said()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(running);
    let requests_before = faults.requests();
    let out = dir.run(&["-v", "run", "--no-notify", "--until-idle", "2"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("caught up"), "{text}");
    assert!(
        text.contains("Herald stopped unexpectedly"),
        "a kill is told from a stop: {text}"
    );

    let s = stored(&dir);
    for id in ids(&missed) {
        assert_eq!(s.get(&id), Some(&true), "{id}: {text}");
    }
    assert_eq!(faults.max_in_flight(), 1);
    assert_clean(&text);
    // The restarted run went on from its saved cursor: its first page starts past the
    // window's start, where the walk had got to.
    let start_of = |t: &str| -> i64 {
        t.split(['?', '&'])
            .find_map(|p| p.strip_prefix("start="))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no start in {t}"))
    };
    let targets = faults.targets();
    let window_start = targets.iter().map(|t| start_of(t)).min().expect("requests");
    let resumed_at = targets[requests_before..]
        .iter()
        .find(|t| t.contains("rows_per_page=100"))
        .map(|t| start_of(t))
        .expect("a page after the restart");
    assert!(
        resumed_at > window_start,
        "resumed at {resumed_at}, the window starts at {window_start}:\n{targets:#?}"
    );
    for t in &targets {
        let one_page = t.contains("rows_per_page=100&") || t.contains("rows_per_page=1&");
        assert!(one_page && t.contains("order=asc"), "{t}");
    }
}

#[test]
fn backfill_by_hand_counts_narrows_by_category_and_dry_runs() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let faults = HttpFaults::start(&archive.url());
    let vhost = Vhost::new();
    let rules = "[[herald.rules]]\nid = \"builds\"\naction = \"history\"\n\
                 topics = [\"org.fedoraproject.prod.buildsys.#\"]\n\n\
                 [[herald.rules]]\nid = \"no-pkg7\"\naction = \"drop\"\npriority = 1\n\
                 body = [{ pointer = \"/release\", one_of = [\"7\"] }]\n";
    let cfg = config(&vhost, false, &faults.url(), "")
        .replace("unmatched = \"history\"", "unmatched = \"drop\"")
        .replace(
            "[herald.catch_up_tuning]",
            &format!("{rules}\n[herald.catch_up_tuning]"),
        );
    let dir = HeraldDir::new(&cfg);
    let t = now() - time::Duration::hours(2);
    let builds = batch("build", 120, t);
    let other: Vec<Value> = (0..30)
        .map(|i| {
            archive::message(
                &format!("bodhi-{i}"),
                "org.fedoraproject.prod.bodhi.update.comment",
                t,
                json!({"comment": {"text": "hi"}}),
                &[],
            )
        })
        .collect();
    archive.load(&builds);
    archive.load(&other);
    let since = "3h";

    let dry = dir.run_ok(&["backfill", "--since", since, "--dry-run"]);
    let dry = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(
        dry.contains("dry run: fetched 120, would store 119, already known 0, dropped by rules 1"),
        "{dry}"
    );
    assert!(dir.search(&[]).is_empty(), "a dry run writes nothing");
    for target in faults.targets() {
        assert!(target.contains("category=buildsys"), "narrowed: {target}");
    }

    let out = dir.run_ok(&["backfill", "--since", since]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("fetched 120, stored 119, already known 0, dropped by rules 1"),
        "{text}"
    );
    let again = dir.run_ok(&["backfill", "--since", since]);
    let again = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(again.contains("stored 0, already known 119"), "{again}");
    let s = stored(&dir);
    assert_eq!(s.len(), 119);
    assert!(s.values().all(|back| *back));
    assert!(!s.contains_key("build-7"), "dropped by its rule");

    let bad = dir.run(&["backfill", "--since", since, "--datagrepper", "file:///etc"]);
    assert_eq!(bad.status.code(), Some(2), "{}", output_text(&bad));
}

#[test]
fn a_gap_longer_than_the_limit_waits_for_herald_backfill() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(herald_e2e::broker::wait_for_system_broker());
    let archive = Archive::start();
    let vhost = Vhost::new();
    let cfg = config(&vhost, true, &archive.url(), "")
        .replace("datagrepper_url", "catch_up_max = \"1m\"\ndatagrepper_url");
    let dir = HeraldDir::new(&cfg);
    let running = Running::start(&dir, &[]);
    running.wait_for("connected to", Duration::from_secs(30));
    let old = batch("old", 1, now());
    publish(&rt, &vhost, &old);
    wait_stored(&dir, &ids(&old), Duration::from_secs(20), Some(&running));
    let _ = running.stop();
    // The gap runs from 2 minutes before the stop to 2 minutes after the restart: over 1m.
    let missed = batch("missed", 12, now());
    archive.load(&missed);

    let out = dir.run(&["-v", "run", "--no-notify", "--until-idle", "2"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("not filled by itself: run `herald backfill"),
        "{text}"
    );
    assert!(!text.contains("caught up"), "{text}");
    assert_eq!(stored(&dir).len(), 1);

    let out = dir.run_ok(&["backfill"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("stored 12"), "{said}");
    let again = dir.run_ok(&["backfill"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no saved gap"),
        "the saved gap is done: {}",
        output_text(&again)
    );
    assert_eq!(stored(&dir).len(), 13);
}
