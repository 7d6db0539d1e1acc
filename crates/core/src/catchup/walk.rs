//! The time-cursor walk over an archive window. datagrepper pages with `LIMIT/OFFSET` ordered
//! by a one-second timestamp and no tie-breaker, so deep offsets are slow and shift under
//! concurrent inserts. The walk therefore moves a time cursor instead: each request starts at
//! the second of the last row seen (page 1), and only when a whole page falls within one
//! second does it page through that second alone (`start = end = second`), then step past it.
//! A row seen twice on the way is expected; the store drops it by id.

use serde::{Deserialize, Serialize};

/// Rows per request: datagrepper refuses more than 100.
pub const ROWS_PER_PAGE: u32 = 100;

/// Where a walk stands; saved after every page so an interrupted catch-up resumes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The first second (Unix time) still to fetch.
    pub second: i64,
    /// Paging through the rows of `second` alone: the page to ask for next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_page: Option<u32>,
}

/// One request of a walk: `[start, end]` inclusive, one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub start: i64,
    pub end: i64,
    pub page: u32,
}

/// A walk over `[start, end]` (Unix seconds, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Walk {
    pub start: i64,
    pub end: i64,
    pub cursor: Cursor,
}

impl Walk {
    pub fn new(start: i64, end: i64) -> Walk {
        Walk {
            start,
            end,
            cursor: Cursor {
                second: start,
                tie_page: None,
            },
        }
    }

    /// The next request, or `None` when the window is walked.
    pub fn next_request(&self) -> Option<Request> {
        if self.cursor.second > self.end {
            return None;
        }
        Some(match self.cursor.tie_page {
            Some(page) => Request {
                start: self.cursor.second,
                end: self.cursor.second,
                page,
            },
            None => Request {
                start: self.cursor.second,
                end: self.end,
                page: 1,
            },
        })
    }

    /// Moves past a page answered for [`next_request`](Self::next_request). `rows` is how
    /// many rows came back and `last_second` the timestamp of the last one (rows come in
    /// ascending time order); `None` when the row named no time.
    pub fn advance(&mut self, rows: usize, last_second: Option<i64>) {
        let full = rows >= ROWS_PER_PAGE as usize;
        match self.cursor.tie_page {
            Some(page) if full => self.cursor.tie_page = Some(page + 1),
            Some(_) => self.step_past(self.cursor.second),
            None if !full => self.cursor.second = self.end + 1,
            None => match last_second {
                // A later second: start again there (its first rows come back once more).
                Some(t) if t > self.cursor.second => {
                    self.cursor.second = t.min(self.end + 1);
                }
                // A whole page within the cursor's second (or rows without a time): page
                // through that second alone, from its first page, with the same query shape.
                _ => self.cursor.tie_page = Some(1),
            },
        }
    }

    fn step_past(&mut self, second: i64) {
        self.cursor = Cursor {
            second: second + 1,
            tie_page: None,
        };
    }

    /// Whether nothing is left to fetch.
    pub fn is_done(&self) -> bool {
        self.next_request().is_none()
    }

    /// The share of the window's seconds behind the cursor, for a progress bar when the
    /// archive gives no total.
    pub fn fraction(&self) -> f64 {
        let span = (self.end - self.start + 1).max(1) as f64;
        ((self.cursor.second - self.start) as f64 / span).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks an archive given as sorted seconds, answering requests as datagrepper would
    /// (LIMIT/OFFSET over the rows within `[start, end]`); returns the distinct rows seen and
    /// the number of requests.
    fn walk_over(rows: &[i64], start: i64, end: i64) -> (Vec<usize>, usize) {
        let mut walk = Walk::new(start, end);
        let mut seen = std::collections::BTreeSet::new();
        let mut requests = 0;
        while let Some(r) = walk.next_request() {
            requests += 1;
            assert!(requests < 10_000, "the walk does not end");
            let matching: Vec<usize> = (0..rows.len())
                .filter(|&i| rows[i] >= r.start && rows[i] <= r.end)
                .collect();
            let skip = (r.page as usize - 1) * ROWS_PER_PAGE as usize;
            let page: Vec<usize> = matching
                .into_iter()
                .skip(skip)
                .take(ROWS_PER_PAGE as usize)
                .collect();
            seen.extend(page.iter().copied());
            walk.advance(page.len(), page.last().map(|&i| rows[i]));
        }
        (seen.into_iter().collect(), requests)
    }

    #[test]
    fn every_row_of_the_window_is_seen_with_ties_over_a_page() {
        // 250 rows in one second between sparse ones, and 100 exactly in another.
        let mut rows: Vec<i64> = (0..40).map(|i| 1000 + i * 7).collect();
        rows.extend(std::iter::repeat_n(1300, 250));
        rows.extend(std::iter::repeat_n(1301, 100));
        rows.extend((0..30).map(|i| 1400 + i));
        rows.sort_unstable();
        let (seen, requests) = walk_over(&rows, 1000, 2000);
        assert_eq!(seen.len(), rows.len(), "every row once at least");
        // A page per 100 rows, plus the refetch at each cursor move: far from one per row.
        assert!(requests <= 12, "{requests} requests");
    }

    #[test]
    fn window_edges_are_inclusive_and_nothing_outside_is_asked_for() {
        let rows = vec![999, 1000, 1000, 1500, 2000, 2001];
        let mut walk = Walk::new(1000, 2000);
        let first = walk.next_request().expect("a request");
        assert_eq!((first.start, first.end, first.page), (1000, 2000, 1));
        let (seen, requests) = walk_over(&rows, 1000, 2000);
        assert_eq!(seen, vec![1, 2, 3, 4]);
        assert_eq!(requests, 1);
        walk.advance(4, Some(2000));
        assert!(walk.is_done());
    }

    #[test]
    fn an_empty_window_takes_one_request_and_a_saved_cursor_resumes() {
        assert_eq!(walk_over(&[], 0, 86_400).1, 1);
        let mut rows: Vec<i64> = std::iter::repeat_n(5, 230).collect();
        rows.extend([6, 7]);
        let mut walk = Walk::new(0, 10);
        walk.advance(100, Some(5));
        walk.advance(100, Some(5));
        assert_eq!(walk.cursor.tie_page, Some(1));
        // Saved and read back (as an interrupted catch-up does), then finished.
        let json = serde_json::to_string(&walk).expect("save");
        let mut resumed: Walk = serde_json::from_str(&json).expect("load");
        let mut seen = 0;
        while let Some(r) = resumed.next_request() {
            let n = rows
                .iter()
                .filter(|&&s| s >= r.start && s <= r.end)
                .skip((r.page as usize - 1) * 100)
                .take(100)
                .count();
            seen += n;
            let last = rows
                .iter()
                .filter(|&&s| s >= r.start && s <= r.end)
                .skip((r.page as usize - 1) * 100)
                .take(100)
                .last()
                .copied();
            resumed.advance(n, last);
        }
        assert_eq!(
            seen, 232,
            "the tied second paged through once, then the rest"
        );
        assert!((resumed.fraction() - 1.0).abs() < f64::EPSILON);
    }
}
