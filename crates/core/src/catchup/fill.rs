//! Filling a window from the archive, one page at a time: every row goes through the same
//! path as a live delivery (decode → render → the connection's rules → the history), marked
//! back-filled, and the history drops what it already holds by id, so overlap with live
//! deliveries or an earlier walk costs nothing but the fetch.

use super::archive::{Archive, Query, ROWS};
use super::job::{Counts, Job};
use crate::error::ArchiveError;
use crate::filter::{Action, RuleSet, Subject};
use crate::history::{Entry, HistoryStore};
use crate::message::{parse_time, Message};
use crate::notify::Candidate;
use crate::sources::RenderContext;
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// Fills jobs for one connection's rules.
#[derive(Debug)]
pub struct Filler<'a> {
    pub store: &'a HistoryStore,
    pub archive: &'a mut Archive,
    pub rules: &'a RuleSet,
    pub ctx: &'a RenderContext,
    /// What to ask the archive for (what the rules can keep).
    pub narrow: super::Narrow,
    /// Count what would be stored, write nothing.
    pub dry_run: bool,
    /// The ids of the last pages: the time cursor asks for the rows of its second again, and
    /// those repeats are the walk's own, not news (nor counted twice).
    pub recent: Recent,
}

/// The ids of the last two pages.
#[derive(Debug, Default)]
pub struct Recent(std::collections::VecDeque<std::collections::HashSet<String>>);

impl Recent {
    fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|p| p.contains(id))
    }

    fn push(&mut self, page: std::collections::HashSet<String>) {
        if self.0.len() == 2 {
            self.0.pop_front();
        }
        self.0.push_back(page);
    }
}

/// What one page did.
#[derive(Debug, Default)]
pub struct Page {
    pub counts: Counts,
    /// Stored messages a rule marked notify (new ones only).
    pub notify: Vec<Candidate>,
}

impl Filler<'_> {
    /// Fetches and stores the next page of `job`, moving its cursor; `None` once the window
    /// is walked. The job's counts include the page.
    pub async fn next_page(&mut self, job: &mut Job) -> Result<Option<Page>, ArchiveError> {
        let Some(request) = job.walk.next_request() else {
            return Ok(None);
        };
        let query = |start, end, page, rows| Query {
            start,
            end,
            rows,
            page,
            topics: self.narrow.topics.clone(),
            categories: self.narrow.categories.clone(),
        };
        if job.total.is_none() && job.walk.cursor.second == job.walk.start {
            // One count of the whole window (a page of one row), for "2,300 / 5,100"; the
            // walk's own requests never span more than a slice.
            let count = self
                .archive
                .search(&query(job.walk.start, job.walk.end, 1, 1))
                .await?;
            job.total = count.total;
        }
        let answer = self
            .archive
            .search(&query(request.start, request.end, request.page, ROWS))
            .await?;
        let last_second = answer.rows.last().and_then(row_second);
        let n = answer.rows.len() as u64;
        let before = u64::from(request.page - 1) * u64::from(ROWS);
        let more = n >= u64::from(ROWS) || answer.total.is_some_and(|t| t > before + n);
        let page = self.take(&answer.rows).await?;
        job.walk.advance(more, last_second);
        job.counts.add(page.counts);
        Ok(Some(page))
    }

    async fn take(&mut self, rows: &[Value]) -> Result<Page, ArchiveError> {
        let now = OffsetDateTime::now_utc();
        let mut page = Page::default();
        let mut entries = Vec::with_capacity(rows.len());
        let mut ids = std::collections::HashSet::new();
        for row in rows {
            let id = row.get("id").and_then(Value::as_str).unwrap_or_default();
            if !id.is_empty() && (self.recent.contains(id) || !ids.insert(id.to_owned())) {
                continue;
            }
            page.counts.fetched += 1;
            let topic = row.get("topic").and_then(Value::as_str).unwrap_or_default();
            if !self.narrow.admits(topic) {
                // Live, the broker would never have routed it here.
                page.counts.dropped += 1;
                continue;
            }
            let entry = match crate::recorded::from_record(row, now) {
                Ok(env) => {
                    let mut msg = Message::decode(env);
                    msg.backfilled = true;
                    Entry::new(msg, self.ctx)
                }
                Err(reason) => {
                    // A row the archive should never hold; say so once per row, keep going.
                    tracing::warn!(%reason, "archive row skipped");
                    continue;
                }
            };
            match judge(entry, self.rules) {
                Ok(e) => entries.push(e),
                Err(_) => page.counts.dropped += 1,
            }
        }
        self.recent.push(ids);
        if self.dry_run {
            let ids: Vec<&str> = entries.iter().map(Entry::id).collect();
            let known = self.store.known_ids(&ids).await?;
            let mut fresh = std::collections::HashSet::new();
            for id in ids {
                if known.contains(id) || !fresh.insert(id) {
                    page.counts.known += 1;
                } else {
                    page.counts.stored += 1;
                }
            }
            return Ok(page);
        }
        let (report, added) = self.store.insert_batch_new(&entries).await?;
        page.counts.stored = (report.stored + report.quarantined) as u64;
        page.counts.known = report.duplicates as u64;
        let mut offered = std::collections::HashSet::new();
        for e in &entries {
            if let Entry::Stored(s) = e {
                if s.action == Action::Notify
                    && added.contains(&s.msg.id)
                    && offered.insert(s.msg.id.as_str())
                {
                    page.notify.push(Candidate::from_stored(s));
                }
            }
        }
        Ok(page)
    }
}

/// Applies the rules to a decoded message, the one decision live deliveries and back-filled
/// rows share: the entry to write (with its action and rule), or the entry a rule dropped
/// with that rule. Quarantined entries are always written.
pub fn judge(mut entry: Entry, rules: &RuleSet) -> Result<Entry, (Entry, Option<Arc<str>>)> {
    if let Entry::Stored(s) = &mut entry {
        let decision = rules.evaluate(&Subject::of(s));
        if decision.action == Action::Drop {
            return Err((entry, decision.rule));
        }
        s.action = decision.action;
        s.rule = decision.rule;
    }
    Ok(entry)
}

/// The second a row was sent, as the archive orders by it.
fn row_second(row: &Value) -> Option<i64> {
    let sent = row.get("headers")?.get("sent-at")?.as_str()?;
    parse_time(sent).map(OffsetDateTime::unix_timestamp)
}
