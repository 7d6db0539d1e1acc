//! The one cleaning every text that leaves Herald goes through: notification summaries,
//! bodies and action labels, tray labels, the terminal and the window's rendered text. Text
//! from the bus is whatever its sender wrote, so it may hold characters that act on the
//! reader instead of being read: control characters, line breaks that fake a line of
//! Herald's own, bidirectional controls that make `evil.exe` read as `exe.live`, and
//! invisible format characters that make two different names look the same. Each is
//! neutralised here — line breaks and controls become spaces, the reordering and invisible
//! ones become U+FFFD so the reader sees that something was there.
//!
//! Desktops also turn anything that looks like a URL into a link: GNOME Shell's `findUrls`
//! makes every `scheme://…`, `www.…` and `name.tld/…` clickable in a notification body,
//! `smb://` and `file://` included. [`defang`] breaks such text so that it is still read but
//! no longer matched (`smb[:]//host`, `evil[.]example/x`); links Herald offers itself go
//! through its own checked actions instead.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Shown in place of a reordering or invisible character.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Bidirectional controls: the marks (U+061C, U+200E, U+200F), embeddings and overrides
/// (U+202A–U+202E) and isolates (U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that draw nothing, or nothing of their own: zero-width spaces and joiners, the
/// byte order mark, word joiner and invisible operators, soft hyphen, fillers, tags and the
/// other format characters (general category Cf), plus the bidi controls.
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{0600}'..='\u{0605}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{08E2}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2065}'
                | '\u{206A}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Line and paragraph separators, which Pango and some terminals break lines at.
pub fn is_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// Every character [`line`] changes: controls (C0, DEL, C1 — newline and tab too),
/// separators, bidi controls and invisible characters.
pub fn is_neutralised(c: char) -> bool {
    c.is_control() || is_separator(c) || is_invisible(c)
}

/// `s` as one line: controls and separators become spaces, bidi controls and invisible
/// characters U+FFFD. Borrows when there is nothing to change, as is usual.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

/// `s` with its line structure: like [`line`], but newlines and tabs are kept and carriage
/// returns dropped. Only for text whose lines Herald laid out itself.
pub fn lines(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

fn clean(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let Some(first) = s.find(is_neutralised) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '\n' | '\t' if keep_lines => out.push(c),
            '\r' if keep_lines => {}
            c if is_invisible(c) => out.push(REPLACEMENT),
            c if c.is_control() || is_separator(c) => out.push(' '),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The start of anything GNOME Shell's `findUrls` (`js/misc/util.js`, `_urlRegexp`) would
/// make a link of: a scheme and `://`, `www` with up to three digits and a dot, or a name, a
/// dot, two to four letters and a slash. Every match of GNOME's expression begins with one
/// of these, so text without them has no link in it. This finds them anywhere, not only
/// after the blank or bracket GNOME wants before them: older shells used a word boundary,
/// and a broader match costs only a bracket.
static LINK_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[a-z][a-z0-9_-]*://|www[0-9]{0,3}\.|[a-z0-9.-]+\.[a-z]{2,4}/")
        .unwrap_or_else(|_| unreachable!("a fixed pattern"))
});

/// `s` with everything a desktop would make clickable broken up for the eye only:
/// `smb://host/x` becomes `smb[:]//host/x`, `www.example.org` `www[.]example.org`, and
/// `evil.example/x` `evil[.]example/x`. Borrows when there is nothing to change.
pub fn defang(s: &str) -> Cow<'_, str> {
    if !LINK_START.is_match(s) {
        return Cow::Borrowed(s);
    }
    let mut out = s.to_owned();
    // Each pass brackets one `:` or `.` of every start it finds, and a bracketed one is never
    // part of a start again, so this ends; a host behind a defanged scheme needs a second pass.
    while LINK_START.is_match(&out) {
        out = LINK_START
            .replace_all(&out, |m: &regex::Captures<'_>| {
                let m = &m[0];
                if let Some(scheme) = m.strip_suffix("://") {
                    format!("{scheme}[:]//")
                } else {
                    m.replace('.', "[.]")
                }
            })
            .into_owned();
    }
    Cow::Owned(out)
}

/// Free text from a message as one line for a desktop: [`line`], then [`defang`].
pub fn one_line(s: &str) -> String {
    defang(&line(s)).into_owned()
}

/// The host a link goes to, as a person should read it: lower case, an international name in
/// its `xn--` form (so a look-alike letter shows), with the port when one is given. `None`
/// when `url` is not an absolute link with a host.
pub fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?;
    let host = line(host).into_owned();
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

#[cfg(test)]
mod tests;

/// GNOME Shell's own expression (`js/misc/util.js`, `_urlRegexp`, with its leading-junk
/// form), as close as Rust's engine allows (`\w` and `\s` are Unicode-wide here, so it
/// matches a little more). Used by tests to check that nothing Herald sends is clickable.
static GNOME_URL: LazyLock<Regex> = LazyLock::new(|| {
    let balanced = r"\((?:[^\s()<>]+|(?:\([^\s()<>]+\)))*\)";
    let leading_junk = "[\\s`(\\[{'\"<\u{AB}\u{201C}\u{2018}]";
    let not_trailing_junk =
        "[^\\s`!()\\[\\]{};:'\".,<>?\u{AB}\u{BB}\u{201C}\u{201D}\u{2018}\u{2019}]";
    let pattern = format!(
        r"(?i)(?:^|{leading_junk})((?:[a-z][\w-]+://|www\d{{0,3}}[.]|[a-z0-9.\-]+[.][a-z]{{2,4}}/)(?:[^\s()<>]+|{balanced})+(?:{balanced}|{not_trailing_junk}))"
    );
    Regex::new(&pattern).unwrap_or_else(|_| unreachable!("a fixed pattern"))
});

/// What GNOME Shell would make a link of in `s`, for tests of what Herald sends.
#[doc(hidden)]
pub fn gnome_links(s: &str) -> Vec<String> {
    GNOME_URL
        .captures_iter(s)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_owned()))
        .collect()
}
