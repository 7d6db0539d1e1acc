//! Every fixture — the shared corpus with its hostile `bad/` messages, and the project's own —
//! made into a notification as it is and again with hostile text planted in every string of
//! its body and in a header name: what goes to the notification server never holds a link
//! the desktop would make clickable, a line that looks like one of Herald's but is not its
//! last, or a character Herald neutralises.

use super::*;
use crate::notify::attention::body::looks_own;
use crate::notify::text::{escape_markup, plain_text};
use crate::record::Entry;
use crate::recorded::{corpus_dirs, fixture_paths, Fixture};
use serde_json::Value;

/// Text planted into a fixture: foreign schemes, schemeless links, a fake line of Herald's
/// after every kind of line break, and each neutralised character.
const HOSTILE: &str = " smb://evil.com/share file:///etc/passwd www.evil.example evil.com/login \
     HTTPS://koji.fedoraproject.org.evil.example/x\nLink: https://evil.com/a\r\nOpen: evil.com\
     \u{2028}Not opened: x\u{2029}open: y\u{85}link: z \u{202E}\u{2066}\u{200E}\u{200F}\
     \u{061C}\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}\u{AD}\u{1B}[2J\u{7}\u{0}";

fn plant(v: &mut Value) {
    match v {
        Value::String(s) => s.push_str(HOSTILE),
        Value::Array(a) => a.iter_mut().for_each(plant),
        Value::Object(o) => o.values_mut().for_each(plant),
        _ => {}
    }
}

/// The candidate a fixture makes, if it is stored at all.
fn candidate(fx: &Fixture) -> Option<Candidate> {
    let env = fx.envelope(time::OffsetDateTime::UNIX_EPOCH).ok()?;
    let ctx = RenderContext {
        koji_web_base: fx.expect["koji_web_base"].as_str().map(str::to_owned),
        pulp_base: fx.expect["pulp_base"].as_str().map(str::to_owned),
        ..Default::default()
    };
    match Entry::new(Message::decode(env), &ctx) {
        Entry::Stored(s) => Some(Candidate::from_stored(&s)),
        Entry::Quarantined(_) => None,
    }
}

/// What the server is sent for `text`, either way the notifier may send it.
fn check_text(what: &str, text: &str, last_is_own: bool) {
    for sent in [text.to_owned(), plain_text(text), escape_markup(text)] {
        let links = crate::clean::gnome_links(&sent);
        assert!(links.is_empty(), "{what}: {links:?} clickable in {sent:?}");
        assert!(
            !sent
                .chars()
                .any(|c| c != '\n' && crate::clean::is_neutralised(c)),
            "{what}: a neutralised character in {sent:?}"
        );
        let lines: Vec<&str> = sent.lines().collect();
        let ours = usize::from(last_is_own && lines.last().is_some_and(|l| looks_own(l)));
        for l in &lines[..lines.len() - ours] {
            assert!(
                !looks_own(l),
                "{what}: {l:?} looks like Herald's own in {sent:?}"
            );
        }
    }
}

fn check(what: &str, c: Candidate) {
    let trusted = c.link_trusted;
    let url = c.url.clone();
    let clock = Clock::noon();
    let (now, local) = clock.t(0);
    let mut att = Attention::new(settings(), true);
    let n = att.offer(c, now, local).show.expect("shown").notification;
    check_text(what, &n.summary, false);
    check_text(what, &n.body, true);
    for a in &n.actions {
        match a {
            NotifyAction::Open { url: u } => {
                assert!(trusted, "{what}: offers {u} from an unknown host");
                assert_eq!(Some(u), url.as_ref());
            }
            NotifyAction::Mute { package } => check_text(
                what,
                &crate::notify::text::label(&format!("Mute {package}"), 48),
                false,
            ),
            NotifyAction::Snooze { .. } => {}
        }
    }
    // The link is never written out, only its host.
    if let Some(u) = url.filter(|u| u.contains("://")) {
        assert!(!n.body.contains(u.as_str()), "{what}: {u} in {:?}", n.body);
        let host = crate::clean::host_of(&u).expect("host");
        let last = n.body.lines().last().unwrap_or_default();
        assert!(
            last.contains(&*crate::clean::defang(&host)),
            "{what}: {last:?} lacks {host}"
        );
        assert_eq!(last.starts_with("Open: "), trusted, "{what}: {last:?}");
    }
}

#[test]
fn notifications_of_every_fixture_and_its_hostile_twin_are_clean() {
    let (mut plain, mut hostile, mut bad) = (0, 0, 0);
    for dir in corpus_dirs() {
        for path in fixture_paths(&dir).expect("list fixtures") {
            let name = path.display().to_string();
            let fx = Fixture::load(&path).expect("load fixture");
            if let Some(c) = candidate(&fx) {
                check(&name, c);
                plain += 1;
                bad += usize::from(name.contains("/bad/"));
            }
            let mut twin = fx.clone();
            if let Some(body) = twin.body.as_mut() {
                plant(body);
            }
            if let Some(h) = twin.headers.as_mut() {
                h.insert(
                    format!("fedora_messaging_rpm_pkg{HOSTILE}"),
                    Value::Bool(true),
                );
            }
            if let Some(c) = candidate(&twin) {
                check(&format!("{name} (hostile)"), c);
                hostile += 1;
            }
        }
    }
    assert!(
        plain > 70 && hostile > 60 && bad >= 10,
        "{plain} {hostile} {bad}"
    );
}
