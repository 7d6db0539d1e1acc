//! Facets for the history window: how the newest messages matching a search divide by source,
//! severity, user and package, so the filters can show what narrowing would leave.
//!
//! The counts cover at most the newest [`FACET_ROWS`] matches. The window asks on every
//! (debounced) keystroke, so the cost must not grow with the history: walking a bounded
//! newest-first prefix costs the same on a thousand rows as on a million.

use super::search::{push_filtered, search_error};
use super::{HistoryStore, SearchQuery};
use crate::error::HistoryError;
use serde::Serialize;
use sqlx::{QueryBuilder, Row, Sqlite};

/// How many of the newest matches the counts cover.
pub const FACET_ROWS: u32 = 5_000;
/// How many users and packages are listed (the most frequent).
pub const FACET_TOP_NAMES: u32 = 20;

/// One facet value and how many of the scanned messages have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FacetCount {
    pub value: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// Counts over the newest `scanned` messages matching a search. Each list runs from the most
/// frequent value down (ties by value); severities are their numbers as text (`"40"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Facets {
    pub sources: Vec<FacetCount>,
    pub severities: Vec<FacetCount>,
    /// The [`FACET_TOP_NAMES`] most frequent.
    pub users: Vec<FacetCount>,
    /// The [`FACET_TOP_NAMES`] most frequent.
    pub packages: Vec<FacetCount>,
    /// How many messages were counted.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub scanned: u64,
    /// Whether those were all the matches (fewer than [`FACET_ROWS`]).
    pub complete: bool,
}

impl HistoryStore {
    /// Facet counts over the newest [`FACET_ROWS`] messages matching `q`; its `before` and
    /// `limit` are ignored (the counts describe the search, not the page on screen).
    pub async fn facets(&self, q: &SearchQuery) -> Result<Facets, HistoryError> {
        let q = SearchQuery {
            before: None,
            ..q.clone()
        };
        if self.topic_matches_nothing(&q).await? {
            return Ok(Facets {
                complete: true,
                ..Facets::default()
            });
        }
        // One statement: the matching prefix is read once into a temporary table, and every
        // count is taken from it. Names come from the stored JSON lists; a list that is not
        // valid JSON counts as empty rather than failing the whole answer.
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "WITH s AS MATERIALIZED (SELECT m.source, m.severity, m.users, m.packages",
        );
        let key = push_filtered(&mut b, &q)?;
        b.push(format!(" ORDER BY {key} DESC LIMIT {FACET_ROWS})"));
        b.push(format!(
            " SELECT 0, '', COUNT(*) FROM s \
             UNION ALL SELECT * FROM (SELECT 1, source, COUNT(*) AS n FROM s \
                 GROUP BY source ORDER BY n DESC, source) \
             UNION ALL SELECT * FROM (SELECT 2, CAST(severity AS TEXT), COUNT(*) AS n FROM s \
                 GROUP BY severity ORDER BY n DESC, severity DESC) \
             UNION ALL SELECT * FROM (SELECT 3, j.value, COUNT(*) AS n FROM s, \
                 json_each(iif(json_valid(s.users), s.users, '[]')) j \
                 GROUP BY j.value ORDER BY n DESC, j.value LIMIT {FACET_TOP_NAMES}) \
             UNION ALL SELECT * FROM (SELECT 4, j.value, COUNT(*) AS n FROM s, \
                 json_each(iif(json_valid(s.packages), s.packages, '[]')) j \
                 GROUP BY j.value ORDER BY n DESC, j.value LIMIT {FACET_TOP_NAMES})"
        ));
        let rows = b
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(search_error(&q, "facets"))?;
        let mut out = Facets::default();
        for row in rows {
            let e = || HistoryError::query("read facets");
            let facet: i64 = row.try_get(0).map_err(e())?;
            let value: String = row.try_get(1).map_err(e())?;
            let count: i64 = row.try_get(2).map_err(e())?;
            let count = u64::try_from(count).unwrap_or(0);
            let list = match facet {
                0 => {
                    out.scanned = count;
                    continue;
                }
                1 => &mut out.sources,
                2 => &mut out.severities,
                3 => &mut out.users,
                _ => &mut out.packages,
            };
            list.push(FacetCount { value, count });
        }
        out.complete = out.scanned < u64::from(FACET_ROWS);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::{entry, envelope, store};
    use crate::history::Entry;

    fn counts(list: &[FacetCount]) -> Vec<(&str, u64)> {
        list.iter().map(|c| (c.value.as_str(), c.count)).collect()
    }

    /// Koji-style build messages: `i` picks the user, package and severity.
    fn message(i: i64, user: &str, pkg: &str, severity: i64) -> Entry {
        entry(envelope(
            Some(&format!("f{i}")),
            "org.example.prod.widgets.build",
            serde_json::json!({
                format!("fedora_messaging_user_{user}"): true,
                format!("fedora_messaging_rpm_{pkg}"): true,
                "fedora_messaging_severity": severity,
            }),
            &format!("{{\"note\": \"widget {pkg} {i}\"}}"),
            1_700_000_000 + i,
        ))
    }

    #[tokio::test]
    async fn facets_count_the_matching_messages() {
        let (_d, s) = store().await;
        let batch = vec![
            message(0, "alice", "kernel", 20),
            message(1, "bob", "kernel", 40),
            message(2, "alice", "glibc", 40),
            message(3, "carol", "kernel", 20),
            message(4, "alice", "gcc", 30),
        ];
        s.insert_batch(&batch).await.expect("insert");
        let all = s.facets(&SearchQuery::default()).await.expect("facets");
        assert_eq!((all.scanned, all.complete), (5, true));
        assert_eq!(counts(&all.sources), [("unknown", 5)]);
        assert_eq!(counts(&all.severities), [("40", 2), ("20", 2), ("30", 1)]);
        assert_eq!(counts(&all.users), [("alice", 3), ("bob", 1), ("carol", 1)]);
        assert_eq!(
            counts(&all.packages),
            [("kernel", 3), ("gcc", 1), ("glibc", 1)]
        );

        // Filters narrow the counts; paging and page size do not.
        let kernel = s
            .facets(&SearchQuery {
                text: Some("kernel".into()),
                severity_min: Some(30),
                before: Some(0),
                limit: 1,
                ..SearchQuery::default()
            })
            .await
            .expect("facets");
        assert_eq!(kernel.scanned, 1);
        assert_eq!(counts(&kernel.users), [("bob", 1)]);
        s.mark_read(&["f4".to_owned(), "f3".to_owned()])
            .await
            .expect("mark");
        let unread = s
            .facets(&SearchQuery {
                unread_only: true,
                user: Some("alice".into()),
                ..SearchQuery::default()
            })
            .await
            .expect("facets");
        assert_eq!(counts(&unread.packages), [("glibc", 1), ("kernel", 1)]);
        let none = s
            .facets(&SearchQuery {
                source: Some("koji".into()),
                ..SearchQuery::default()
            })
            .await
            .expect("facets");
        assert_eq!(
            none,
            Facets {
                complete: true,
                ..Facets::default()
            }
        );
        for (pattern, scanned) in [("org.example.*.widgets.#", 5), ("org.nothing.#", 0)] {
            let by_topic = s
                .facets(&SearchQuery {
                    topic: Some(pattern.into()),
                    ..SearchQuery::default()
                })
                .await
                .expect("facets");
            assert_eq!(
                (by_topic.scanned, by_topic.complete),
                (scanned, true),
                "{pattern}"
            );
        }
        assert!(matches!(
            s.facets(&SearchQuery {
                text: Some("\"open".into()),
                ..SearchQuery::default()
            })
            .await,
            Err(HistoryError::BadQuery(_))
        ));
    }

    #[tokio::test]
    async fn facets_cover_only_the_newest_rows_and_the_top_names() {
        let (_d, s) = store().await;
        let n = i64::from(FACET_ROWS) + 500;
        let batch: Vec<Entry> = (0..n)
            .map(|i| {
                // The oldest 500 all name `old-user`, which must not be counted.
                let user = if i < 500 {
                    "old-user".to_owned()
                } else {
                    format!("user{}", i % 30)
                };
                message(i, &user, "kernel", 20)
            })
            .collect();
        s.insert_batch(&batch).await.expect("insert");
        let f = s.facets(&SearchQuery::default()).await.expect("facets");
        assert_eq!(f.scanned, u64::from(FACET_ROWS));
        assert!(!f.complete);
        assert_eq!(counts(&f.packages), [("kernel", u64::from(FACET_ROWS))]);
        assert_eq!(f.users.len(), FACET_TOP_NAMES as usize);
        let mut want: std::collections::BTreeMap<String, u64> = Default::default();
        for i in 500..n {
            *want.entry(format!("user{}", i % 30)).or_default() += 1;
        }
        let mut want: Vec<(String, u64)> = want.into_iter().collect();
        want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        want.truncate(FACET_TOP_NAMES as usize);
        let got: Vec<(String, u64)> = f.users.into_iter().map(|c| (c.value, c.count)).collect();
        assert_eq!(got, want);
    }
}
