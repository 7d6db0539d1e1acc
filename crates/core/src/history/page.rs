//! One page of a search for the history window, answered within a time budget.
//!
//! Most searches fill a page from the newest messages in a millisecond or two. One that
//! matches little or nothing would otherwise walk the whole history before it answers: a
//! second on a million messages for a common word with a source it never appears with. So a
//! page is searched in slices of row keys (which follow send time), newest first, each as wide
//! as the time left allows judging by the last; once the budget is spent it answers with what
//! it found and where the next request goes on (`next_before`), and the list asks again. Every answer comes within about
//! the budget, and nothing is skipped or found twice.

use std::time::{Duration, Instant};

use sqlx::{QueryBuilder, Sqlite};

use super::search::{hit_from_row, push_filtered, search_error, Hit, Page, HIT_COLUMNS};
use super::{rowid_base, HistoryStore, SearchQuery, ROWID_SHIFT};
use crate::error::HistoryError;

/// How long one page may search before it answers with what it found so far.
pub const PAGE_BUDGET: Duration = Duration::from_millis(60);

/// The first slice of row keys a page searches: one day of send time.
const FIRST_SPAN: i64 = 86_400 << ROWID_SHIFT;
/// Each further slice is at most this many times wider, so a page over ten years of history
/// takes about seven slices when time allows.
const GROWTH: i64 = 4;

/// The span of the next slice: as wide as the time left should allow, judging by what the
/// last slice of `span` keys took, and at most [`GROWTH`] times wider; never narrower than an
/// hour, since a slice costs a statement whatever its width.
fn next_span(span: i64, took: Duration, left: Duration) -> i64 {
    let fits = left.as_secs_f64() / took.as_secs_f64().max(1e-6);
    let factor = fits.min(GROWTH as f64);
    // Row keys stay far below 2^53, where f64 is exact enough for a width.
    let next = (span as f64 * factor) as i64;
    next.max(FIRST_SPAN / 24)
}

impl HistoryStore {
    /// One page of a search, newest first, with the cursor of the next page, answered within
    /// about [`PAGE_BUDGET`] (see the module notes). A page may hold fewer hits than asked
    /// for and still have a `next_before`: the search goes on from there.
    pub async fn page(&self, q: &SearchQuery) -> Result<Page, HistoryError> {
        self.page_within(q, PAGE_BUDGET).await
    }

    /// [`HistoryStore::page`] with another budget; `Duration::MAX` fills the page (or ends
    /// the history) whatever it takes.
    pub async fn page_within(
        &self,
        q: &SearchQuery,
        budget: Duration,
    ) -> Result<Page, HistoryError> {
        if self.topic_matches_nothing(q).await? {
            return Ok(Page {
                hits: Vec::new(),
                next_before: None,
            });
        }
        let limit = usize::try_from(q.limit.max(1)).unwrap_or(usize::MAX);
        // Two subqueries: SQLite finds a lone MIN or MAX with one seek, but scans the whole
        // table for the pair.
        let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT MIN(rowid) FROM messages), (SELECT MAX(rowid) FROM messages)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(HistoryError::query("find the history's key range"))?;
        // An empty history still runs the query once, so a bad one is reported.
        let floor = match (first, q.since) {
            (Some(first), Some(since)) => first.max(rowid_base(since.unix_timestamp())),
            (Some(first), None) => first,
            (None, _) => i64::MAX,
        };
        let mut upper = q
            .before
            .unwrap_or(i64::MAX)
            .min(last.map_or(i64::MAX, |k| k.saturating_add(1)));
        if let Some(until) = q.until {
            upper = upper.min(rowid_base(until.unix_timestamp().saturating_add(1)));
        }
        let started = Instant::now();
        let mut span = FIRST_SPAN;
        let mut hits = Vec::new();
        loop {
            let lower = upper.saturating_sub(span);
            let oldest = lower <= floor;
            let wanted = limit - hits.len();
            let sliced = Instant::now();
            hits.extend(
                self.slice(q, upper, (!oldest).then_some(lower), wanted)
                    .await?,
            );
            let took = sliced.elapsed();
            if hits.len() >= limit {
                let next_before = hits.last().map(|h| h.key);
                return Ok(Page { hits, next_before });
            }
            if oldest {
                return Ok(Page {
                    hits,
                    next_before: None,
                });
            }
            upper = lower;
            let Some(left) = budget
                .checked_sub(started.elapsed())
                .filter(|l| !l.is_zero())
            else {
                return Ok(Page {
                    hits,
                    next_before: Some(upper),
                });
            };
            span = next_span(span, took, left);
        }
    }

    /// The newest `limit` hits of `q` with keys in `[lower, upper)` (no lower bound when
    /// `None`).
    pub(super) async fn slice(
        &self,
        q: &SearchQuery,
        upper: i64,
        lower: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Hit>, HistoryError> {
        let q = SearchQuery {
            before: Some(upper),
            ..q.clone()
        };
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT ");
        b.push(HIT_COLUMNS);
        let key = push_filtered(&mut b, &q)?;
        if let Some(lower) = lower {
            b.push(format!(" AND {key} >= "));
            b.push_bind(lower);
        }
        b.push(format!(" ORDER BY {key} DESC LIMIT "));
        b.push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = b
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(search_error(&q, "search"))?;
        rows.iter().map(hit_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::tests::{entry, envelope, store};
    use crate::history::Entry;
    use time::OffsetDateTime;

    const DAY: i64 = 86_400;
    const START: i64 = 1_600_000_000;

    /// 120 messages three days apart (about a year); every seventh mentions a needle.
    async fn spread() -> (tempfile::TempDir, HistoryStore) {
        let (dir, s) = store().await;
        let batch: Vec<Entry> = (0..120)
            .map(|i| {
                let word = if i % 7 == 0 { "needle" } else { "hay" };
                entry(envelope(
                    Some(&format!("m{i}")),
                    "org.example.prod.thing",
                    serde_json::json!({}),
                    &format!("{{\"note\": \"{word} {i}\"}}"),
                    START + i * 3 * DAY,
                ))
            })
            .collect();
        s.insert_batch(&batch).await.expect("insert");
        (dir, s)
    }

    /// Pages of `q` under `budget` until the last: their ids in order, and how many pages
    /// were short but went on.
    async fn walk(s: &HistoryStore, q: &SearchQuery, budget: Duration) -> (Vec<String>, usize) {
        let mut q = q.clone();
        let mut ids = Vec::new();
        let mut went_on_short = 0;
        for _ in 0..1000 {
            let page = s.page_within(&q, budget).await.expect("page");
            let full = page.hits.len() >= q.limit as usize;
            ids.extend(page.hits.iter().map(|h| h.id.clone()));
            match page.next_before {
                Some(next) => {
                    if !full {
                        went_on_short += 1;
                    }
                    assert!(q.before.is_none_or(|b| next < b), "the cursor moves on");
                    q.before = Some(next);
                }
                None => return (ids, went_on_short),
            }
        }
        panic!("paging never ended");
    }

    fn ids(hits: Vec<Hit>) -> Vec<String> {
        hits.into_iter().map(|h| h.id).collect()
    }

    #[tokio::test]
    async fn a_page_out_of_time_answers_with_what_it_found_and_where_to_go_on() {
        let (_d, s) = spread().await;
        let cases = [
            SearchQuery {
                text: Some("needle".into()),
                limit: 5,
                ..SearchQuery::default()
            },
            SearchQuery {
                text: Some("nothing-like-it".into()),
                ..SearchQuery::default()
            },
            SearchQuery {
                limit: 7,
                since: OffsetDateTime::from_unix_timestamp(START + 40 * DAY).ok(),
                until: OffsetDateTime::from_unix_timestamp(START + 200 * DAY).ok(),
                ..SearchQuery::default()
            },
        ];
        for q in cases {
            let everything = ids(s
                .search(&SearchQuery {
                    limit: 10_000,
                    ..q.clone()
                })
                .await
                .expect("search"));
            // No time at all: one slice per request, so every request ends early.
            let (hurried, short) = walk(&s, &q, Duration::ZERO).await;
            assert_eq!(hurried, everything, "{q:?}");
            assert!(short > 0, "some pages went on before they were full: {q:?}");
            // All the time it takes: only full pages go on.
            let (patient, short) = walk(&s, &q, Duration::MAX).await;
            assert_eq!(patient, everything, "{q:?}");
            assert_eq!(short, 0, "{q:?}");
        }
    }

    #[test]
    fn slices_widen_as_far_as_the_time_left_allows() {
        let ms = Duration::from_millis;
        assert_eq!(next_span(FIRST_SPAN, ms(10), ms(30)), FIRST_SPAN * 3);
        assert_eq!(next_span(FIRST_SPAN, ms(1), ms(1000)), FIRST_SPAN * GROWTH);
        assert_eq!(next_span(FIRST_SPAN * 8, ms(40), ms(10)), FIRST_SPAN * 2);
        assert_eq!(next_span(FIRST_SPAN, ms(100), ms(1)), FIRST_SPAN / 24);
        assert_eq!(
            next_span(FIRST_SPAN, Duration::ZERO, Duration::MAX),
            FIRST_SPAN * GROWTH,
            "an instant slice"
        );
    }

    #[tokio::test]
    async fn the_first_slice_is_the_newest_day_of_the_history_not_of_the_clock() {
        let (_d, s) = spread().await;
        // The newest message is months in the past; it is still found by the first request.
        let page = s
            .page_within(
                &SearchQuery {
                    limit: 1,
                    ..SearchQuery::default()
                },
                Duration::ZERO,
            )
            .await
            .expect("page");
        assert_eq!(ids(page.hits), ["m119"]);
        // An empty history answers at once, and a bad query is still refused.
        let (_e, empty) = store().await;
        let none = empty
            .page_within(&SearchQuery::default(), Duration::ZERO)
            .await
            .expect("page");
        assert_eq!((none.hits.len(), none.next_before), (0, None));
        let bad = empty
            .page(&SearchQuery {
                text: Some("\"unclosed".into()),
                ..SearchQuery::default()
            })
            .await;
        assert!(matches!(bad, Err(HistoryError::BadQuery(_))), "{bad:?}");
    }
}
