use super::*;
use proptest::prelude::*;
use rstest::rstest;

/// Every code point the cleaner must never let through, by name.
const LISTED: &[char] = &[
    '\u{061C}',
    '\u{200E}',
    '\u{200F}',
    '\u{202A}',
    '\u{202B}',
    '\u{202C}',
    '\u{202D}',
    '\u{202E}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{00AD}',
    '\u{2028}',
    '\u{2029}',
    '\u{0}',
    '\u{7}',
    '\u{1B}',
    '\u{7F}',
    '\u{85}',
    '\u{9B}',
    '\n',
    '\r',
    '\t',
    '\u{B}',
    '\u{C}',
    '\u{E0041}',
];

#[test]
fn every_listed_code_point_is_neutralised() {
    for &c in LISTED {
        assert!(is_neutralised(c), "{c:?}");
        let s = format!("a{c}b");
        let out = line(&s);
        assert!(!out.contains(c), "{c:?} → {out:?}");
        assert_eq!(out.chars().count(), 3, "{c:?} → {out:?}");
    }
}

#[rstest]
#[case("plain text ✓ 日本", "plain text ✓ 日本")]
#[case("\u{202E}resu-live", "\u{FFFD}resu-live")]
#[case("p\u{200B}k\u{200D}g\u{FEFF}", "p\u{FFFD}k\u{FFFD}g\u{FFFD}")]
#[case("\u{200E}\u{200F}\u{061C}", "\u{FFFD}\u{FFFD}\u{FFFD}")]
#[case("a\u{2028}b\u{2029}c", "a b c")]
#[case("one\nLink: x\r\tend", "one Link: x  end")]
#[case("bell\u{7}esc\u{1B}[31m\u{9B}", "bell esc [31m ")]
#[case("<b>x</b> & y", "<b>x</b> & y")]
fn lines_become_one(#[case] input: &str, #[case] want: &str) {
    assert_eq!(line(input), want);
}

#[test]
fn clean_text_is_borrowed() {
    assert!(matches!(line("koji build"), Cow::Borrowed(_)));
    assert!(matches!(defang("no links here"), Cow::Borrowed(_)));
}

#[test]
fn herald_s_own_lines_survive_in_lines() {
    assert_eq!(lines("a\r\nb\tc\u{2028}d\u{200B}"), "a\nb\tc d\u{FFFD}");
}

#[rstest]
#[case("see smb://host/share now", "see smb[:]//host/share now")]
#[case("file:///etc/passwd", "file[:]///etc/passwd")]
#[case("HTTPS://evil.example/x", "HTTPS[:]//evil.example/x")]
#[case("go to https://evil.com/x", "go to https[:]//evil[.]com/x")]
#[case("www.example.org", "www[.]example.org")]
#[case("WWW2.example.org/a", "WWW2[.]example[.]org/a")]
#[case("evil.com/login", "evil[.]com/login")]
#[case("a.b.c.net/x", "a[.]b[.]c[.]net/x")]
#[case("chromium-80.0.3987.132-1.fc33", "chromium-80.0.3987.132-1.fc33")]
#[case("f31-updates-pending", "f31-updates-pending")]
#[case("Open: koji.fedoraproject.org", "Open: koji.fedoraproject.org")]
fn defangs_what_gnome_links(#[case] input: &str, #[case] want: &str) {
    assert_eq!(defang(input), want);
    assert!(gnome_links(&defang(input)).is_empty(), "{want}");
}

#[rstest]
#[case("This is http://www.gnome.org a test", &["http://www.gnome.org"])]
#[case("smb://host/share", &["smb://host/share"])]
#[case("(www.gnome.org)", &["www.gnome.org"])]
#[case("evil.com/xy.", &["evil.com/xy"])]
#[case("evil.com/x", &[])]
#[case("This is a test", &[])]
#[case("koji.fedoraproject.org", &[])]
fn the_gnome_expression_is_gnome_s(#[case] input: &str, #[case] want: &[&str]) {
    assert_eq!(gnome_links(input), want);
}

#[rstest]
#[case(
    "https://Koji.FedoraProject.org/koji/x",
    Some("koji.fedoraproject.org")
)]
#[case("https://evil.example:8443/", Some("evil.example:8443"))]
#[case("https://bücher.example/", Some("xn--bcher-kva.example"))]
#[case("/pulp/api/v2/tasks/1/", None)]
#[case("not a url", None)]
fn hosts_as_people_read_them(#[case] url: &str, #[case] want: Option<&str>) {
    assert_eq!(host_of(url).as_deref(), want);
}

proptest! {
    #[test]
    fn one_line_never_holds_a_neutralised_character(s in "\\PC*|.*|[\\u{0}-\\u{3000}]*") {
        let out = line(&s);
        prop_assert!(!out.chars().any(is_neutralised), "{out:?}");
        prop_assert!(!out.contains('\n') && !out.contains('\r'));
    }

    #[test]
    fn listed_characters_never_get_through(
        parts in proptest::collection::vec((".{0,8}", proptest::sample::select(LISTED)), 0..8)
    ) {
        let s: String = parts.iter().map(|(t, c)| format!("{t}{c}")).collect();
        let out = one_line(&s);
        for c in LISTED {
            prop_assert!(!out.contains(*c), "{c:?} in {out:?}");
        }
    }

    #[test]
    fn defanged_text_has_no_link(s in "([a-zA-Z0-9./:()\\[\\] -]|www\\.|://|\\.com/){0,40}") {
        let out = defang(&s);
        prop_assert!(gnome_links(&out).is_empty(), "{s:?} → {out:?}");
        prop_assert!(!LINK_START.is_match(&out), "{s:?} → {out:?}");
    }
}
