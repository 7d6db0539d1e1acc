//! Text for the notification server. The freedesktop spec lets a server read the body as a
//! small XML-like markup (`<b>`, `<i>`, `<a href>`, entities), so untrusted text must be
//! escaped before it goes there, or a package named `<b>x</b>` would show in bold — or an
//! `<a href="javascript:…">` would become a link. Control characters are dropped everywhere
//! (newline and tab survive), and bidirectional overrides are shown as U+FFFD so they cannot
//! make one name read as another.

/// Escapes `s` for the freedesktop markup subset: `&`, `<`, `>`, `"` and `'` become entities
/// (the named ones every server knows: GNOME Shell re-escapes any other `&`), control
/// characters other than newline and tab are dropped, and bidi controls become U+FFFD.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => push_plain(&mut out, c),
        }
    }
    out
}

/// `s` as plain text for a field the server never reads as markup (the summary, an action
/// label, a body when the server has no `body-markup`): control characters other than newline
/// and tab are dropped and bidi controls become U+FFFD; nothing is escaped.
pub(crate) fn plain_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_plain(&mut out, c);
    }
    out
}

/// A single line of at most `max_chars` characters (an action label): like [`plain_text`],
/// with newlines and tabs as spaces and an ellipsis where it was cut.
pub(crate) fn label(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (count, c) in s.chars().enumerate() {
        if count == max_chars {
            out.push('…');
            break;
        }
        push_plain(&mut out, if c == '\n' || c == '\t' { ' ' } else { c });
    }
    out
}

fn push_plain(out: &mut String, c: char) {
    if is_bidi_control(c) {
        out.push('\u{FFFD}');
    } else if c == '\n' || c == '\t' || !c.is_control() {
        out.push(c);
    }
}

/// Embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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
        "bellnulesc[31mcrdel"
    )]
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
    #[case("a\u{0}b\r\nc", "ab\nc")]
    #[case("\u{2066}x\u{2069}", "\u{FFFD}x\u{FFFD}")]
    fn plain_text_only_drops_controls(#[case] input: &str, #[case] want: &str) {
        assert_eq!(plain_text(input), want);
    }

    #[test]
    fn labels_are_one_bounded_line() {
        assert_eq!(label("Mute a\nb", 40), "Mute a b");
        assert_eq!(label("abcdef", 3), "abc…");
        assert_eq!(label("abc", 3), "abc");
    }

    proptest::proptest! {
        #[test]
        fn escaping_never_leaves_angle_brackets_or_controls(s in ".*") {
            let out = escape_markup(&s);
            proptest::prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
            proptest::prop_assert!(out.chars().all(|c| c == '\n' || c == '\t' || !c.is_control()));
        }
    }
}
