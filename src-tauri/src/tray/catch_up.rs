//! What the tray says about catch-up, the filling of gaps from the bus archive, built from
//! the pipeline's catch-up events: a gap being walked with its progress and the hours it
//! covers, a walk paused by a failing archive, a gap too long to fill without the user, and
//! the news that a walk finished, which stays until the connection's next session. Pure:
//! times come in the events and the local offset is set once, so every text is tested
//! without a clock.

use std::collections::BTreeMap;

use herald_core::pipeline::PipelineEvent;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use super::label::plain_label;

/// A stall's error is cut to this many characters in the status line.
const ERROR_MAX: usize = 60;

/// A stretch of time missed, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gap {
    start: i64,
    end: i64,
}

impl Gap {
    /// Whether `later` is this gap's end fetched again, which the pipeline does a few minutes
    /// after a walk because the archive stores messages a little late.
    fn has_tail(self, later: Gap) -> bool {
        later.end == self.end && later.start >= self.start
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Fill {
    Running {
        gap: Gap,
        fetched: u64,
        total: Option<u64>,
    },
    /// The archive failed; the walk resumes by itself.
    Stalled {
        gap: Option<Gap>,
        error: String,
    },
    Done {
        stored: u64,
        gap: Gap,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Connection {
    fill: Option<Fill>,
    /// A gap left for `herald backfill`.
    waiting: Option<Gap>,
}

/// The catch-up state of every connection.
#[derive(Debug)]
pub struct CatchUp {
    connections: BTreeMap<String, Connection>,
    /// Gaps are shown in local time; the offset is read once at startup, as the pipeline does.
    offset: UtcOffset,
}

impl Default for CatchUp {
    fn default() -> Self {
        CatchUp {
            connections: BTreeMap::new(),
            offset: UtcOffset::UTC,
        }
    }
}

impl CatchUp {
    pub fn set_offset(&mut self, offset: UtcOffset) {
        self.offset = offset;
    }

    /// Takes in one pipeline event; true when the line may have changed. Events other than
    /// the catch-up ones are ignored.
    pub fn apply(&mut self, event: &PipelineEvent) -> bool {
        match event {
            PipelineEvent::GapFound {
                connection,
                start,
                end,
                waits,
                ..
            } => {
                let gap = Gap {
                    start: *start,
                    end: *end,
                };
                let c = self.connections.entry(connection.clone()).or_default();
                if *waits {
                    c.waiting = Some(gap);
                } else {
                    c.fill = Some(Fill::Running {
                        gap,
                        fetched: 0,
                        total: None,
                    });
                }
                true
            }
            PipelineEvent::CatchingUp {
                connection,
                start,
                end,
                counts,
                total,
                done,
            } => {
                let gap = Gap {
                    start: *start,
                    end: *end,
                };
                let c = self.connections.entry(connection.clone()).or_default();
                let before = c.clone();
                // The user let a waiting gap be walked after all.
                if c.waiting
                    .is_some_and(|w| gap.start <= w.start && w.start <= gap.end)
                {
                    c.waiting = None;
                }
                c.fill = Some(match c.fill.take() {
                    // Late arrivals of a finished gap count in with it instead of replacing
                    // its news with a walk of a few minutes.
                    Some(Fill::Done { stored, gap: shown }) if shown.has_tail(gap) => Fill::Done {
                        stored: stored + if *done { counts.stored } else { 0 },
                        gap: shown,
                    },
                    _ if *done => Fill::Done {
                        stored: counts.stored,
                        gap,
                    },
                    _ => Fill::Running {
                        gap,
                        fetched: counts.fetched,
                        total: *total,
                    },
                });
                *c != before
            }
            PipelineEvent::CatchUpStalled {
                connection, error, ..
            } => {
                let c = self.connections.entry(connection.clone()).or_default();
                let gap = match &c.fill {
                    Some(Fill::Running { gap, .. }) => Some(*gap),
                    Some(Fill::Stalled { gap, .. }) => *gap,
                    // Only the late arrivals can stall after a finished walk: not worth a word.
                    Some(Fill::Done { .. }) => return false,
                    // A walk resumed from an earlier run, which announced its gap back then.
                    None => None,
                };
                let stalled = Some(Fill::Stalled {
                    gap,
                    error: error.clone(),
                });
                if c.fill == stalled {
                    return false;
                }
                c.fill = stalled;
                true
            }
            PipelineEvent::QueuesChecked { connection, .. } => {
                // A new session: news of a walk the last one finished is old.
                match self.connections.get_mut(connection) {
                    Some(c) if matches!(c.fill, Some(Fill::Done { .. })) => {
                        c.fill = None;
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    /// What the status line says about catch-up, if anything: of the first connection (by
    /// name) with the most pressing news — a walk, then a stall, then a gap waiting for the
    /// user, then a finished walk. `named` puts the connection's name in front.
    pub fn line(&self, named: bool) -> Option<String> {
        let (_, name, text) = self
            .connections
            .iter()
            .filter_map(|(name, c)| {
                let (rank, text) = self.news(c)?;
                Some((rank, name, text))
            })
            .min_by_key(|(rank, _, _)| *rank)?;
        Some(if named {
            format!("{name}: {text}")
        } else {
            text
        })
    }

    fn news(&self, c: &Connection) -> Option<(u8, String)> {
        let missed = |gap: Gap| format!("missed {}", window(gap.start, gap.end, self.offset));
        match (&c.fill, c.waiting) {
            (
                Some(Fill::Running {
                    gap,
                    fetched,
                    total,
                }),
                _,
            ) => Some((0, running(*fetched, *total, &missed(*gap)))),
            (Some(Fill::Stalled { gap, error }), _) => {
                let error = plain_label(error, ERROR_MAX);
                Some((
                    1,
                    match gap {
                        Some(gap) => format!("Catch-up paused ({}): {error}", missed(*gap)),
                        None => format!("Catch-up paused: {error}"),
                    },
                ))
            }
            (_, Some(w)) => Some((2, waiting(w.end.saturating_sub(w.start)))),
            (Some(Fill::Done { stored, .. }), None) => Some((3, done(*stored))),
            (None, None) => None,
        }
    }
}

/// "Catching up 2,300 / 5,100 (missed 02:10–06:40)"; before the first page, no counts.
pub fn running(fetched: u64, total: Option<u64>, missed: &str) -> String {
    let counts = match total {
        Some(total) => format!(" {} / {}", thousands(fetched), thousands(total)),
        None if fetched > 0 => format!(" {}", thousands(fetched)),
        None => String::new(),
    };
    format!("Catching up{counts} ({missed})")
}

/// "Caught up: 2,300 new from the archive".
pub fn done(stored: u64) -> String {
    format!("Caught up: {} new from the archive", thousands(stored))
}

/// "Gap of 5 days not filled — run herald backfill".
pub fn waiting(seconds: i64) -> String {
    format!(
        "Gap of {} not filled — run herald backfill",
        length(seconds)
    )
}

/// `n` with a comma between groups of three digits: "5,100".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A gap's length as people say it, rounded: "40 minutes", "9 hours", "5 days".
pub fn length(seconds: i64) -> String {
    let s = seconds.max(0);
    let (n, unit) = if s < 2 * 3600 {
        ((s + 30) / 60, "minute")
    } else if s < 2 * 86_400 {
        ((s + 1800) / 3600, "hour")
    } else {
        (s.saturating_add(43_200) / 86_400, "day")
    };
    let n = n.max(1);
    let plural = if n == 1 { "" } else { "s" };
    format!("{} {unit}{plural}", thousands(n.unsigned_abs()))
}

/// A gap in local time: "02:10–06:40" within a day, "3 Dec 22:10 – 5 Dec 06:40" across days.
pub fn window(start: i64, end: i64, offset: UtcOffset) -> String {
    let local = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .and_then(|d| d.checked_to_offset(offset))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let (a, b) = (local(start), local(end));
    let clock = format_description!("[hour]:[minute]");
    let dated = format_description!("[day padding:none] [month repr:short] [hour]:[minute]");
    let show = |d: OffsetDateTime, f: &[BorrowedFormatItem<'_>]| d.format(f).unwrap_or_default();
    if a.date() == b.date() {
        format!("{}–{}", show(a, clock), show(b, clock))
    } else {
        format!("{} – {}", show(a, dated), show(b, dated))
    }
}

#[cfg(test)]
mod tests;
