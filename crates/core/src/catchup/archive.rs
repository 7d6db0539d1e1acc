//! A polite client for datagrepper, the bus archive (`/v2/search`). The production archive is
//! one replica with a 60 s statement timeout shared by everyone, so this client sends one
//! request at a time (it takes `&mut self`), waits a spacing between requests, names itself
//! in the User-Agent, asks for JSON, waits longer than the server's own timeout, and backs off
//! with jitter when the server is failing (5xx, 429, a timeout, or an HTML error page from a
//! proxy in front of it). A JSON answer it cannot use is an error, never an empty page.

use crate::error::ArchiveError;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// Above datagrepper's own 60 s statement timeout: its answer, even a late one, beats a retry.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// A whole page of 100 messages is well under this; a bigger answer is not datagrepper's.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;
/// At most this many rows per request (the server refuses more).
pub const ROWS: u32 = super::walk::ROWS_PER_PAGE;
/// The longest wait between two attempts at one request.
const RETRY_CAP: Duration = Duration::from_secs(120);
/// Requests with more topics than this ask for the window unnarrowed (the URL stays short).
const MAX_TOPICS: usize = 40;

/// How hard the client presses on the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Politeness {
    /// The least time from the start of one request to the start of the next.
    pub spacing: Duration,
    /// The first wait after a failed request; doubled each time, with jitter.
    pub retry_base: Duration,
    /// Attempts per request before the walk gives up (and resumes later).
    pub attempts: u32,
    pub timeout: Duration,
}

impl Default for Politeness {
    fn default() -> Self {
        Politeness {
            spacing: Duration::from_secs(1),
            retry_base: Duration::from_secs(2),
            attempts: 6,
            timeout: REQUEST_TIMEOUT,
        }
    }
}

impl From<&crate::config::CatchUpTuning> for Politeness {
    fn from(t: &crate::config::CatchUpTuning) -> Politeness {
        Politeness {
            spacing: Duration::from_millis(t.spacing_ms),
            retry_base: Duration::from_millis(t.retry_ms),
            attempts: t.attempts.max(1),
            timeout: Duration::from_millis(t.request_timeout_ms.max(1)),
        }
    }
}

/// One `/v2/search` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Unix seconds, inclusive.
    pub start: i64,
    /// Unix seconds: the whole of this second is included.
    pub end: i64,
    /// Rows per page, at most [`ROWS`] (1 to learn only the count).
    pub rows: u32,
    pub page: u32,
    /// Exact topics (datagrepper has no wildcards); empty asks for every topic.
    pub topics: Vec<String>,
    /// datanommer categories; empty asks for every category.
    pub categories: Vec<String>,
}

/// One page of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// `{"id", "topic", "headers", "body", …}` as the archive keeps them.
    pub rows: Vec<Value>,
    /// Messages in the whole `[start, end]` window, as the archive counts them.
    pub total: Option<u64>,
}

/// The archive client; see the module documentation.
#[derive(Debug)]
pub struct Archive {
    client: reqwest::Client,
    search: Url,
    politeness: Politeness,
    last_start: Option<Instant>,
    /// Requests sent, retries included.
    pub requests: u64,
}

impl Archive {
    /// A client for the archive at `base` (its root: `…/datagrepper/`).
    pub fn new(base: &str, politeness: Politeness) -> Result<Archive, ArchiveError> {
        let search = crate::config::archive_base_url(base)
            .map_err(ArchiveError::Url)?
            .join("v2/search")
            .map_err(|e| ArchiveError::Url(e.to_string()))?;
        // reqwest's rustls takes the process-wide provider; Herald's is ring (as lapin's).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Herald/",
                env!("CARGO_PKG_VERSION"),
                " (desktop catch-up; +",
                env!("CARGO_PKG_REPOSITORY"),
                ")"
            ))
            .timeout(politeness.timeout)
            .connect_timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| ArchiveError::Client(e.to_string()))?;
        Ok(Archive {
            client,
            search,
            politeness,
            last_start: None,
            requests: 0,
        })
    }

    /// The URL of one request: absolute times, ascending order, one page of [`ROWS`].
    pub fn url(&self, q: &Query) -> Url {
        let mut url = self.search.clone();
        {
            let mut p = url.query_pairs_mut();
            // The end's last microsecond: archive timestamps may carry fractions of a second,
            // and the next request starts at the next whole second.
            p.append_pair("start", &q.start.to_string())
                .append_pair("end", &format!("{}.999999", q.end))
                .append_pair("order", "asc")
                .append_pair("rows_per_page", &q.rows.clamp(1, ROWS).to_string())
                .append_pair("page", &q.page.max(1).to_string());
            if q.topics.len() <= MAX_TOPICS {
                for t in &q.topics {
                    p.append_pair("topic", t);
                }
            }
            if q.categories.len() <= MAX_TOPICS {
                for c in &q.categories {
                    p.append_pair("category", c);
                }
            }
        }
        url
    }

    /// Fetches one page, retrying what the server may answer better later.
    pub async fn search(&mut self, q: &Query) -> Result<SearchPage, ArchiveError> {
        let url = self.url(q);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match self.once(&url).await {
                Ok(page) => return Ok(page),
                Err(e) if e.is_transient() && attempt < self.politeness.attempts => {
                    let wait =
                        crate::error::backoff(self.politeness.retry_base, RETRY_CAP, attempt);
                    tracing::debug!(error = %e, ?wait, attempt, "archive request failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn once(&mut self, url: &Url) -> Result<SearchPage, ArchiveError> {
        if let Some(last) = self.last_start {
            tokio::time::sleep_until(last + self.politeness.spacing).await;
        }
        self.last_start = Some(Instant::now());
        self.requests += 1;
        let response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| transport(&e))?;
        let status = response.status();
        let html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"));
        let body = read_limited(response).await?;
        if !status.is_success() || html {
            return Err(ArchiveError::Status {
                status: status.as_u16(),
                html,
                detail: error_detail(&body),
            });
        }
        parse_page(&body)
    }
}

/// Reads a body up to [`MAX_RESPONSE`].
async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ArchiveError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(&e))? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(ArchiveError::TooLarge(MAX_RESPONSE));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(e: &reqwest::Error) -> ArchiveError {
    if e.is_timeout() {
        ArchiveError::Timeout
    } else {
        // reqwest's message names the URL, which holds nothing secret here.
        ArchiveError::Transport(crate::error::error_chain(e))
    }
}

/// The part of an error page worth showing: a JSON `error`, else nothing (an HTML page or a
/// traceback is not for the user's terminal).
fn error_detail(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error").or_else(|| v.get("message"))?;
    let s = e.as_str().map_or_else(|| e.to_string(), str::to_owned);
    Some(s.chars().take(200).collect())
}

/// Reads a `/v2/search` answer.
pub fn parse_page(body: &[u8]) -> Result<SearchPage, ArchiveError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ArchiveError::Answer(format!("not JSON: {e}")))?;
    let rows = match v.get("raw_messages") {
        Some(Value::Array(rows)) => rows.clone(),
        _ => {
            return Err(ArchiveError::Answer(
                "no \"raw_messages\" list in the answer".to_owned(),
            ))
        }
    };
    if rows.len() > ROWS as usize {
        return Err(ArchiveError::Answer(format!(
            "{} rows in a page of {ROWS}",
            rows.len()
        )));
    }
    Ok(SearchPage {
        rows,
        total: v.get("total").and_then(Value::as_u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_absolute_ascending_and_one_page_of_100() {
        let a =
            Archive::new("http://127.0.0.1:1/datagrepper", Politeness::default()).expect("client");
        let url = a.url(&Query {
            start: 100,
            end: 200,
            rows: 100,
            page: 3,
            topics: vec!["a.b".to_owned(), "c d".to_owned()],
            categories: vec![],
        });
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/datagrepper/v2/search?start=100&end=200.999999&order=asc&rows_per_page=100&page=3&topic=a.b&topic=c+d"
        );
        let many: Vec<String> = (0..=MAX_TOPICS).map(|i| format!("t{i}")).collect();
        let wide = a.url(&Query {
            start: 1,
            end: 2,
            rows: 500,
            page: 1,
            topics: many,
            categories: vec!["bodhi".to_owned()],
        });
        assert!(!wide.as_str().contains("topic="), "{wide}");
        assert!(wide.as_str().ends_with("&category=bodhi"), "{wide}");
        assert!(
            wide.as_str().contains("rows_per_page=100&"),
            "never more than a page"
        );
    }

    #[test]
    fn only_http_archives_are_accepted() {
        for bad in [
            "file:///etc/passwd",
            "ftp://x/",
            "not a url",
            "http://",
            "https://user:pw@example.org/",
        ] {
            assert!(Archive::new(bad, Politeness::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_checked() {
        let ok = parse_page(br#"{"raw_messages":[{"id":"a"}],"total":1,"pages":1}"#).expect("page");
        assert_eq!((ok.rows.len(), ok.total), (1, Some(1)));
        assert!(parse_page(b"<html>busy</html>").is_err());
        assert!(parse_page(br#"{"total": 3}"#).is_err());
        let too_many = format!(r#"{{"raw_messages":[{}]}}"#, vec!["{}"; 101].join(","));
        assert!(parse_page(too_many.as_bytes()).is_err());
    }
}
