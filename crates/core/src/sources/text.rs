//! Untrusted text made fit to show. Every string a renderer takes from a message may hold
//! markup, control characters, bidirectional overrides or megabytes of filler; this module
//! bounds its length and neutralises what could disguise it, and nothing else. Markup is
//! kept as literal text: escaping belongs to whatever draws it, and the model stays the
//! message's own words.

use std::fmt::Write as _;

/// The one-line summary is cut here: a notification or a history row shows far less.
pub(crate) const SUMMARY_MAX_CHARS: usize = 300;
/// The key of a details line, which may come from a message (a changed field's name).
const KEY_MAX_CHARS: usize = 80;
/// One `Key: value` line of the details.
const FIELD_MAX_CHARS: usize = 500;
/// Free text in the details (a comment, a traceback).
const BLOCK_MAX_CHARS: usize = 4000;
/// The whole details text, whatever a producer sends.
const DETAILS_MAX_BYTES: usize = 16 * 1024;

/// A single line: control characters and separators become spaces, bidi controls and
/// invisible characters U+FFFD ([`crate::clean`]), and the text is cut after `max_chars`
/// characters with an ellipsis.
pub(crate) fn line(s: &str, max_chars: usize) -> String {
    clean(s, max_chars, false)
}

/// Multi-line text: like [`line()`] but newlines (and tabs) survive.
pub(crate) fn block(s: &str, max_chars: usize) -> String {
    clean(s, max_chars, true)
}

fn clean(s: &str, max_chars: usize, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    push_clean(&mut out, s, max_chars, keep_newlines);
    out
}

/// Appends `s` to `out` the way [`line()`] or [`block()`] would render it.
fn push_clean(out: &mut String, s: &str, max_chars: usize, keep_newlines: bool) {
    // Most text needs no change at all; copying it whole is much cheaper than char by char.
    let needs_work = s
        .chars()
        .enumerate()
        .any(|(count, c)| count == max_chars || crate::clean::is_neutralised(c));
    if !needs_work {
        out.push_str(s);
        return;
    }
    let mut cut = s;
    if let Some((end, _)) = s.char_indices().nth(max_chars) {
        cut = &s[..end];
    }
    let cleaned = if keep_newlines {
        crate::clean::lines(cut)
    } else {
        crate::clean::line(cut)
    };
    out.push_str(&cleaned);
    if cut.len() < s.len() {
        out.push('…');
    }
}

/// The detail view's text, built field by field and bounded as a whole.
#[derive(Debug, Default, Clone)]
pub(crate) struct Details {
    text: String,
    full: bool,
}

impl Details {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `Key: value` when the value is known.
    pub(crate) fn field(&mut self, key: &str, value: impl AsRef<str>) -> &mut Self {
        let value = value.as_ref();
        if value.is_empty() || self.full {
            return self;
        }
        let start = self.text.len();
        if start > 0 {
            self.text.push('\n');
        }
        push_clean(&mut self.text, key, KEY_MAX_CHARS, false);
        self.text.push_str(": ");
        push_clean(&mut self.text, value, FIELD_MAX_CHARS, false);
        self.close(start);
        self
    }

    /// Adds `Key: value` for an optional value.
    pub(crate) fn opt(&mut self, key: &str, value: Option<impl AsRef<str>>) -> &mut Self {
        if let Some(v) = value {
            self.field(key, v);
        }
        self
    }

    /// Adds a heading followed by free text indented under it.
    pub(crate) fn section(&mut self, key: &str, body: &str) -> &mut Self {
        if !body.trim().is_empty() {
            let body = block(body.trim_end(), BLOCK_MAX_CHARS);
            let mut s = format!("{}:", line(key, KEY_MAX_CHARS));
            for l in body.lines() {
                let _ = write!(s, "\n  {l}");
            }
            self.push(&s);
        }
        self
    }

    fn push(&mut self, s: &str) {
        if self.full {
            return;
        }
        let start = self.text.len();
        if start > 0 {
            self.text.push('\n');
        }
        self.text.push_str(s);
        self.close(start);
    }

    /// Undoes the entry that began at `start` if it overran the bound, and ends the details.
    fn close(&mut self, start: usize) {
        if self.text.len() > DETAILS_MAX_BYTES {
            self.text.truncate(start);
            self.full = true;
            if start > 0 {
                self.text.push('\n');
            }
            self.text.push('…');
        }
    }

    pub(crate) fn into_string(self) -> String {
        self.text
    }
}

/// Joins values for display, e.g. a list of versions.
pub(crate) fn join<'a>(items: impl IntoIterator<Item = &'a str>, sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item);
        // Long lists only ever feed a bounded line; stop building once it cannot show more.
        if out.len() > 4 * SUMMARY_MAX_CHARS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_neutralises_bidi_and_controls_but_keeps_markup() {
        let s = line("\u{202e}exe.txt\n<b>x</b>\u{2066}", 100);
        assert_eq!(s, "\u{FFFD}exe.txt <b>x</b>\u{FFFD}");
    }

    #[test]
    fn line_neutralises_marks_zero_widths_and_separators() {
        let s = line("a\u{200e}b\u{200b}c\u{2028}d\u{61c}e", 100);
        assert_eq!(s, "a\u{FFFD}b\u{FFFD}c d\u{FFFD}e");
        assert_eq!(block("x\u{2029}Link: y", 100), "x Link: y");
    }

    #[test]
    fn line_truncates_on_char_boundaries() {
        let s = line(&"é".repeat(10), 4);
        assert_eq!(s, "éééé…");
        assert_eq!(line("abcd", 4), "abcd");
    }

    #[test]
    fn block_keeps_newlines_and_drops_carriage_returns() {
        assert_eq!(block("a\r\nb\u{0}c", 100), "a\nb c");
    }

    #[test]
    fn details_are_bounded() {
        let mut d = Details::new();
        let big = "x".repeat(BLOCK_MAX_CHARS * 2);
        for i in 0..20 {
            d.section(&format!("S{i}"), &big);
        }
        let s = d.into_string();
        assert!(s.len() <= DETAILS_MAX_BYTES + 4);
        assert!(s.ends_with('…'));
    }

    #[test]
    fn details_skip_empty_values() {
        let mut d = Details::new();
        d.field("A", "").opt("B", None::<&str>).field("C", "c");
        assert_eq!(d.into_string(), "C: c");
    }
}
