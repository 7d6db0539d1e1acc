use super::*;
use crate::tray::TrayModel;
use herald_core::catchup::Counts;
use std::time::{Duration, Instant};
use time::macros::{datetime, offset};

const DAY: i64 = 86_400;

fn at(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// 02:10 to 06:40 UTC on 6 January 2025.
fn night() -> (i64, i64) {
    (
        at(datetime!(2025-01-06 02:10 UTC)),
        at(datetime!(2025-01-06 06:40 UTC)),
    )
}

fn gap_found(connection: &str, (start, end): (i64, i64), waits: bool) -> PipelineEvent {
    PipelineEvent::GapFound {
        connection: connection.into(),
        start,
        end,
        reason: "the computer was asleep".into(),
        waits,
    }
}

fn catching_up(
    connection: &str,
    (start, end): (i64, i64),
    fetched: u64,
    stored: u64,
    total: Option<u64>,
    done: bool,
) -> PipelineEvent {
    PipelineEvent::CatchingUp {
        connection: connection.into(),
        start,
        end,
        counts: Counts {
            fetched,
            stored,
            ..Counts::default()
        },
        total,
        done,
    }
}

fn stalled(connection: &str, error: &str) -> PipelineEvent {
    PipelineEvent::CatchUpStalled {
        connection: connection.into(),
        error: error.into(),
        retry_in: Duration::from_secs(60),
    }
}

fn queues_checked(connection: &str) -> PipelineEvent {
    PipelineEvent::QueuesChecked {
        connection: connection.into(),
        absence: None,
        kept: false,
        waiting: 0,
    }
}

#[test]
fn counts_get_thousands_separators() {
    for (n, shown) in [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (2300, "2,300"),
        (51_000, "51,000"),
        (1_234_567, "1,234,567"),
        (u64::MAX, "18,446,744,073,709,551,615"),
    ] {
        assert_eq!(thousands(n), shown);
    }
}

#[test]
fn gap_lengths_are_rounded_to_what_people_say() {
    for (seconds, shown) in [
        (-5, "1 minute"),
        (20, "1 minute"),
        (40 * 60, "40 minutes"),
        (90 * 60 + 20, "90 minutes"),
        (9 * 3600 + 240, "9 hours"),
        (36 * 3600, "36 hours"),
        (5 * DAY + 240, "5 days"),
        (2 * DAY, "2 days"),
        (i64::MAX, "106,751,991,167,300 days"),
    ] {
        assert_eq!(length(seconds), shown, "{seconds}");
    }
}

#[test]
fn gaps_show_in_local_time_with_dates_only_across_days() {
    let (start, end) = night();
    assert_eq!(window(start, end, UtcOffset::UTC), "02:10–06:40");
    assert_eq!(window(start, end, offset!(+1)), "03:10–07:40");
    // Two UTC dates, one local date.
    let (s, e) = (
        at(datetime!(2025-01-05 23:30 UTC)),
        at(datetime!(2025-01-06 00:30 UTC)),
    );
    assert_eq!(window(s, e, offset!(+2)), "01:30–02:30");
    assert_eq!(window(s, e, UtcOffset::UTC), "5 Jan 23:30 – 6 Jan 00:30");
    let (s, e) = (
        at(datetime!(2025-12-03 22:10 UTC)),
        at(datetime!(2025-12-05 06:40 UTC)),
    );
    assert_eq!(window(s, e, UtcOffset::UTC), "3 Dec 22:10 – 5 Dec 06:40");
    // Nonsense from a broken clock still gives a line, not a panic.
    assert_eq!(window(i64::MAX, i64::MAX, offset!(+14)), "00:00–00:00");
}

#[test]
fn lines_read_as_the_status_line_shows_them() {
    assert_eq!(
        running(2300, Some(5100), "missed 02:10–06:40"),
        "Catching up 2,300 / 5,100 (missed 02:10–06:40)"
    );
    assert_eq!(
        running(2300, None, "missed 02:10–06:40"),
        "Catching up 2,300 (missed 02:10–06:40)"
    );
    assert_eq!(
        running(0, None, "missed 02:10–06:40"),
        "Catching up (missed 02:10–06:40)"
    );
    assert_eq!(done(5100), "Caught up: 5,100 new from the archive");
    assert_eq!(
        waiting(5 * DAY + 240),
        "Gap of 5 days not filled — run herald backfill"
    );
}

#[test]
fn a_walk_shows_its_progress_then_its_result_until_the_next_session() {
    let mut c = CatchUp::default();
    let gap = night();
    assert_eq!(c.line(false), None);
    assert!(c.apply(&gap_found("default", gap, false)));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Catching up (missed 02:10–06:40)")
    );
    assert!(c.apply(&catching_up("default", gap, 2300, 2000, Some(5100), false)));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Catching up 2,300 / 5,100 (missed 02:10–06:40)")
    );

    assert!(c.apply(&stalled("default", "the archive did\nnot answer in time")));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Catch-up paused (missed 02:10–06:40): the archive did not answer in time")
    );
    assert!(
        !c.apply(&stalled("default", "the archive did\nnot answer in time")),
        "the same stall again is not news"
    );

    assert!(c.apply(&catching_up("default", gap, 5100, 4000, Some(5100), true)));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Caught up: 4,000 new from the archive")
    );

    // The late arrivals of the same gap, fetched a few minutes later, count in quietly.
    let tail = (gap.1 - 600, gap.1);
    assert!(!c.apply(&catching_up("default", tail, 40, 0, Some(43), false)));
    assert!(!c.apply(&stalled("default", "cannot reach the archive")));
    assert!(c.apply(&catching_up("default", tail, 43, 3, Some(43), true)));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Caught up: 4,003 new from the archive")
    );

    assert!(!c.apply(&queues_checked("other")));
    assert!(c.apply(&queues_checked("default")));
    assert_eq!(c.line(false), None);
    assert!(!c.apply(&queues_checked("default")));
}

#[test]
fn a_gap_left_for_the_user_says_how_to_fill_it() {
    let mut c = CatchUp::default();
    let long = (
        at(datetime!(2025-01-01 08:00 UTC)),
        at(datetime!(2025-01-06 08:04 UTC)),
    );
    assert!(c.apply(&gap_found("default", long, true)));
    let advice = "Gap of 5 days not filled — run herald backfill";
    assert_eq!(c.line(false).as_deref(), Some(advice));
    // A walk of another gap goes first; its result gives way to the advice.
    let gap = night();
    c.apply(&catching_up("default", gap, 10, 10, None, false));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Catching up 10 (missed 02:10–06:40)")
    );
    c.apply(&catching_up("default", gap, 10, 10, None, true));
    assert_eq!(c.line(false).as_deref(), Some(advice));
    c.apply(&queues_checked("default"));
    assert_eq!(
        c.line(false).as_deref(),
        Some(advice),
        "a new session keeps it"
    );
    // The user let it be walked after all.
    c.apply(&catching_up("default", long, 1, 1, Some(90_000), false));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Catching up 1 / 90,000 (missed 1 Jan 08:00 – 6 Jan 08:04)")
    );
    c.apply(&catching_up(
        "default",
        long,
        90_000,
        700,
        Some(90_000),
        true,
    ));
    assert_eq!(
        c.line(false).as_deref(),
        Some("Caught up: 700 new from the archive")
    );
}

#[test]
fn with_several_connections_the_line_names_the_busiest_one() {
    let mut c = CatchUp::default();
    let gap = night();
    c.apply(&catching_up("a-done", gap, 5, 5, None, true));
    c.apply(&stalled("b-stalled", "cannot reach the archive"));
    assert_eq!(
        c.line(true).as_deref(),
        Some("b-stalled: Catch-up paused: cannot reach the archive")
    );
    c.apply(&gap_found("c-running", gap, false));
    assert_eq!(
        c.line(true).as_deref(),
        Some("c-running: Catching up (missed 02:10–06:40)")
    );
}

#[test]
fn other_events_leave_catch_up_alone() {
    let mut c = CatchUp::default();
    assert!(!c.apply(&PipelineEvent::Stopped));
    assert!(!c.apply(&PipelineEvent::StoreFailed {
        error: "disk full".into()
    }));
    assert_eq!(c.line(false), None);
}

#[test]
fn the_tray_status_line_carries_the_catch_up() {
    let now = Instant::now();
    let mut m = TrayModel::default();
    m.set_local_offset(offset!(+1));
    m.apply(&PipelineEvent::Connected {
        connection: "default".into(),
        url: "amqp://localhost/%2F".into(),
        queues: vec!["q".into()],
    });
    assert!(m.apply(&catching_up(
        "default",
        night(),
        2300,
        2000,
        Some(5100),
        false
    )));
    let line = "Herald — connected · Catching up 2,300 / 5,100 (missed 03:10–07:40)";
    assert_eq!(m.tooltip(now), line);
    assert_eq!(
        m.menu(now).0.first(),
        Some(&crate::tray::MenuEntry::Item {
            id: crate::tray::MenuId::Status,
            label: line.to_owned(),
            enabled: false,
        })
    );
    // Not running: the catch-up is not going on either.
    m.halt("stopped");
    assert_eq!(m.tooltip(now), "Herald — not running: stopped");
}
