//! Opening a message's link in the user's browser. Links come from messages, so they are
//! untrusted: only an absolute `https://` or `http://` URL with a host and no credentials is
//! ever handed on, to `xdg-open`, run directly (never through a shell) and detached from
//! Herald. Everything else — `javascript:`, `file:`, `data:`, relative links, text with
//! whitespace or control characters that a lenient parser would quietly strip — is refused
//! and nothing is run.

use crate::error::NotifyError;
use std::process::{Command, Stdio};
use url::Url;

/// The program that opens a URL in the user's preferred application.
const OPENER: &str = "xdg-open";
/// Longer links are refused: no real message link needs more, and a command line should stay
/// small.
const MAX_LINK_BYTES: usize = 8192;

/// Opens `url` in the browser with `xdg-open`, if it is an absolute http(s) link with a host
/// and no user name or password; otherwise refuses and runs nothing. Returns once the opener
/// has started; it runs on in its own process group.
pub fn open_link(url: &str) -> Result<(), NotifyError> {
    let checked = checked_link(url)
        .map_err(|reason| NotifyError::Link(format!("refusing {url:?}: {reason}")))?;
    launch(OPENER, checked.as_str())
}

/// The link as it will be opened (the parser's normalised form), or why it is refused.
pub(crate) fn checked_link(raw: &str) -> Result<Url, &'static str> {
    if raw.len() > MAX_LINK_BYTES {
        return Err("longer than 8 KiB");
    }
    // The URL parser strips leading and trailing spaces and controls and drops tabs and
    // newlines anywhere (`java\nscript:` would become `javascript:`): refuse such text whole.
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    if raw.contains('\\') {
        return Err("contains a backslash");
    }
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err("not an absolute https:// or http:// link");
    }
    let url = Url::parse(raw).map_err(|_| "not a valid URL")?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("not an absolute https:// or http:// link");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("carries credentials");
    }
    Ok(url)
}

/// Starts `program url` with no shell, no inherited stdio, in a process group of its own (so a
/// Ctrl-C to Herald does not reach the browser it starts), and reaps it in the background.
fn launch(program: &str, url: &str) -> Result<(), NotifyError> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(program)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| NotifyError::Link(format!("cannot run {program}: {e}")))?;
    // The opener usually exits at once; wait for it off the caller's thread so it leaves no
    // zombie behind.
    let reaper = std::thread::Builder::new()
        .name("herald-open-link".into())
        .spawn(move || {
            if let Ok(status) = child.wait() {
                if !status.success() {
                    tracing::warn!("{OPENER} exited with {status}");
                }
            }
        });
    if let Err(e) = reaper {
        tracing::debug!("cannot start a thread to reap {program}: {e}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "https://koji.fedoraproject.org/koji/buildinfo?buildID=1",
        "https://koji.fedoraproject.org/koji/buildinfo?buildID=1"
    )]
    #[case("http://example.org", "http://example.org/")]
    #[case(
        "HTTPS://Bodhi.FedoraProject.org/updates/FEDORA-2024-1",
        "https://bodhi.fedoraproject.org/updates/FEDORA-2024-1"
    )]
    #[case("https://[::1]:8443/x", "https://[::1]:8443/x")]
    #[case(
        "https://example.org/a%20b?q=%3Cb%3E#frag",
        "https://example.org/a%20b?q=%3Cb%3E#frag"
    )]
    fn accepts_http_links(#[case] raw: &str, #[case] opened: &str) {
        assert_eq!(checked_link(raw).map(String::from), Ok(opened.to_owned()));
    }

    #[rstest]
    #[case::javascript("javascript:alert(1)")]
    #[case::javascript_comment("javascript:alert(document.cookie)//")]
    #[case::javascript_upper("JaVaScRiPt:alert(1)")]
    #[case::javascript_newline("java\nscript:alert(1)")]
    #[case::javascript_tab("java\tscript:alert(1)")]
    #[case::file("file:///etc/passwd")]
    #[case::data("data:text/html,<script>alert(1)</script>")]
    #[case::vbscript("vbscript:msgbox(1)")]
    #[case::ftp("ftp://example.org/file")]
    #[case::mailto("mailto:someone@example.org")]
    #[case::relative("/koji/buildinfo?buildID=1")]
    #[case::protocol_relative("//evil.example/x")]
    #[case::bare_host("example.org")]
    #[case::leading_space(" https://x")]
    #[case::trailing_space("https://x ")]
    #[case::leading_nul("\u{0}https://x")]
    #[case::inner_newline("https://exa\nmple.org/")]
    #[case::nbsp("\u{a0}https://x")]
    #[case::missing_slashes("https:example.org")]
    #[case::one_slash("https:/example.org")]
    #[case::backslashes("https:\\\\evil.example")]
    #[case::no_host("https://")]
    #[case::credentials("https://user:pass@example.org/")]
    #[case::user_only("https://user@example.org/")]
    #[case::empty("")]
    #[case::option_like("--help")]
    fn refuses_everything_else(#[case] raw: &str) {
        assert!(checked_link(raw).is_err(), "{raw:?} was accepted");
        let err = open_link(raw).expect_err("refused");
        assert!(
            err.to_string().starts_with("cannot open link: refusing"),
            "{err}"
        );
    }

    #[test]
    fn refuses_huge_links() {
        let raw = format!("https://example.org/{}", "a".repeat(MAX_LINK_BYTES));
        assert!(checked_link(&raw).is_err());
    }

    #[test]
    fn a_missing_opener_is_an_error() {
        let err =
            launch("/nonexistent/herald-opener", "https://example.org/").expect_err("no opener");
        assert!(err.to_string().contains("cannot run"), "{err}");
    }
}
