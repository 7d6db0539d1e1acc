//! Text for the notification server. The freedesktop spec lets a server read the body as a
//! small XML-like markup (`<b>`, `<i>`, `<a href>`, entities), so untrusted text must be
//! escaped before it goes there, or a package named `<b>x</b>` would show in bold — or an
//! `<a href="javascript:…">` would become a link. Everything sent is cleaned the one way
//! Herald cleans what leaves it ([`crate::clean`]): control characters, separators, bidi
//! controls and invisible characters are neutralised (a body keeps the newlines and tabs of
//! its own layout), and whatever the server would make a link of is defanged — the links
//! Herald offers go through its own checked "Open" action instead.

use crate::clean;

/// Escapes `s` for the freedesktop markup subset: `&`, `<`, `>`, `"` and `'` become entities
/// (the named ones every server knows: GNOME Shell re-escapes any other `&`), after the text
/// was cleaned as [`plain_text`] cleans it.
pub fn escape_markup(s: &str) -> String {
    let plain = plain_text(s);
    let mut out = String::with_capacity(plain.len() + plain.len() / 8);
    for c in plain.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as plain text for a field the server never reads as markup (the summary, a body when
/// the server has no `body-markup`): newlines and tabs kept, every other control character
/// and separator a space, bidi controls and invisible characters U+FFFD, links defanged;
/// nothing is escaped.
pub(crate) fn plain_text(s: &str) -> String {
    clean::defang(&clean::lines(s)).into_owned()
}

/// A single line of at most `max_chars` characters (an action label): cleaned to one line
/// and defanged, with an ellipsis where it was cut.
pub(crate) fn label(s: &str, max_chars: usize) -> String {
    let line = clean::one_line(s);
    match line.char_indices().nth(max_chars) {
        None => line,
        Some((cut, _)) => format!("{}…", &line[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("plain text", "plain text")]
    #[case("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;")]
    #[case("a & b", "a &amp; b")]
    #[case("&amp;", "&amp;amp;")]
    #[case(
        r#"<a href="javascript:alert(1)">x</a>"#,
        "&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;"
    )]
    #[case("it's", "it&apos;s")]
    #[case("line 1\nline 2\tend", "line 1\nline 2\tend")]
    #[case(
        "bell\u{7}nul\u{0}esc\u{1b}[31mcr\r\u{7f}del\u{9b}",
        "bell nul esc [31mcr del "
    )]
    #[case("p\u{200b}k\u{200e}g\u{2028}x", "p\u{FFFD}k\u{FFFD}g x")]
    #[case("see smb://host/share", "see smb[:]//host/share")]
    #[case("\u{202e}resu-live", "\u{FFFD}resu-live")]
    #[case("ünïcødé ✓ 日本", "ünïcødé ✓ 日本")]
    #[case("", "")]
    fn escapes_markup(#[case] input: &str, #[case] want: &str) {
        assert_eq!(escape_markup(input), want);
    }

    #[test]
    fn escaped_text_has_no_markup_left() {
        let hostile = "<b>bold</b>-pkg <img src=x onerror=alert(1)> &lt; <![CDATA[x]]> <!-- c -->";
        let out = escape_markup(hostile);
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        // Every `&` starts one of the entities the escaper writes.
        for (i, _) in out.match_indices('&') {
            let rest = &out[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "stray & at {i} in {out}"
            );
        }
    }

    #[rstest]
    #[case("<b>x</b>", "<b>x</b>")]
    #[case("a\u{0}b\r\nc", "a b\nc")]
    #[case(
        "file:///etc/passwd\nwww.evil.example",
        "file[:]///etc/passwd\nwww[.]evil.example"
    )]
    #[case("\u{2066}x\u{2069}", "\u{FFFD}x\u{FFFD}")]
    fn plain_text_is_cleaned_and_defanged(#[case] input: &str, #[case] want: &str) {
        assert_eq!(plain_text(input), want);
    }

    #[test]
    fn labels_are_one_bounded_line() {
        assert_eq!(label("Mute a\nb", 40), "Mute a b");
        assert_eq!(label("abcdef", 3), "abc…");
        assert_eq!(label("abc", 3), "abc");
        assert_eq!(
            label("Mute evil.com/x\u{202e}", 40),
            "Mute evil[.]com/x\u{FFFD}"
        );
    }

    proptest::proptest! {
        #[test]
        fn escaping_never_leaves_angle_brackets_or_controls(s in ".*") {
            let out = escape_markup(&s);
            proptest::prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
            proptest::prop_assert!(out.chars().all(|c| c == '\n' || c == '\t' || !clean::is_neutralised(c)));
            proptest::prop_assert!(clean::gnome_links(&out).is_empty(), "{out:?}");
        }
    }
}
