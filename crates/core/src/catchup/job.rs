//! What Herald remembers per connection to know a gap and to fill it across restarts: the last
//! live message it committed, how the previous session went away, and the catch-up jobs still
//! to walk (each with its saved cursor and counts). All of it lives in the history's `state`
//! table, next to the messages it describes.

use super::walk::Walk;
use crate::error::HistoryError;
use crate::history::HistoryStore;
use serde::{Deserialize, Serialize};

/// Seconds before the last live message and after the first one back that a gap also covers:
/// publishers' clocks and the archive's one-second timestamps are not exact, and what the
/// window takes twice the store drops by id.
pub const MARGIN: i64 = 120;
/// The part of a window's end fetched again later.
pub const TAIL_SPAN: i64 = 600;

/// The newest live message committed on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveMark {
    /// Its `sent-at` (Unix seconds), at most its arrival time.
    pub sent_at: i64,
    /// When it was committed (Unix seconds, this machine's clock).
    pub committed_at: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Alive {
    at: i64,
}

/// How a connection's previous session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Absence {
    /// Herald stopped cleanly.
    Stopped,
    /// Herald was running and never said it stopped: a crash, a kill or a power loss.
    Crashed,
    /// The broker connection failed.
    NetworkLost,
    /// The machine slept (logind said so, or the clock jumped).
    Suspended,
}

impl Absence {
    pub fn describe(self) -> &'static str {
        match self {
            Absence::Stopped => "Herald was closed",
            Absence::Crashed => "Herald stopped unexpectedly",
            Absence::NetworkLost => "the connection was lost",
            Absence::Suspended => "the computer was asleep",
        }
    }
}

/// Whether the session is running, and how the last one ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMark {
    pub running: bool,
    pub absence: Option<Absence>,
    /// When it went away (Unix seconds).
    pub at: i64,
}

/// What a catch-up did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Rows the archive returned (the walk's own repeats of a second counted once).
    pub fetched: u64,
    /// New rows written to the history (quarantined ones included).
    pub stored: u64,
    /// Already in the history: delivered live, or fetched before.
    pub known: u64,
    /// Not kept because a rule dropped them.
    pub dropped: u64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.fetched += o.fetched;
        self.stored += o.stored;
        self.known += o.known;
        self.dropped += o.dropped;
    }
}

/// One window to fill from the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Names the job when its progress is saved (others may add jobs meanwhile).
    #[serde(default)]
    pub id: u64,
    pub walk: Walk,
    /// Why the window is missing, for the user.
    pub reason: String,
    #[serde(default)]
    pub counts: Counts,
    /// The archive's count of messages in the window, from the first page.
    #[serde(default)]
    pub total: Option<u64>,
    /// Not before this time (Unix seconds): the tail fetched again once the archive caught up.
    #[serde(default)]
    pub not_before: Option<i64>,
    /// Longer than the automatic limit: only `herald backfill` (or the user's go-ahead) walks it.
    #[serde(default)]
    pub waits_for_user: bool,
}

impl Job {
    pub fn new(start: i64, end: i64, reason: impl Into<String>) -> Job {
        Job {
            id: fastrand::u64(1..),
            walk: Walk::new(start, end),
            reason: reason.into(),
            counts: Counts::default(),
            total: None,
            not_before: None,
            waits_for_user: false,
        }
    }

    /// The gap after a live session: from a margin before the last live message committed to
    /// a margin after the first one back.
    pub fn for_gap(last_live: i64, first_back: i64, reason: impl Into<String>) -> Job {
        Job::new(
            last_live - MARGIN,
            first_back.max(last_live) + MARGIN,
            reason,
        )
    }

    /// The same window's tail, to fetch again at `not_before` (the archive stores a message a
    /// little after the bus carried it).
    pub fn tail(&self, not_before: i64) -> Job {
        let mut tail = Job::new(
            (self.walk.end - TAIL_SPAN).max(self.walk.start),
            self.walk.end,
            format!("{} (the archive's late arrivals)", self.reason),
        );
        tail.not_before = Some(not_before);
        tail
    }

    pub fn span_seconds(&self) -> i64 {
        self.walk.end - self.walk.start + 1
    }

    /// Whether the tail of this job is itself a tail (so it is not fetched a third time).
    pub fn is_tail(&self) -> bool {
        self.reason.ends_with("(the archive's late arrivals)")
    }
}

fn live_key(connection: &str) -> String {
    format!("catchup.{connection}.live")
}
fn alive_key(connection: &str) -> String {
    format!("catchup.{connection}.alive")
}
fn session_key(connection: &str) -> String {
    format!("catchup.{connection}.session")
}
fn jobs_key(connection: &str) -> String {
    format!("catchup.{connection}.jobs")
}

/// The per-connection records of the catch-up, kept in the history.
#[derive(Debug, Clone)]
pub struct Ledger {
    store: HistoryStore,
    connection: String,
}

impl Ledger {
    pub fn new(store: HistoryStore, connection: &str) -> Ledger {
        Ledger {
            store,
            connection: connection.to_owned(),
        }
    }

    pub fn connection(&self) -> &str {
        &self.connection
    }

    pub async fn live(&self) -> Result<Option<LiveMark>, HistoryError> {
        self.store.state(&live_key(&self.connection)).await
    }

    /// Records a committed live batch whose newest message was sent at `sent_at`.
    pub async fn note_live(&self, sent_at: i64, now: i64) -> Result<(), HistoryError> {
        let mark = LiveMark {
            // A publisher's clock ahead of ours must not move the mark past what we saw.
            sent_at: sent_at.min(now),
            committed_at: now,
        };
        self.store
            .raise_state(&live_key(&self.connection), "$.sent_at", &mark)
            .await
    }

    /// Records that at `now` the connection was up and everything delivered was committed.
    /// With narrow rules a connection can be quiet for days; the gap after it starts here,
    /// not at the last message it happened to keep.
    pub async fn note_alive(&self, now: i64) -> Result<(), HistoryError> {
        self.store
            .raise_state(&alive_key(&self.connection), "$.at", &Alive { at: now })
            .await
    }

    /// The last moment the connection is known to have missed nothing: its newest live
    /// message, or a later moment it was up and idle. `None` before anything was heard.
    pub async fn last_heard(&self) -> Result<Option<LiveMark>, HistoryError> {
        let live = self.live().await?;
        let alive: Option<Alive> = self.store.state(&alive_key(&self.connection)).await?;
        Ok(match (live, alive) {
            (Some(l), Some(a)) if a.at > l.sent_at => Some(LiveMark {
                sent_at: a.at,
                committed_at: a.at.max(l.committed_at),
            }),
            (Some(l), _) => Some(l),
            (None, Some(a)) => Some(LiveMark {
                sent_at: a.at,
                committed_at: a.at,
            }),
            (None, None) => None,
        })
    }

    pub async fn session(&self) -> Result<Option<SessionMark>, HistoryError> {
        self.store.state(&session_key(&self.connection)).await
    }

    /// Marks the session running and returns how the previous one ended (a session still
    /// marked running when a new one starts crashed).
    pub async fn start_session(&self, now: i64) -> Result<Option<SessionMark>, HistoryError> {
        let before = self.session().await?.map(|mut m| {
            if m.running {
                m.running = false;
                m.absence = Some(Absence::Crashed);
            }
            m
        });
        self.store
            .set_state(
                &session_key(&self.connection),
                &SessionMark {
                    running: true,
                    absence: None,
                    at: now,
                },
            )
            .await?;
        Ok(before)
    }

    pub async fn end_session(&self, absence: Absence, now: i64) -> Result<(), HistoryError> {
        self.store
            .set_state(
                &session_key(&self.connection),
                &SessionMark {
                    running: absence != Absence::Stopped,
                    absence: Some(absence),
                    at: now,
                },
            )
            .await
    }

    pub async fn jobs(&self) -> Result<Vec<Job>, HistoryError> {
        Ok(self
            .store
            .state(&jobs_key(&self.connection))
            .await?
            .unwrap_or_default())
    }

    /// Changes the kept jobs in one transaction: every writer (the session adding a gap,
    /// the worker saving its cursor, `herald backfill` in another process) changes only what
    /// it means to, never a stale copy of the whole list.
    async fn change_jobs(&self, f: impl FnOnce(&mut Vec<Job>)) -> Result<Vec<Job>, HistoryError> {
        let mut out = Vec::new();
        self.store
            .update_state(&jobs_key(&self.connection), |old: Option<Vec<Job>>| {
                let mut jobs = old.unwrap_or_default();
                f(&mut jobs);
                out.clone_from(&jobs);
                (!jobs.is_empty()).then_some(jobs)
            })
            .await?;
        Ok(out)
    }

    /// Adds a job, merged with a waiting one it overlaps (so two gaps close together cost
    /// one walk). Returns the jobs now kept.
    pub async fn add_job(&self, job: Job) -> Result<Vec<Job>, HistoryError> {
        self.change_jobs(|jobs| merge(jobs, job)).await
    }

    /// Saves a walked page: the job's cursor and counts, if the job is still kept.
    pub async fn save_job(&self, job: &Job) -> Result<(), HistoryError> {
        self.change_jobs(|jobs| {
            if let Some(j) = jobs.iter_mut().find(|j| j.id == job.id) {
                *j = job.clone();
            }
        })
        .await
        .map(drop)
    }

    /// Removes a walked job, and keeps its tail to fetch again later.
    pub async fn finish_job(&self, id: u64, tail: Option<Job>) -> Result<(), HistoryError> {
        self.change_jobs(|jobs| {
            jobs.retain(|j| j.id != id);
            jobs.extend(tail);
        })
        .await
        .map(drop)
    }
}

/// Adds `job` to `jobs`: an unstarted job it overlaps is widened instead, and the part a
/// started walk already covers is cut off (a restart in the middle of a catch-up finds the
/// same gap again and must not walk it twice).
pub fn merge(jobs: &mut Vec<Job>, mut job: Job) {
    if !job.is_tail() {
        for j in jobs
            .iter()
            .filter(|j| !j.is_tail() && j.not_before.is_none())
        {
            if job.walk.start >= j.walk.start && job.walk.start <= j.walk.end {
                if job.walk.end <= j.walk.end {
                    return;
                }
                job.walk = Walk::new(j.walk.end + 1, job.walk.end);
            }
        }
    }
    for j in jobs.iter_mut() {
        let unstarted = j.walk.cursor.second == j.walk.start && j.counts == Counts::default();
        let overlaps = job.walk.start <= j.walk.end + 1 && j.walk.start <= job.walk.end + 1;
        let alike = j.not_before == job.not_before && j.waits_for_user == job.waits_for_user;
        if unstarted && overlaps && alike && !job.is_tail() {
            let (start, end) = (
                j.walk.start.min(job.walk.start),
                j.walk.end.max(job.walk.end),
            );
            j.walk = Walk::new(start, end);
            return;
        }
    }
    jobs.push(job);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn marks_and_jobs_are_kept_across_opens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.db");
        let ctx = crate::sources::RenderContext::default();
        let store = HistoryStore::open(&path, &ctx).await.expect("open");
        let ledger = Ledger::new(store.clone(), "default");
        assert_eq!(ledger.start_session(10).await.expect("start"), None);
        ledger.note_live(1000, 2000).await.expect("live");
        ledger.note_live(900, 2001).await.expect("older");
        ledger.note_live(5000, 3000).await.expect("ahead");
        ledger
            .add_job(Job::for_gap(1000, 1100, "test"))
            .await
            .expect("job");
        ledger.note_alive(2500).await.expect("alive");
        ledger.note_alive(2400).await.expect("older");
        drop((ledger, store));

        let store = HistoryStore::open(&path, &ctx).await.expect("reopen");
        let ledger = Ledger::new(store, "default");
        let live = ledger.live().await.expect("live").expect("kept");
        assert_eq!(
            (live.sent_at, live.committed_at),
            (3000, 3000),
            "never older, never ahead of our clock"
        );
        assert_eq!(ledger.last_heard().await.expect("heard"), Some(live));
        ledger.note_alive(3600).await.expect("alive");
        assert_eq!(
            ledger.last_heard().await.expect("heard").map(|m| m.sent_at),
            Some(3600),
            "up and quiet after the last message"
        );
        let before = ledger
            .start_session(20)
            .await
            .expect("start")
            .expect("mark");
        assert_eq!(
            before.absence,
            Some(Absence::Crashed),
            "it never said it stopped"
        );
        ledger.end_session(Absence::Stopped, 30).await.expect("end");
        let before = ledger
            .start_session(40)
            .await
            .expect("start")
            .expect("mark");
        assert_eq!(before.absence, Some(Absence::Stopped));
        let jobs = ledger.jobs().await.expect("jobs");
        assert_eq!(jobs.len(), 1);
        assert_eq!(
            (jobs[0].walk.start, jobs[0].walk.end),
            (1000 - MARGIN, 1100 + MARGIN)
        );
        let mut walked = jobs[0].clone();
        walked.walk.advance(true, Some(1000));
        ledger.save_job(&walked).await.expect("save");
        assert_eq!(ledger.jobs().await.expect("jobs")[0].walk, walked.walk);
        ledger.finish_job(walked.id, None).await.expect("finish");
        assert!(ledger.jobs().await.expect("jobs").is_empty());
        ledger.save_job(&walked).await.expect("save a finished job");
        assert!(
            ledger.jobs().await.expect("jobs").is_empty(),
            "a job finished elsewhere is not brought back"
        );
    }

    #[test]
    fn overlapping_gaps_merge_and_tails_wait() {
        let mut jobs = vec![Job::new(100, 200, "a")];
        merge(&mut jobs, Job::new(150, 300, "b"));
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].walk.start, jobs[0].walk.end), (100, 300));
        merge(&mut jobs, Job::new(1000, 1100, "c"));
        assert_eq!(jobs.len(), 2);
        let tail = jobs[0].tail(5000 + 300);
        assert_eq!(
            (tail.walk.start, tail.walk.end),
            (100, 300),
            "a short window whole"
        );
        assert_eq!(tail.not_before, Some(5000 + 300));
        assert!(tail.is_tail());
        merge(&mut jobs, tail);
        assert_eq!(jobs.len(), 3, "a tail is its own job, for later");

        // A walk under way: the same gap found again adds only what lies beyond it.
        let mut started = vec![Job::new(100, 200, "a")];
        started[0].walk.advance(true, Some(150));
        merge(&mut started, Job::new(120, 180, "again"));
        assert_eq!(started.len(), 1, "inside the walk: nothing to add");
        merge(&mut started, Job::new(120, 260, "longer"));
        assert_eq!(started.len(), 2);
        assert_eq!((started[1].walk.start, started[1].walk.end), (201, 260));
    }
}
