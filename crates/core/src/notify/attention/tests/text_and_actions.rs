//! Tests of what notifications say and offer.

use super::*;

#[test]
fn notify_disabled_shows_nothing() {
    let clock = Clock::noon();
    let s = NotifySettings {
        enabled: false,
        ..settings()
    };
    let mut att = Attention::new(s, true);
    let (now, local) = clock.t(0);
    let v = att.offer(cand("a", "koji", "x"), now, local);
    assert_eq!(
        v,
        Verdict {
            fate: Fate::Disabled,
            show: None
        }
    );
    assert!(att.due(now, local).is_empty());
    assert_eq!(att.next_due(), None);

    // Turning notifications off forgets what was held.
    let mut att = Attention::new(settings(), true);
    let mut screen = Screen::default();
    screen.offer(&mut att, &clock, 0, cand("a", "koji", "x"));
    screen.offer(&mut att, &clock, 1, cand("b", "koji", "x"));
    assert!(att.next_due().is_some());
    att.set_settings(NotifySettings {
        enabled: false,
        ..settings()
    });
    assert!(!att.settings().enabled);
    assert_eq!(att.next_due(), None);
}

#[test]
fn notify_actions_only_when_the_server_has_them() {
    let clock = Clock::noon();
    let c = Candidate {
        url: Some("https://koji.fedoraproject.org/koji/buildinfo?buildID=1".to_owned()),
        packages: vec!["chromium".to_owned(), "chromium-libs".to_owned()],
        rule: Some("my-builds".to_owned()),
        ..cand("a", "koji", "x")
    };
    let (now, local) = clock.t(0);
    let shown = |actions: bool, c: Candidate| {
        let mut att = Attention::new(settings(), actions);
        att.offer(c, now, local)
            .show
            .expect("shown")
            .notification
            .actions
    };
    assert_eq!(
        shown(true, c.clone()),
        [
            NotifyAction::Open {
                url: "https://koji.fedoraproject.org/koji/buildinfo?buildID=1".to_owned()
            },
            NotifyAction::Mute {
                package: "chromium".to_owned()
            },
            NotifyAction::Snooze {
                rule: "my-builds".to_owned()
            },
        ]
    );
    assert!(shown(false, c.clone()).is_empty());
    // Only web links are opened; a server-relative Pulp path is not one.
    let relative = Candidate {
        url: Some("/pulp/api/v2/tasks/1/".to_owned()),
        packages: Vec::new(),
        rule: None,
        ..c.clone()
    };
    assert!(shown(true, relative).is_empty());
    let js = Candidate {
        url: Some("javascript:alert(1)".to_owned()),
        packages: Vec::new(),
        ..c.clone()
    };
    assert_eq!(
        shown(true, js),
        [NotifyAction::Snooze {
            rule: "my-builds".to_owned()
        }]
    );
}

#[test]
fn notify_links_to_unknown_hosts_are_shown_not_offered() {
    let clock = Clock::noon();
    let (now, local) = clock.t(0);
    let spoof = "https://koji.fedoraproject.org.evil.example/koji/buildinfo?buildID=1";
    let c = Candidate {
        summary: "Your build failed".to_owned(),
        details: format!("Comment:\n  see below\n  Open: koji.fedoraproject.org\nLink: {spoof}"),
        url: Some(spoof.to_owned()),
        link_trusted: false,
        packages: vec!["chromium".to_owned()],
        ..cand("a", "koji", "buildsys.build.state.change")
    };
    let mut att = Attention::new(settings(), true);
    let n = att.offer(c, now, local).show.expect("shown").notification;
    assert_eq!(
        n.actions,
        [NotifyAction::Mute {
            package: "chromium".to_owned()
        }]
    );
    assert_eq!(
        n.body,
        "Comment: see below Open: koji.fedoraproject.org\n\
         Not opened: koji.fedoraproject.org.evil.example is not a known Koji host"
    );
    // A digest offers only links each of its messages could offer.
    let mut att = Attention::new(settings(), true);
    let mut screen = Screen::default();
    for i in 0..2 {
        let c = Candidate {
            url: Some(spoof.to_owned()),
            link_trusted: false,
            ..cand(&format!("d{i}"), "bodhi", "bodhi.update.comment")
        };
        screen.offer(&mut att, &clock, i, c);
    }
    screen.drain(&mut att, &clock, 60_000);
    assert!(screen.last().actions.is_empty(), "{:?}", screen.last());
    assert!(
        !screen.last().body.contains("evil"),
        "{}",
        screen.last().body
    );
}

#[test]
fn notify_digest_actions_need_a_shared_value() {
    let clock = Clock::noon();
    let digest_of = |cands: Vec<Candidate>| {
        let mut att = Attention::new(settings(), true);
        let mut screen = Screen::default();
        for (i, c) in cands.into_iter().enumerate() {
            screen.offer(&mut att, &clock, i as u64, c);
        }
        screen.drain(&mut att, &clock, 60_000);
        screen.last().clone()
    };
    let with = |id: &str, url: &str, rule: &str| Candidate {
        url: Some(url.to_owned()),
        rule: Some(rule.to_owned()),
        ..cand(id, "bodhi", "bodhi.update.comment")
    };
    let shared = digest_of(vec![
        with("a", "https://bodhi.fedoraproject.org/updates/X", "r"),
        with("b", "https://bodhi.fedoraproject.org/updates/X", "r"),
    ]);
    assert_eq!(shared.summary, "Bodhi: 2 updates");
    assert_eq!(shared.icon, "bodhi");
    assert_eq!(
        shared.actions,
        [
            NotifyAction::Open {
                url: "https://bodhi.fedoraproject.org/updates/X".to_owned()
            },
            NotifyAction::Snooze {
                rule: "r".to_owned()
            },
        ]
    );
    let mixed = digest_of(vec![
        with("a", "https://bodhi.fedoraproject.org/updates/X", "r"),
        with("b", "https://bodhi.fedoraproject.org/updates/Y", "r"),
        Candidate {
            rule: None,
            ..with("c", "https://bodhi.fedoraproject.org/updates/Y", "r")
        },
    ]);
    assert_eq!(mixed.summary, "Bodhi: 3 updates");
    assert!(mixed.actions.is_empty());
}

#[rstest]
#[case::builds(
    "koji", "buildsys.build.state.change",
    &[("complete", 17), ("failed", 6)],
    "Koji: 23 builds finished", "17 complete, 6 failed"
)]
#[case::still_building(
    "koji-messagebus", "koji.BuildStateChange",
    &[("building", 2), ("complete", 1)],
    "Koji: 3 builds", "2 building, 1 complete"
)]
#[case::copr(
    "copr", "copr.build.end",
    &[("succeeded", 3), ("failed", 3)],
    "Copr: 6 builds finished", "3 failed, 3 succeeded"
)]
#[case::syncs(
    "pulp", "pulp.event.repo.sync.finish",
    &[("success", 4), ("error", 1)],
    "Pulp: 5 repository syncs finished", "4 success, 1 error"
)]
#[case::releases("anitya", "anitya.project.version.update.v2", &[("", 3)], "Anitya: 3 releases", "")]
#[case::unknown("unknown", "some.topic", &[("", 2)], "Other: 2 messages", "")]
#[case::many_outcomes(
    "pulp", "pulp.task",
    &[("a", 5), ("b", 4), ("c", 3), ("d", 2), ("e", 1), ("", 1)],
    "Pulp: 16 tasks", "5 a, 4 b, 3 c, 2 d, 2 other"
)]
fn notify_digest_text(
    #[case] source: &str,
    #[case] kind: &str,
    #[case] outcomes: &[(&str, usize)],
    #[case] title: &str,
    #[case] body: &str,
) {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), false);
    let mut screen = Screen::default();
    let mut i = 0;
    for (outcome, n) in outcomes {
        for _ in 0..*n {
            let c = Candidate {
                outcome: (!outcome.is_empty()).then(|| (*outcome).to_owned()),
                ..cand(&format!("m{i}"), source, kind)
            };
            let fate = screen.offer(&mut att, &clock, i * 100, c);
            assert_eq!(fate, if i == 0 { Fate::Shown } else { Fate::Coalesced });
            i += 1;
        }
    }
    let first = screen.log[0].0;
    // Due when the window of the first closes.
    assert_eq!(att.next_due().map(|d| clock.ms(d)), Some(30_000));
    screen.drain(&mut att, &clock, 60_000);
    assert_eq!(screen.log.len(), 2);
    let d = screen.last();
    assert_eq!((d.summary.as_str(), d.body.as_str()), (title, body));
    assert_eq!(d.replaces, Some(first));
    assert_eq!(d.icon, source);
    assert_eq!(
        screen.log[1].1.covers.len(),
        outcomes.iter().map(|o| o.1).sum::<usize>()
    );
}

#[test]
fn notify_bursts_count_objects_and_reopen_after_the_window() {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), false);
    let mut screen = Screen::default();
    // Build 1 shown; builds 2 and 3 coalesced, 2 twice (building, then complete).
    screen.offer(&mut att, &clock, 0, koji_build(1, "building"));
    screen.offer(&mut att, &clock, 1000, koji_build(2, "building"));
    screen.offer(&mut att, &clock, 2000, koji_build(3, "failed"));
    let again = Candidate {
        id: "b2-again".to_owned(),
        ..koji_build(2, "complete")
    };
    assert_eq!(screen.offer(&mut att, &clock, 3000, again), Fate::Coalesced);
    // Build 1's update replaces its notification and is counted in its latest state.
    let done = Candidate {
        id: "b1-done".to_owned(),
        ..koji_build(1, "complete")
    };
    assert_eq!(screen.offer(&mut att, &clock, 4000, done), Fate::Shown);
    assert_eq!(screen.last().replaces, Some(1));
    screen.drain(&mut att, &clock, 30_000);
    assert_eq!(screen.last().summary, "Koji: 3 builds finished");
    assert_eq!(screen.last().body, "2 complete, 1 failed\npkg1, pkg2, pkg3");
    assert_eq!(screen.log.last().map(|(_, p)| p.covers.len()), Some(5));
    // After the window a new burst opens with a new notification.
    let f = screen.offer(&mut att, &clock, 31_000, koji_build(4, "complete"));
    assert_eq!(f, Fate::Shown);
    assert_eq!(screen.new_ones(), 2);
}

#[test]
fn notify_burst_of_one_object_shows_its_latest_message() {
    let clock = Clock::noon();
    let mut att = Attention::new(settings(), false);
    let mut screen = Screen::default();
    let (now, local) = clock.t(0);
    // The server failed the first: its id never comes back.
    let v = att.offer(koji_build(1, "building"), now, local);
    assert_eq!(v.fate, Fate::Shown);
    let done = Candidate {
        id: "done".to_owned(),
        summary: "Build pkg1 completed".to_owned(),
        ..koji_build(1, "complete")
    };
    assert_eq!(screen.offer(&mut att, &clock, 1000, done), Fate::Coalesced);
    screen.drain(&mut att, &clock, 60_000);
    assert_eq!(screen.log.len(), 1);
    assert_eq!(screen.last().summary, "Build pkg1 completed");
    assert_eq!(screen.last().replaces, None);
    // Now on screen, the build's next update replaces it.
    let again = Candidate {
        id: "again".to_owned(),
        ..koji_build(1, "deleted")
    };
    assert_eq!(screen.offer(&mut att, &clock, 90_000, again), Fate::Shown);
    assert_eq!(screen.last().replaces, Some(1));
}

#[test]
fn notify_single_notification_text() {
    let clock = Clock::noon();
    let (now, local) = clock.t(0);
    let show = |c: Candidate| {
        let mut att = Attention::new(settings(), false);
        att.offer(c, now, local).show.expect("shown").notification
    };
    let link = "https://koji.fedoraproject.org/koji/buildinfo?buildID=1";
    let short = show(Candidate {
        summary: "spot's chromium-80.0-1.fc33 completed".to_owned(),
        details: format!("Owner: spot\nLink: {link}"),
        url: Some(link.to_owned()),
        severity: 30,
        ..koji_build(1, "complete")
    });
    assert_eq!(short.summary, "spot's chromium-80.0-1.fc33 completed");
    // The link itself is never written out: Herald's last line names its host.
    assert_eq!(short.body, "Owner: spot\nOpen: koji.fedoraproject.org");
    assert_eq!(short.icon, "koji");
    assert_eq!(short.urgency, Urgency::Normal);
    let long_summary = "Copr Message in project \"kbaig/test\": build 942697: chroot \"fedora-29-x86_64\" ended as \"failed\".";
    let long = show(Candidate {
        summary: long_summary.to_owned(),
        details: String::new(),
        outcome: Some("failed".to_owned()),
        severity: 40,
        ..cand("c", "copr", "copr.build.end")
    });
    assert_eq!(long.summary, "Copr build failed");
    assert_eq!(long.body, long_summary);
    assert_eq!(long.urgency, Urgency::Critical);
    // Markup stays text: escaping is the notifier's.
    let markup = show(cand("<b>x</b>", "unknown", "x"));
    assert_eq!(markup.summary, "summary of <b>x</b>");
}

#[test]
fn notify_text_is_bounded() {
    let clock = Clock::noon();
    let (now, local) = clock.t(0);
    let mut att = Attention::new(settings(), false);
    let c = Candidate {
        summary: "é".repeat(1000),
        details: "ß\n".repeat(10_000),
        outcome: Some("x".repeat(32)),
        ..cand("a", "koji", &"k".repeat(300))
    };
    let n = att.offer(c, now, local).show.expect("shown").notification;
    assert!(
        n.summary.chars().count() <= SUMMARY_MAX_CHARS,
        "{}",
        n.summary
    );
    assert!(n.body.chars().count() <= BODY_MAX_CHARS);
    assert!(n.body.ends_with('…'));

    assert_eq!(bound("short", 10), "short");
    assert_eq!(bound("exactly10!", 10), "exactly10!");
    assert_eq!(bound("eleven chars", 10), "eleven ch…");
    assert_eq!(bound("ééééééé", 4), "ééé…");
    assert_eq!(bound("ab   cdef", 5), "ab…");
    assert_eq!(bound("", 0), "");
}

#[test]
fn notify_rate_limit_setting_changes_apply() {
    let clock = Clock::noon();
    let s = limited(5);
    let mut att = Attention::new(s.clone(), false);
    let mut screen = Screen::default();
    for i in 0..3 {
        screen.offer(&mut att, &clock, i, cand(&format!("a{i}"), "koji", "x"));
    }
    // Two tokens left; lowering the limit to one leaves one.
    att.set_settings(NotifySettings {
        rate_limit_per_minute: 1,
        ..s
    });
    assert_eq!(
        screen.offer(&mut att, &clock, 10, cand("b", "koji", "x")),
        Fate::Shown
    );
    assert_eq!(
        screen.offer(&mut att, &clock, 11, cand("c", "koji", "x")),
        Fate::RateLimited
    );
}

#[test]
fn notify_candidate_from_stored_reads_the_rendering() {
    let body = serde_json::json!({
        "build_id": 1478312, "name": "chromium", "version": "80.0.3987.132",
        "release": "1.fc33", "owner": "spot", "old": 0, "new": 3, "task_id": 1,
        "instance": "primary", "base_url": "https://koji.fedoraproject.org",
    });
    let env = Envelope {
        exchange: "amq.topic".to_owned(),
        routing_key: "org.fedoraproject.prod.buildsys.build.state.change".to_owned(),
        properties: Properties {
            message_id: Some("m-1".to_owned()),
            ..Properties::default()
        },
        headers: None,
        body: serde_json::to_vec(&body).expect("json"),
        received_at: OffsetDateTime::UNIX_EPOCH,
    };
    let mut stored = Stored::new(Message::decode(env), &RenderContext::default());
    stored.rule = Some("mine".into());
    let c = Candidate::from_stored(&stored);
    assert_eq!(c.id, "m-1");
    assert_eq!((c.source.as_str(), c.icon.as_str()), ("koji", "koji"));
    assert_eq!(c.kind, "buildsys.build.state.change");
    assert_eq!(c.outcome.as_deref(), Some("failed"));
    assert_eq!(c.thread.as_deref(), Some("koji-build:1478312"));
    assert_eq!(c.rule.as_deref(), Some("mine"));
    assert_eq!(c.summary, stored.rendered.summary);
}
