//! The tray's "Behind upstream" submenu: the packages the user's profile covers whose newest
//! upstream release has waited for Fedora longer than `[herald.packages] behind_after`.
//! Pure functions from the package model's summaries to menu entries, so the submenu is
//! tested without a display; the tray module reads the model when a batch is stored and
//! every [`REFRESH_EVERY`], since a wait grows by itself.

use std::time::Duration;

use herald_core::packages::PackageSummary;
use time::OffsetDateTime;

use super::label::plain_label;
use super::model::{MenuEntry, MenuId, LABEL_MAX};

/// How often the list is read again with no new message: a package crosses `behind_after`
/// by waiting, and the days shown grow.
pub const REFRESH_EVERY: Duration = Duration::from_secs(3600);

/// The most packages the submenu lists, longest behind first; the rest are counted.
pub const BEHIND_MAX: usize = 10;

/// A package whose upstream release has waited for Fedora long enough to be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    pub package: String,
    /// The newest upstream release.
    pub upstream: String,
    /// The newest version built or pushed in Fedora.
    pub fedora: Option<String>,
    /// How long the upstream release has waited.
    pub waited: Duration,
}

/// The packages of `summaries` behind upstream for at least `after` at `now`, longest first.
pub fn behind(summaries: &[PackageSummary], after: Duration, now: OffsetDateTime) -> Vec<Behind> {
    let mut out: Vec<Behind> = summaries
        .iter()
        .filter_map(|s| {
            let waited = Duration::try_from(s.behind_for(now)?).ok()?;
            let upstream = s.upstream.as_ref()?;
            (waited >= after).then(|| Behind {
                package: s.package.clone(),
                upstream: upstream.version.clone(),
                fedora: s.fedora_version.clone(),
                waited,
            })
        })
        .collect();
    out.sort_by(|a, b| b.waited.cmp(&a.waited).then(a.package.cmp(&b.package)));
    out
}

/// "12 days", "1 day", or hours under a day.
pub fn waited_text(waited: Duration) -> String {
    let hours = waited.as_secs() / 3600;
    match hours / 24 {
        0 if hours == 1 => "1 hour".to_owned(),
        0 => format!("{hours} hours"),
        1 => "1 day".to_owned(),
        days => format!("{days} days"),
    }
}

/// One line of the submenu: "python-requests 2.33.0 (Fedora 2.31.0), 12 days", the name and
/// versions as plain one-line text (they come from the bus).
pub fn label(b: &Behind) -> String {
    let fedora = match &b.fedora {
        Some(v) => format!(" (Fedora {})", plain_label(v, 24)),
        None => String::new(),
    };
    let versions = format!(
        " {}{fedora}, {}",
        plain_label(&b.upstream, 24),
        waited_text(b.waited)
    );
    // The name is cut first: the versions and the wait are the news.
    let room = LABEL_MAX.saturating_sub(versions.chars().count()).max(12);
    format!("{}{versions}", plain_label(&b.package, room))
}

/// The submenu, when anything is behind: one entry per package (at most [`BEHIND_MAX`]),
/// each opening its timeline, and a count of the rest.
pub fn submenu(list: &[Behind]) -> Option<MenuEntry> {
    if list.is_empty() {
        return None;
    }
    let mut entries: Vec<MenuEntry> = list
        .iter()
        .take(BEHIND_MAX)
        .map(|b| MenuEntry::Item {
            id: MenuId::Package(b.package.clone()),
            label: label(b),
            enabled: true,
        })
        .collect();
    if list.len() > BEHIND_MAX {
        entries.push(MenuEntry::Item {
            id: MenuId::MoreBehind,
            label: format!("and {} more in the Packages view", list.len() - BEHIND_MAX),
            enabled: false,
        });
    }
    Some(MenuEntry::Submenu {
        label: format!("Behind upstream ({})", list.len()),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::packages::UpstreamView;

    const DAY: Duration = Duration::from_secs(86_400);

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_600).expect("time")
    }

    fn summary(
        package: &str,
        upstream: &str,
        fedora: &str,
        behind: Option<Duration>,
    ) -> PackageSummary {
        let since = behind.map(|d| now() - d);
        PackageSummary {
            package: package.into(),
            upstream: Some(UpstreamView {
                version: upstream.into(),
                sent_at: since.unwrap_or_else(now),
            }),
            branches: Vec::new(),
            ftbfs: None,
            behind_upstream: Some(behind.is_some()),
            behind_since: since,
            fedora_version: Some(fedora.into()),
            changed_at: now(),
        }
    }

    #[test]
    fn only_packages_behind_for_long_enough_are_listed_longest_first() {
        let list = behind(
            &[
                summary("current", "1.0", "1.0", None),
                summary("fresh", "2.0", "1.0", Some(DAY * 2)),
                summary("old", "3.0", "2.9", Some(DAY * 30)),
                summary("week", "1.1", "1.0", Some(DAY * 7)),
            ],
            DAY * 7,
            now(),
        );
        let names: Vec<&str> = list.iter().map(|b| b.package.as_str()).collect();
        assert_eq!(names, ["old", "week"], "{list:?}");
        assert_eq!(list[0].waited, DAY * 30);
        assert_eq!(list[0].upstream, "3.0");
        assert_eq!(list[0].fedora.as_deref(), Some("2.9"));
    }

    #[test]
    fn waits_read_in_days_or_hours() {
        assert_eq!(waited_text(Duration::from_secs(3600)), "1 hour");
        assert_eq!(waited_text(Duration::from_secs(5 * 3600)), "5 hours");
        assert_eq!(waited_text(DAY + Duration::from_secs(3600)), "1 day");
        assert_eq!(waited_text(DAY * 12), "12 days");
    }

    #[test]
    fn labels_are_one_plain_line_that_keeps_the_versions() {
        let b = Behind {
            package: "python-requests".into(),
            upstream: "2.33.0".into(),
            fedora: Some("2.31.0".into()),
            waited: DAY * 12,
        };
        assert_eq!(label(&b), "python-requests 2.33.0 (Fedora 2.31.0), 12 days");
        let hostile = Behind {
            package: format!("evil\u{202e}\n{}", "x".repeat(200)),
            upstream: "1.0\nhttps://evil.example/".into(),
            fedora: None,
            waited: DAY * 8,
        };
        let text = label(&hostile);
        assert!(text.chars().count() <= LABEL_MAX + 12, "{text}");
        assert!(
            !text.contains('\n') && !text.contains('\u{202e}'),
            "{text:?}"
        );
        assert!(
            !text.contains("evil.example/"),
            "links are defanged: {text}"
        );
        assert!(text.ends_with(", 8 days"), "{text}");
    }

    #[test]
    fn the_submenu_lists_at_most_ten_and_counts_the_rest() {
        assert_eq!(submenu(&[]), None);
        let many: Vec<Behind> = (0..13)
            .map(|i| Behind {
                package: format!("p{i:02}"),
                upstream: "2".into(),
                fedora: Some("1".into()),
                waited: DAY * (20 - i),
            })
            .collect();
        let Some(MenuEntry::Submenu { label, entries }) = submenu(&many) else {
            panic!("a submenu");
        };
        assert_eq!(label, "Behind upstream (13)");
        assert_eq!(entries.len(), BEHIND_MAX + 1);
        assert_eq!(
            entries[0],
            MenuEntry::Item {
                id: MenuId::Package("p00".into()),
                label: "p00 2 (Fedora 1), 20 days".into(),
                enabled: true,
            }
        );
        assert_eq!(
            entries[BEHIND_MAX],
            MenuEntry::Item {
                id: MenuId::MoreBehind,
                label: "and 3 more in the Packages view".into(),
                enabled: false,
            }
        );
    }
}
