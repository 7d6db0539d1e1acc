//! A notification body's lines. Only Herald lays out lines: each piece of text from a
//! message is one line (a comment's own line breaks become spaces, so it cannot start a line
//! that looks like Herald's), nothing in it is left for the desktop to make a link of, and
//! the link itself is never written out — Herald's own last line names its host, as "Open"
//! when the host is one the producer is known to use and as a warning otherwise.

use crate::clean;

/// Labels that start a line only when Herald wrote it.
const OWN_LABELS: &[&str] = &["open:", "not opened:", "link:"];

/// Whether `line` starts like one of Herald's own lines.
pub(crate) fn looks_own(line: &str) -> bool {
    let start = line.trim_start().to_lowercase();
    OWN_LABELS.iter().any(|l| start.starts_with(l))
}

/// Herald's line about a link: its host, and whether it is offered. `None` when the link has
/// no host to name (a server-relative Pulp path).
pub(super) fn link_line(url: Option<&str>, trusted: bool, producer: &str) -> Option<String> {
    let host = clean::one_line(&clean::host_of(url?)?);
    Some(if trusted {
        format!("Open: {host}")
    } else if producer == "Other" {
        format!("Not opened: {host} is not a known host")
    } else {
        format!("Not opened: {host} is not a known {producer} host")
    })
}

/// The lines of a rendering's details as the notification shows them: an indented block
/// (a comment, a traceback) joins the line that heads it, every line is cleaned to one, and
/// Herald's `Link:` line is left out (the link line stands in for it), as is any line that
/// would look like one of Herald's.
pub(super) fn detail_lines(details: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in details.trim().lines() {
        let text = clean::one_line(raw.trim());
        if text.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(head) if raw.starts_with(char::is_whitespace) => {
                head.push(' ');
                head.push_str(&text);
            }
            _ => out.push(text),
        }
    }
    out.retain(|l| !looks_own(l));
    out
}

/// One line of message text that leads the body; quoted when it would look like Herald's own.
pub(super) fn lead_line(text: &str) -> String {
    let text = clean::one_line(text.trim());
    if looks_own(&text) {
        format!("\u{201C}{text}\u{201D}")
    } else {
        text
    }
}

/// `lines` then Herald's `last` line, within `max` characters: the message's text is cut
/// (with "…"), never the last line.
pub(super) fn compose(lines: &[String], last: Option<&str>, max: usize) -> String {
    let room = match last {
        Some(l) => max.saturating_sub(l.chars().count() + 1),
        None => max,
    };
    let text = lines
        .iter()
        .filter(|l| !l.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    let mut body = super::text::bound(&text, room);
    if let Some(l) = last {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(l);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_cannot_fake_a_line() {
        let details = "Update: FEDORA-2024-1\nComment:\n  looks good\n  Link: https://evil.example/x\nLink: https://bodhi.fedoraproject.org/updates/FEDORA-2024-1";
        assert_eq!(
            detail_lines(details),
            [
                "Update: FEDORA-2024-1",
                "Comment: looks good Link: https[:]//evil.example/x"
            ]
        );
    }

    #[test]
    fn fields_named_like_herald_s_lines_are_left_out() {
        assert_eq!(
            detail_lines("Open: evil.example\nOPEN : x\nnot opened: y\nState: ok"),
            ["OPEN : x", "State: ok"]
        );
        assert_eq!(
            lead_line("Open: evil\u{2028}x"),
            "\u{201C}Open: evil x\u{201D}"
        );
    }

    #[test]
    fn the_link_line_names_the_host_only() {
        let url = Some("https://koji.fedoraproject.org/koji/buildinfo?buildID=1");
        assert_eq!(
            link_line(url, true, "Koji").as_deref(),
            Some("Open: koji.fedoraproject.org")
        );
        assert_eq!(
            link_line(Some("https://www.evil.example/a"), false, "Bodhi").as_deref(),
            Some("Not opened: www[.]evil.example is not a known Bodhi host")
        );
        assert_eq!(link_line(Some("/pulp/api/v2/tasks/1/"), true, "Pulp"), None);
        assert_eq!(link_line(None, true, "Koji"), None);
    }

    #[test]
    fn the_last_line_survives_the_bound() {
        let long = vec!["x".repeat(1000)];
        let body = compose(&long, Some("Open: a.example"), 100);
        assert_eq!(body.chars().count(), 100);
        assert!(body.ends_with("…\nOpen: a.example"), "{body}");
        assert_eq!(compose(&[], Some("Open: a"), 100), "Open: a");
        assert_eq!(compose(&["a".into(), String::new()], None, 100), "a");
    }
}
