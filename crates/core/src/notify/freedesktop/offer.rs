//! The actions a notification offers, as action keys and labels for the server, and the
//! bounded memory of which notification offered what, so that an invoked key maps back to
//! the [`NotifyAction`] behind it — and a key that was not offered maps to nothing.

use crate::notify::open::checked_link;
use crate::notify::text::{label, plain_text};
use crate::notify::NotifyAction;
use std::collections::{HashMap, VecDeque};

/// How many shown notifications keep their actions invocable.
pub(super) const REMEMBERED: usize = 256;
/// An action label shows at most this many characters (a long package name is cut).
const LABEL_MAX_CHARS: usize = 48;

/// One action as offered to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Offer {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) action: NotifyAction,
}

/// The action keys and labels for `actions`: `open`, `mute:<package>`, `snooze:<rule>`, and
/// `default` (clicking the notification itself) for Open only — a click on the body must never
/// mute or snooze anything. An `Open` whose link is not http(s) is not offered; the policy
/// asks for `Open` only when the link's host is one its producer is known to use. Labels are
/// cleaned and defanged like every text that leaves Herald.
pub(super) fn offers(actions: &[NotifyAction]) -> Vec<Offer> {
    let mut out: Vec<Offer> = Vec::new();
    for action in actions {
        let (key, label) = match action {
            NotifyAction::Open { url } if checked_link(url).is_ok() => {
                ("open".to_owned(), "Open".to_owned())
            }
            NotifyAction::Open { url } => {
                tracing::warn!("not offering to open {url:?}: not an http(s) link");
                continue;
            }
            NotifyAction::Mute { package } => (
                format!("mute:{}", plain_text(package)),
                label(&format!("Mute {package}"), LABEL_MAX_CHARS),
            ),
            NotifyAction::Snooze { rule } => (
                format!("snooze:{}", plain_text(rule)),
                "Snooze 1 h".to_owned(),
            ),
        };
        if out.is_empty() && matches!(action, NotifyAction::Open { .. }) {
            out.push(Offer {
                key: "default".to_owned(),
                label: label.clone(),
                action: action.clone(),
            });
        }
        if !out.iter().any(|o| o.key == key) {
            out.push(Offer {
                key,
                label,
                action: action.clone(),
            });
        }
    }
    out
}

/// The actions of the most recently shown notifications, by server id.
#[derive(Debug, Default)]
pub(super) struct Offered {
    order: VecDeque<u32>,
    by_id: HashMap<u32, Vec<Offer>>,
}

impl Offered {
    /// Records what notification `id` offers (nothing forgets what a replaced one offered).
    pub(super) fn remember(&mut self, id: u32, offers: Vec<Offer>) {
        if self.by_id.remove(&id).is_some() {
            self.order.retain(|&i| i != id);
        }
        if offers.is_empty() {
            return;
        }
        self.by_id.insert(id, offers);
        self.order.push_back(id);
        while self.order.len() > REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }

    pub(super) fn action(&self, id: u32, key: &str) -> Option<NotifyAction> {
        self.by_id
            .get(&id)?
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.action.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(url: &str) -> NotifyAction {
        NotifyAction::Open { url: url.into() }
    }

    fn mute(package: &str) -> NotifyAction {
        NotifyAction::Mute {
            package: package.into(),
        }
    }

    #[test]
    fn offers_the_first_action_also_as_default() {
        let snooze = NotifyAction::Snooze {
            rule: "koji-failed".into(),
        };
        let got = offers(&[open("https://x.example/"), mute("chromium"), snooze.clone()]);
        let keys: Vec<(&str, &str)> = got
            .iter()
            .map(|o| (o.key.as_str(), o.label.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("default", "Open"),
                ("open", "Open"),
                ("mute:chromium", "Mute chromium"),
                ("snooze:koji-failed", "Snooze 1 h"),
            ]
        );
        assert_eq!(got[0].action, open("https://x.example/"));
        assert_eq!(got[3].action, snooze);
        assert!(offers(&[]).is_empty());
    }

    #[test]
    fn never_offers_to_open_a_non_http_link() {
        let got = offers(&[open("javascript:alert(1)"), mute("<b>x</b>")]);
        let keys: Vec<&str> = got.iter().map(|o| o.key.as_str()).collect();
        // Without a link, clicking the notification does nothing: no `default` to mute by.
        assert_eq!(keys, ["mute:<b>x</b>"]);
        assert_eq!(got[0].action, mute("<b>x</b>"));
    }

    #[test]
    fn maps_only_offered_keys_back() {
        let mut offered = Offered::default();
        offered.remember(7, offers(&[open("https://x.example/"), mute("p")]));
        assert_eq!(offered.action(7, "open"), Some(open("https://x.example/")));
        assert_eq!(
            offered.action(7, "default"),
            Some(open("https://x.example/"))
        );
        assert_eq!(offered.action(7, "mute:p"), Some(mute("p")));
        assert_eq!(offered.action(7, "mute:q"), None);
        assert_eq!(offered.action(7, "snooze:r"), None);
        assert_eq!(offered.action(8, "open"), None);
        // Replacing notification 7 with one that offers nothing forgets its actions.
        offered.remember(7, Vec::new());
        assert_eq!(offered.action(7, "open"), None);
    }

    #[test]
    fn remembers_a_bounded_number_of_notifications() {
        let mut offered = Offered::default();
        for id in 1..=(REMEMBERED as u32 + 10) {
            offered.remember(id, offers(&[mute("p")]));
        }
        assert_eq!(offered.by_id.len(), REMEMBERED);
        assert_eq!(offered.order.len(), REMEMBERED);
        assert_eq!(offered.action(10, "mute:p"), None);
        assert_eq!(offered.action(11, "mute:p"), Some(mute("p")));
        // Showing an id again moves it to the newest end.
        offered.remember(11, offers(&[mute("q")]));
        assert_eq!(offered.order.back(), Some(&11));
        assert_eq!(offered.order.len(), REMEMBERED);
    }
}
