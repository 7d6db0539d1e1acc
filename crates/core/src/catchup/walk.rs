//! The time-cursor walk over an archive window. datagrepper pages with `LIMIT/OFFSET` ordered
//! by a one-second timestamp and no tie-breaker, so deep offsets are slow and shift under
//! concurrent inserts. The walk therefore moves a time cursor instead: each request starts at
//! the second of the last row seen (page 1), and only when a whole page falls within one
//! second does it page through that second alone (`start = end = second`), then step past it.
//! A row seen twice on the way is expected; the store drops it by id.
//!
//! Every request also counts the rows of its whole `[start, end]` on the server, so a request
//! never reaches past a slice of the window: the slice halves when a page fills within it and
//! doubles (up to six hours) when a page comes back short, so a busy hour is asked for in
//! small steps and a quiet day in few. Each request's end covers its last second whole
//! ([`Request::end`] is inclusive to the microsecond), as archive timestamps may carry
//! fractions.

use serde::{Deserialize, Serialize};

/// Rows per request: datagrepper refuses more than 100.
pub const ROWS_PER_PAGE: u32 = 100;
/// The first slice of a window, in seconds: about a page of the whole Fedora bus.
const FIRST_SLICE: i64 = 15 * 60;
const MAX_SLICE: i64 = 6 * 3600;

/// Where a walk stands; saved after every page so an interrupted catch-up resumes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The first second (Unix time) still to fetch.
    pub second: i64,
    /// Paging through the rows of `second` alone: the page to ask for next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_page: Option<u32>,
}

/// One request of a walk: from `start` to the end of second `end` (both Unix seconds), one
/// page.
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
    /// Seconds the next request may span.
    #[serde(default = "first_slice")]
    pub slice: i64,
}

fn first_slice() -> i64 {
    FIRST_SLICE
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
            slice: FIRST_SLICE,
        }
    }

    /// The last second the next plain request covers.
    fn slice_end(&self) -> i64 {
        self.end
            .min(self.cursor.second.saturating_add(self.slice.max(1) - 1))
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
                end: self.slice_end(),
                page: 1,
            },
        })
    }

    /// Moves past a page answered for [`next_request`](Self::next_request): `more` when the
    /// request matched more rows than the page held, and `last_second` the timestamp of the
    /// page's last row (rows come in ascending time order); `None` when it named no time.
    pub fn advance(&mut self, more: bool, last_second: Option<i64>) {
        match self.cursor.tie_page {
            Some(page) if more => self.cursor.tie_page = Some(page + 1),
            Some(_) => self.step_past(self.cursor.second),
            None if !more => {
                let end = self.slice_end();
                self.step_past(end);
                self.slice = (self.slice * 2).min(MAX_SLICE);
            }
            None => match last_second {
                // A later second: start again there (its first rows come back once more).
                Some(t) if t > self.cursor.second => {
                    self.cursor.second = t.min(self.end + 1);
                    self.slice = (self.slice / 2).max(1);
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
            let more =
                skip + page.len() < rows.iter().filter(|&&s| s >= r.start && s <= r.end).count();
            walk.advance(more, page.last().map(|&i| rows[i]));
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
        // A sparse day: few requests, each no wider than the slice it grew to.
        let day: Vec<i64> = (0..300).map(|i| i * 280).collect();
        let (seen, requests) = walk_over(&day, 0, 86_399);
        assert_eq!(seen.len(), 300);
        assert!(requests <= 12, "{requests} requests for a sparse day");
    }

    #[test]
    fn window_edges_are_inclusive_and_nothing_outside_is_asked_for() {
        let rows = vec![999, 1000, 1000, 1500, 2000, 2001];
        let mut walk = Walk::new(1000, 2000);
        let first = walk.next_request().expect("a request");
        assert_eq!(
            (first.start, first.end, first.page),
            (1000, 1899, 1),
            "one slice"
        );
        let (seen, requests) = walk_over(&rows, 1000, 2000);
        assert_eq!(seen, vec![1, 2, 3, 4]);
        assert_eq!(requests, 2);
        walk.advance(false, Some(1500));
        let second = walk.next_request().expect("the rest");
        assert_eq!(
            (second.start, second.end),
            (1900, 2000),
            "never past the window"
        );
        walk.advance(false, Some(2000));
        assert_eq!(walk.next_request(), None);
    }

    #[test]
    fn an_empty_window_takes_one_request_and_a_saved_cursor_resumes() {
        assert!(
            walk_over(&[], 0, 86_400).1 <= 8,
            "an empty day in few slices"
        );
        let mut rows: Vec<i64> = std::iter::repeat_n(5, 230).collect();
        rows.extend([6, 7]);
        let mut walk = Walk::new(0, 10);
        walk.advance(true, Some(5));
        walk.advance(true, Some(5));
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
            let all = rows.iter().filter(|&&s| s >= r.start && s <= r.end).count();
            resumed.advance((r.page as usize - 1) * 100 + n < all, last);
        }
        assert_eq!(
            seen, 232,
            "the tied second paged through once, then the rest"
        );
        assert_eq!(resumed.next_request(), None);
    }
}
