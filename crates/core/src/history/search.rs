//! Searching the history: full-text (FTS5), people, packages, topic patterns, severity, time
//! and read state, newest first. User text is turned into FTS5 syntax here, never passed
//! through.

use super::{rowid_base, HistoryStore};
use crate::error::HistoryError;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use time::OffsetDateTime;

/// What to look for; every field narrows the result. Deserializes from the desktop app's
/// query object: missing fields take their defaults (`limit` 100), times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "HistoryQuery"))]
pub struct SearchQuery {
    /// Words (all must match; `word*` matches a prefix) and `"quoted phrases"`.
    pub text: Option<String>,
    /// An AMQP routing-key pattern: `*` is one word, `#` zero or more.
    pub topic: Option<String>,
    pub user: Option<String>,
    pub package: Option<String>,
    pub source: Option<String>,
    pub severity_min: Option<u8>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub until: Option<OffsetDateTime>,
    /// Only messages not marked read.
    pub unread_only: bool,
    /// Keyset pagination: only rows older than this row key.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub before: Option<i64>,
    /// At most this many hits (at least one is always asked for).
    pub limit: u32,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            text: None,
            topic: None,
            user: None,
            package: None,
            source: None,
            severity_min: None,
            since: None,
            until: None,
            unread_only: false,
            before: None,
            limit: 100,
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Hit {
    /// Row key, for paging (`before`).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub key: i64,
    pub id: String,
    pub topic: String,
    pub exchange: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub sent_at: OffsetDateTime,
    pub severity: u8,
    pub source: String,
    pub kind: String,
    pub summary: String,
    pub url: Option<String>,
    pub users: Vec<String>,
    pub packages: Vec<String>,
    pub agent: Option<String>,
    /// The rule that kept it (none for imports and when no rule matched).
    pub rule: Option<String>,
    /// `notify` or `history`.
    pub action: String,
    /// Whether it was marked read.
    pub read: bool,
    /// Fetched from the bus archive to fill a gap, not delivered live.
    pub backfilled: bool,
}

/// One page of hits, newest first. A page may hold fewer hits than asked for and still have
/// a `next_before`: the search ran out of time there and goes on from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Page {
    pub hits: Vec<Hit>,
    /// The `before` of the next request; none once the oldest message has been searched.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub next_before: Option<i64>,
}

/// The columns [`hit_from_row`] reads, for a query over `messages m`.
pub(super) const HIT_COLUMNS: &str = "m.rowid, m.id, m.topic, m.exchange, m.sent_at, \
     m.severity, m.source, m.kind, m.summary, m.url, m.users, m.packages, m.agent, m.rule, \
     m.action, m.backfilled, NOT EXISTS (SELECT 1 FROM unread WHERE unread.message = m.rowid) AS read";

impl HistoryStore {
    /// Runs a search, newest first.
    pub async fn search(&self, q: &SearchQuery) -> Result<Vec<Hit>, HistoryError> {
        if self.topic_matches_nothing(q).await? {
            return Ok(Vec::new());
        }
        let limit = usize::try_from(q.limit.max(1)).unwrap_or(usize::MAX);
        self.slice(q, q.before.unwrap_or(i64::MAX), None, limit)
            .await
    }
}

impl HistoryStore {
    /// Whether `q`'s topic pattern has wildcards and no stored topic matches it. The distinct
    /// topics are walked through the topic index, one seek each (a few hundred on a real
    /// history), so a pattern that matches nothing is known in milliseconds; otherwise the
    /// search would test every message of the history against it to find no row.
    pub(super) async fn topic_matches_nothing(
        &self,
        q: &SearchQuery,
    ) -> Result<bool, HistoryError> {
        let Some(pattern) = q.topic.as_deref().filter(|p| has_wildcards(p)) else {
            return Ok(false);
        };
        let found: Option<i64> = sqlx::query_scalar(
            "WITH RECURSIVE t(topic) AS ( \
                 SELECT (SELECT MIN(topic) FROM messages) \
                 UNION ALL \
                 SELECT (SELECT MIN(topic) FROM messages WHERE topic > t.topic) \
                 FROM t WHERE t.topic IS NOT NULL) \
             SELECT 1 FROM t WHERE t.topic IS NOT NULL AND (t.topic || '.') REGEXP ? LIMIT 1",
        )
        .bind(topic_regex(pattern))
        .fetch_optional(&self.pool)
        .await
        .map_err(HistoryError::query("match topics"))?;
        Ok(found.is_none())
    }
}

/// Whether a topic pattern has a `*` or `#` word; without one it names a single topic.
fn has_wildcards(pattern: &str) -> bool {
    pattern.split('.').any(|w| w == "*" || w == "#")
}

/// Pushes `FROM … WHERE …` for the rows `q` selects (all but its limit) and returns the row
/// key expression to order by.
///
/// The key is the driving table's own row id, so SQLite walks that table (the full-text
/// index, the unread list or the messages) newest first and stops at the limit, never
/// sorting the matches.
pub(super) fn push_filtered(
    b: &mut QueryBuilder<Sqlite>,
    q: &SearchQuery,
) -> Result<&'static str, HistoryError> {
    // An empty box in a form means no filter, not "matches nothing".
    let given = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let mut fts_parts = Vec::new();
    if let Some(t) = given(&q.text) {
        fts_parts.push(format!("({})", fts_query(t.trim())?));
    }
    // People and packages are found through their FTS5 columns, then checked exactly:
    // the tokenizer splits `python-twisted` into words that `python-twisted-web` has too.
    let exact: Vec<(&str, String)> = [("users", given(&q.user)), ("packages", given(&q.package))]
        .into_iter()
        .filter_map(|(col, v)| v.map(|v| (col, v)))
        .collect();
    for (col, name) in &exact {
        if name.chars().any(char::is_alphanumeric) {
            fts_parts.push(format!("{col} : \"{}\"", name.replace('"', "\"\"")));
        }
    }
    let fts = (!fts_parts.is_empty()).then(|| fts_parts.join(" AND "));
    let key = if let Some(fts) = fts {
        // CROSS JOIN keeps the full-text index as the outer loop. Left to itself, SQLite
        // may walk every message of a source and probe the index for each: 26 s instead of
        // 1.2 s for a common word and a source that never meet in a million messages.
        b.push(
            " FROM messages_fts f CROSS JOIN messages m ON m.rowid = f.rowid \
             WHERE messages_fts MATCH ",
        );
        b.push_bind(fts);
        if q.unread_only {
            b.push(" AND EXISTS (SELECT 1 FROM unread WHERE unread.message = f.rowid)");
        }
        "f.rowid"
    } else if q.unread_only {
        // CROSS JOIN keeps the (short) unread list as the outer loop.
        b.push(" FROM unread u CROSS JOIN messages m ON m.rowid = u.message WHERE 1 = 1");
        "u.message"
    } else {
        b.push(" FROM messages m WHERE 1 = 1");
        "m.rowid"
    };
    for (col, name) in exact {
        b.push(format!(
            " AND EXISTS (SELECT 1 FROM json_each(m.{col}) WHERE json_each.value = "
        ));
        b.push_bind(name);
        b.push(")");
    }
    if let Some(since) = q.since {
        b.push(format!(" AND {key} >= "));
        b.push_bind(rowid_base(since.unix_timestamp()));
    }
    if let Some(until) = q.until {
        b.push(format!(" AND {key} < "));
        b.push_bind(rowid_base(until.unix_timestamp().saturating_add(1)));
    }
    if let Some(before) = q.before {
        b.push(format!(" AND {key} < "));
        b.push_bind(before);
    }
    if let Some(sev) = q.severity_min {
        b.push(" AND m.severity >= ");
        b.push_bind(i64::from(sev));
    }
    if let Some(source) = given(&q.source) {
        b.push(" AND m.source = ");
        b.push_bind(source);
    }
    if let Some(pattern) = given(&q.topic) {
        if has_wildcards(&pattern) {
            b.push(" AND (m.topic || '.') REGEXP ");
            b.push_bind(topic_regex(&pattern));
        } else {
            // Without wildcards a pattern is one topic, found through the topic index:
            // what is typed into the box matches nothing until complete, and a regular
            // expression over every message would take most of a second each time.
            b.push(" AND m.topic = ");
            b.push_bind(pattern);
        }
    }
    Ok(key)
}

/// Maps a failed search statement to an error, telling bad full-text syntax apart.
pub(super) fn search_error<'a>(
    q: &'a SearchQuery,
    op: &'static str,
) -> impl FnOnce(sqlx::Error) -> HistoryError + 'a {
    move |e| match &e {
        sqlx::Error::Database(d) if d.message().contains("fts5") => {
            HistoryError::BadQuery(format!("cannot search for {:?}", q.text))
        }
        _ => HistoryError::Query { op, source: e },
    }
}

pub(super) fn hit_from_row(row: &SqliteRow) -> Result<Hit, HistoryError> {
    let e = || HistoryError::query("read search result");
    let list = |c: &str| -> Result<Vec<String>, HistoryError> {
        let s: String = row.try_get(c).map_err(e())?;
        Ok(serde_json::from_str(&s).unwrap_or_default())
    };
    let sent_ms: i64 = row.try_get("sent_at").map_err(e())?;
    let severity: i64 = row.try_get("severity").map_err(e())?;
    Ok(Hit {
        key: row.try_get("rowid").map_err(e())?,
        id: row.try_get("id").map_err(e())?,
        topic: row.try_get("topic").map_err(e())?,
        exchange: row.try_get("exchange").map_err(e())?,
        sent_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(sent_ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        severity: u8::try_from(severity).unwrap_or(20),
        source: row.try_get("source").map_err(e())?,
        kind: row.try_get("kind").map_err(e())?,
        summary: row.try_get("summary").map_err(e())?,
        url: row.try_get("url").map_err(e())?,
        users: list("users")?,
        packages: list("packages")?,
        agent: row.try_get("agent").map_err(e())?,
        rule: row.try_get("rule").map_err(e())?,
        action: row.try_get("action").map_err(e())?,
        read: row.try_get("read").map_err(e())?,
        backfilled: row.try_get("backfilled").map_err(e())?,
    })
}

/// Turns what a person typed into an FTS5 query: every word or quoted phrase must match,
/// a trailing `*` asks for a prefix, and nothing else is FTS5 syntax.
pub fn fts_query(text: &str) -> Result<String, HistoryError> {
    if text.chars().filter(|c| *c == '"').count() % 2 == 1 {
        return Err(HistoryError::BadQuery(
            "unbalanced quote: close the \"phrase\" or remove the quote".to_owned(),
        ));
    }
    let mut parts = Vec::new();
    for (i, chunk) in text.split('"').enumerate() {
        if i % 2 == 1 {
            if !chunk.trim().is_empty() {
                parts.push(format!("\"{}\"", chunk.trim()));
            }
            continue;
        }
        for word in chunk.split_whitespace() {
            let (word, prefix) = match word.strip_suffix('*') {
                Some(w) => (w, true),
                None => (word, false),
            };
            if word.is_empty() {
                continue;
            }
            parts.push(format!("\"{word}\"{}", if prefix { "*" } else { "" }));
        }
    }
    if parts.is_empty() {
        return Err(HistoryError::BadQuery("nothing to search for".to_owned()));
    }
    Ok(parts.join(" "))
}

/// What to highlight in results for `text`: the lower-case words and quoted phrases
/// [`fts_query`] searches for, a prefix `foo*` as `foo`, each once, in the order typed.
///
/// It reads text the way `fts_query` does, but never fails: it runs on every keystroke,
/// while a phrase may still be open (its words so far count as the phrase). Terms with no
/// letter or digit are left out, as they match nothing.
pub fn highlight_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut add = |term: String| {
        if term.chars().any(char::is_alphanumeric) && !terms.contains(&term) {
            terms.push(term);
        }
    };
    for (i, chunk) in text.split('"').enumerate() {
        if i % 2 == 1 {
            add(chunk
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase());
            continue;
        }
        for word in chunk.split_whitespace() {
            add(word.trim_end_matches('*').to_lowercase());
        }
    }
    terms
}

/// Translates an AMQP topic pattern into a regular expression over `topic + "."`, where each
/// word is followed by its dot: `*` is one word, `#` zero or more.
pub fn topic_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    for word in pattern.split('.') {
        match word {
            "#" => re.push_str(r"(?:[^.]*\.)*"),
            "*" => re.push_str(r"[^.]*\."),
            w => {
                re.push_str(&regex_escape(w));
                re.push_str(r"\.");
            }
        }
    }
    re.push('$');
    re
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("chromium", "\"chromium\"")]
    #[case("koji  failed", "\"koji\" \"failed\"")]
    #[case("\"build failed\" spot", "\"build failed\" \"spot\"")]
    #[case("chrom*", "\"chrom\"*")]
    #[case("AND OR NOT NEAR(", "\"AND\" \"OR\" \"NOT\" \"NEAR(\"")]
    #[case("col:value", "\"col:value\"")]
    fn user_text_becomes_quoted_terms(#[case] text: &str, #[case] fts: &str) {
        assert_eq!(fts_query(text).expect("valid"), fts);
    }

    #[rstest]
    #[case("\"unbalanced")]
    #[case("   ")]
    #[case("\"\"")]
    fn bad_text_is_a_clear_error(#[case] text: &str) {
        assert!(matches!(fts_query(text), Err(HistoryError::BadQuery(_))));
    }

    #[test]
    fn queries_come_from_ipc_json_with_defaults() {
        let q: SearchQuery = serde_json::from_str("{}").expect("empty");
        assert_eq!(q, SearchQuery::default());
        assert_eq!(q.limit, 100);
        let q: SearchQuery = serde_json::from_value(serde_json::json!({
            "text": "kernel", "topic": null, "user": "alice", "package": null,
            "source": "koji", "severity_min": 30, "since": "2024-05-02T10:00:00Z",
            "until": null, "unread_only": true, "before": 12345, "limit": 20,
        }))
        .expect("full");
        assert_eq!(
            q,
            SearchQuery {
                text: Some("kernel".into()),
                user: Some("alice".into()),
                source: Some("koji".into()),
                severity_min: Some(30),
                since: Some(time::macros::datetime!(2024-05-02 10:00:00 UTC)),
                unread_only: true,
                before: Some(12345),
                limit: 20,
                ..SearchQuery::default()
            }
        );
        let bad = serde_json::from_value::<SearchQuery>(serde_json::json!({"since": "yesterday"}));
        assert!(bad.is_err());
    }

    #[test]
    fn pages_serialize_with_the_contract_field_names() {
        let hit = Hit {
            key: 7,
            id: "m".into(),
            topic: "a.b".into(),
            exchange: "amq.topic".into(),
            sent_at: time::macros::datetime!(2024-05-02 10:00:00 UTC),
            severity: 20,
            source: "koji".into(),
            kind: "k".into(),
            summary: "s".into(),
            url: None,
            users: vec!["alice".into()],
            packages: vec![],
            agent: None,
            rule: None,
            action: "history".into(),
            read: true,
            backfilled: false,
        };
        let page = Page {
            hits: vec![hit],
            next_before: Some(7),
        };
        assert_eq!(
            serde_json::to_value(&page).expect("json"),
            serde_json::json!({"hits": [{
                "key": 7, "id": "m", "topic": "a.b", "exchange": "amq.topic",
                "sent_at": "2024-05-02T10:00:00Z", "severity": 20, "source": "koji",
                "kind": "k", "summary": "s", "url": null, "users": ["alice"], "packages": [],
                "agent": null, "rule": null, "action": "history", "read": true,
                "backfilled": false,
            }], "next_before": 7})
        );
    }

    #[rstest]
    #[case("chromium", &["chromium"])]
    #[case("Koji  FAILED", &["koji", "failed"])]
    #[case("kern*", &["kern"])]
    #[case("\"Build   Failed\" spot", &["build failed", "spot"])]
    #[case("spot \"build failed", &["spot", "build failed"])]
    #[case("a a A", &["a"])]
    #[case("( - * \"\" \"...\"", &[])]
    #[case("python-twisted col:value", &["python-twisted", "col:value"])]
    #[case("Ünïcode", &["ünïcode"])]
    #[case("", &[])]
    fn highlight_terms_are_what_the_query_matches(#[case] text: &str, #[case] want: &[&str]) {
        assert_eq!(highlight_terms(text), want);
    }

    #[rstest]
    #[case("a.b", "a.b", true)]
    #[case("a.*", "a.b", true)]
    #[case("a.*", "a.b.c", false)]
    #[case("a.#", "a", true)]
    #[case("a.#", "a.b.c", true)]
    #[case("#.c", "c", true)]
    #[case("#.c", "a.b.c", true)]
    #[case("a.#.c", "a.c", true)]
    #[case("a.#.c", "a.x.y.c", true)]
    #[case("a.#.c", "a.x.y", false)]
    #[case("#", "anything.at.all", true)]
    #[case("*.b", "a.b", true)]
    #[case("a+b.c", "a+b.c", true)]
    #[case("a+b.c", "aab.c", false)]
    fn topic_patterns_follow_amqp(#[case] pattern: &str, #[case] topic: &str, #[case] ok: bool) {
        let re = topic_regex(pattern);
        assert_eq!(
            regex_lite_match(&re, &format!("{topic}.")),
            ok,
            "{pattern} ~ {topic} via {re}"
        );
    }

    /// Many `#`s against the longest routing key they do not match: the `regex` crate never
    /// backtracks, so this is as quick as any other pattern (a backtracking engine would try
    /// every way to share the 128 words among the six `#`s). The bound is loose, for debug
    /// builds on a busy machine; the exponential case takes minutes.
    #[test]
    fn many_hashes_match_in_linear_time() {
        let key = vec!["a"; 128].join(".");
        assert_eq!(key.len(), 255);
        let start = std::time::Instant::now();
        assert!(!regex_lite_match(
            &topic_regex("#.#.#.#.#.#.failed"),
            &format!("{key}.")
        ));
        assert!(regex_lite_match(
            &topic_regex("#.a.#.a.#.a.#.a.#.a"),
            &format!("{key}.")
        ));
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    /// SQLite's REGEXP is the `regex` crate; check through SQLite itself.
    fn regex_lite_match(re: &str, s: &str) -> bool {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            use sqlx::ConnectOptions;
            let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                .in_memory(true)
                .with_regexp()
                .connect()
                .await
                .expect("in-memory sqlite");
            sqlx::query_scalar::<_, bool>("SELECT ? REGEXP ?")
                .bind(s)
                .bind(re)
                .fetch_one(&mut c)
                .await
                .expect("regexp")
        })
    }
}
