//! Text for the terminal. Topics, summaries, ids, rule ids and error texts come from the bus,
//! from whoever published a message, so a message could otherwise move the cursor, recolour
//! or clear the screen, rewrite a line with a carriage return, or turn a name around with a
//! bidi override. Everything the CLI prints from a message or a broker goes through
//! [`escape`], which shows the characters Herald neutralises everywhere
//! ([`herald_core::clean::is_neutralised`]) as visible escapes (`\x1b`, `\u{202e}`) instead —
//! the person reading sees that something odd was sent rather than its effect. `--json` output
//! does not need this: serde escapes control characters and the result is for programs.
//! Whether the logs may be coloured is decided here too ([`colour`]).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal as _;

/// `s` with every character that could act on the terminal shown as an escape: C0 controls
/// (tab and newline included: a field is one line), DEL, C1 controls, and the Unicode format
/// characters that reorder or hide text. Backslashes are left alone: this is for reading, and
/// the exact text is in `--json`. Borrows when there is nothing to escape, as is usual.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(needs_escape) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if !needs_escape(c) {
            out.push(c);
            continue;
        }
        // Writing into a `String` cannot fail.
        let _ = match c {
            '\t' => out.write_str("\\t"),
            '\n' => out.write_str("\\n"),
            '\r' => out.write_str("\\r"),
            c if c.is_ascii() => write!(out, "\\x{:02x}", u32::from(c)),
            c => write!(out, "\\u{{{:x}}}", u32::from(c)),
        };
    }
    Cow::Owned(out)
}

/// A block of text (a message's details, body or headers; a multi-line error) escaped line by
/// line, so that its own line breaks still break lines and nothing else gets through.
pub(crate) fn escape_lines(s: &str) -> String {
    s.lines().map(escape).collect::<Vec<_>>().join("\n")
}

/// What Herald neutralises in every text that leaves it ([`herald_core::clean`]): C0, DEL
/// and C1 controls, line and paragraph separators, bidi controls and invisible characters.
/// The terminal shows each as an escape rather than a space or U+FFFD, so the exact code point
/// is there to read.
fn needs_escape(c: char) -> bool {
    herald_core::clean::is_neutralised(c)
}

/// Whether the logs on stderr may be coloured: only on a terminal, and not when `NO_COLOR` is
/// set to anything but the empty string (<https://no-color.org>). A pipe or a file gets plain
/// text, which is what a log file or `grep` wants.
pub(crate) fn colour() -> bool {
    colour_for(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

fn colour_for(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    /// (input, what is printed); `None` when the text is printed as it is, without a copy.
    const CASES: &[(&str, Option<&str>)] = &[
        ("org.fedoraproject.prod.buildsys.build.state.change", None),
        ("ünïcødé ✓ 日本 — python-requests", None),
        (r"C:\path\x1b", None),
        ("", None),
        ("\u{1b}[31mred\u{1b}[0m", Some(r"\x1b[31mred\x1b[0m")),
        ("\u{1b}]0;pwned\u{7}", Some(r"\x1b]0;pwned\x07")),
        ("ok\rFAILED", Some(r"ok\rFAILED")),
        ("a\nb\tc", Some(r"a\nb\tc")),
        ("a\u{0}b\u{7f}", Some(r"a\x00b\x7f")),
        ("\u{9b}31m", Some(r"\u{9b}31m")),
        ("a\u{85}b", Some(r"a\u{85}b")),
        ("\u{202e}resu-live", Some(r"\u{202e}resu-live")),
        (
            "\u{202a}\u{202b}\u{202c}\u{202d}",
            Some(r"\u{202a}\u{202b}\u{202c}\u{202d}"),
        ),
        (
            "\u{2066}x\u{2067}\u{2068}\u{2069}",
            Some(r"\u{2066}x\u{2067}\u{2068}\u{2069}"),
        ),
        ("\u{200e}\u{200f}\u{61c}", Some(r"\u{200e}\u{200f}\u{61c}")),
        ("a\u{2028}b\u{2029}", Some(r"a\u{2028}b\u{2029}")),
        (
            "p\u{200b}k\u{200c}g\u{200d}\u{feff}",
            Some(r"p\u{200b}k\u{200c}g\u{200d}\u{feff}"),
        ),
        ("日本\u{1b}", Some(r"日本\x1b")),
        ("soft\u{ad}hy\u{2060}ph", Some(r"soft\u{ad}hy\u{2060}ph")),
    ];

    #[test]
    fn escapes_what_acts_on_a_terminal() {
        for &(input, want) in CASES {
            let out = escape(input);
            match want {
                None => {
                    assert!(matches!(out, Cow::Borrowed(_)), "{input:?} was copied");
                    assert_eq!(out, input);
                }
                Some(want) => assert_eq!(out, want, "{input:?}"),
            }
        }
    }

    /// Every character there is, alone and between letters: what comes out never holds a
    /// character that acts on a terminal, and only those are changed.
    #[test]
    fn no_character_gets_through() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let s = format!("a{c}b");
            let out = escape(&s);
            assert!(!out.chars().any(needs_escape), "{c:?} → {out:?}");
            assert_eq!(out == s, !needs_escape(c), "{c:?} → {out:?}");
        }
    }

    #[test]
    fn blocks_keep_their_lines_only() {
        assert_eq!(
            escape_lines("first\r\nsecond \u{1b}[2J\nthird\tcol"),
            "first\nsecond \\x1b[2J\nthird\\tcol"
        );
        assert_eq!(escape_lines(""), "");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        for (terminal, no_color, want) in [
            (true, None, true),
            (true, Some(""), true),
            (true, Some("1"), false),
            (false, None, false),
            (false, Some("1"), false),
        ] {
            assert_eq!(
                colour_for(terminal, no_color.map(OsStr::new)),
                want,
                "terminal {terminal}, NO_COLOR {no_color:?}"
            );
        }
    }
}
