//! Links offered to the user. A link is the one part of a rendering that takes the reader
//! somewhere, so only absolute `http`/`https` URLs with a host and no embedded credentials
//! pass; everything a renderer puts into a URL is percent-encoded first.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

/// Real links are short; a megabyte "URL" is not worth parsing.
const MAX_URL_BYTES: usize = 4096;

/// Characters left as they are inside a query value or a path segment (RFC 3986 unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL in its normalised form when it is safe to offer, otherwise `None`.
pub(crate) fn safe(raw: &str) -> Option<String> {
    parse(raw).map(String::from)
}

fn parse(raw: &str) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_BYTES {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    // `https://koji.fedoraproject.org@evil.example/` reads as Koji but goes elsewhere.
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    if url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(url)
}

/// A web root (configured, or supplied by a message) that has passed [`safe`] once, so that
/// paths built from fixed text and [`component`]s can be appended without parsing again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base(String);

impl Base {
    pub(crate) fn new(raw: &str) -> Option<Base> {
        let url = parse(raw.trim().trim_end_matches('/'))?;
        // A query or fragment in the base would swallow every path appended to it.
        if url.query().is_some() || url.fragment().is_some() {
            return None;
        }
        Some(Base(String::from(url).trim_end_matches('/').to_owned()))
    }

    /// The base followed by `path`, which starts with `/` and holds only fixed text and
    /// encoded components.
    pub(crate) fn at(&self, path: &str) -> String {
        let mut s = String::with_capacity(self.0.len() + path.len());
        s.push_str(&self.0);
        s.push_str(path);
        s
    }

    /// A base below this one, e.g. Koji's `/koji` web root under its server.
    pub(crate) fn child(&self, path: &str) -> Base {
        Base(self.at(path))
    }
}

/// One encoded path segment or query value.
pub(crate) fn component(s: &str) -> String {
    // Dots are unreserved, but a whole segment of them would climb the path.
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Task ids, repo ids and the like as they may appear in a path without encoding.
pub(crate) fn is_plain_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s != "."
        && s != ".."
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("https://koji.fedoraproject.org/koji/buildinfo?buildID=1", true)]
    #[case("http://s390.koji.fedoraproject.org/koji/buildinfo?buildID=1", true)]
    #[case("javascript:alert(document.cookie)", false)]
    #[case("JaVaScRiPt:alert(1)", false)]
    #[case(" javascript:alert(1)", false)]
    #[case("file:///etc/passwd", false)]
    #[case("data:text/html,<script>alert(1)</script>", false)]
    #[case("https://koji.fedoraproject.org@evil.example/", false)]
    #[case("https://", false)]
    #[case("/relative/path", false)]
    #[case("", false)]
    fn only_http_links_pass(#[case] url: &str, #[case] ok: bool) {
        assert_eq!(safe(url).is_some(), ok, "{url}");
    }

    #[test]
    fn bases_refuse_unsafe_roots() {
        let brew = Base::new("https://brew.example/brew/");
        assert_eq!(
            brew.map(|b| b.at("/taskinfo?taskID=1")).as_deref(),
            Some("https://brew.example/brew/taskinfo?taskID=1")
        );
        assert_eq!(
            Base::new("https://koji.example.org").map(|b| b.child("/koji").at("/x")),
            Some("https://koji.example.org/koji/x".to_owned())
        );
        assert_eq!(Base::new("javascript:alert(1)//"), None);
        assert_eq!(Base::new("https://a.example/?q="), None);
        assert_eq!(Base::new("https://a.example/#top"), None);
        assert_eq!(Base::new(""), None);
    }

    #[test]
    fn components_are_encoded() {
        assert_eq!(component("a b/<c>&d"), "a%20b%2F%3Cc%3E%26d");
        assert_eq!(component("rust-dua-cli_1.0~x"), "rust-dua-cli_1.0~x");
        assert_eq!(component(".."), "%2E%2E");
    }

    #[test]
    fn plain_ids() {
        assert!(is_plain_id("67c30b77-7eff-4be1-9355-44dd633bf71b"));
        assert!(!is_plain_id("../etc"));
        assert!(!is_plain_id(".."));
        assert!(!is_plain_id("a/b"));
    }
}
