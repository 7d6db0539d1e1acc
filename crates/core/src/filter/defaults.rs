//! The rules a profile implies, so that a FAS name alone gives a useful Herald: my Koji builds
//! and tasks, new upstream releases and Bodhi activity for my packages, my Copr builds, Pulp
//! results where Pulp is carried. The user's own rules override these by id, and only what
//! differs is written to the config.

use super::rule::{BodyPredicate, Conditions, Names, Profile, RuleSpec};
use crate::record::Action;
use serde_json::json;

/// Where an effective rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleOrigin {
    /// Implied by the profile.
    Default,
    /// A default rule the config replaces.
    Override,
    /// Written by the user.
    Config,
}

/// Default rules run after the user's (which default to priority 50).
const NOTIFY: i32 = 100;
const STORE: i32 = 110;
const RELATED: i32 = 120;

/// The rules implied by `profile`. `pulp_connections` names the connections that carry Pulp;
/// the Pulp rules apply only there. No profile means no default rules: a plain
/// fedora-messaging config keeps everything its bindings deliver.
pub fn default_rules(profile: &Profile, pulp_connections: &[String]) -> Vec<RuleSpec> {
    let mut out = Vec::new();
    if profile.is_empty() {
        return out;
    }
    let rule = |id: &str, description: &str, priority, action, when| {
        let mut r = RuleSpec::new(id, action, when);
        r.description = Some(description.to_owned());
        r.priority = priority;
        r
    };
    let topics = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let me = &profile.users;
    if !me.is_empty() {
        let koji = topics(&[
            "org.fedoraproject.*.buildsys.build.state.change",
            "org.fedoraproject.*.buildsys.task.state.change",
        ]);
        out.push(rule(
            "koji-mine-finished",
            "My Koji builds and tasks that completed, failed or were cancelled",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: koji.clone(),
                users: Names::any_of(me.iter().cloned()),
                body: vec![BodyPredicate {
                    pointer: "/new".to_owned(),
                    equals: None,
                    // Build states are numbers (COMPLETE 1, FAILED 3, CANCELED 4); task
                    // states are names.
                    one_of: Some(vec![
                        json!(1),
                        json!(3),
                        json!(4),
                        json!("CLOSED"),
                        json!("FAILED"),
                        json!("CANCELED"),
                    ]),
                    matches: None,
                    exists: None,
                }],
                ..Conditions::default()
            },
        ));
        out.push(rule(
            "koji-mine",
            "Every other state change of my Koji builds and tasks",
            STORE,
            Action::History,
            Conditions {
                topics: koji,
                users: Names::any_of(me.iter().cloned()),
                ..Conditions::default()
            },
        ));
        out.push(rule(
            "bodhi-mine",
            "Bodhi updates I submitted or was mentioned in",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: topics(&["org.fedoraproject.*.bodhi.update.#"]),
                users: Names::any_of(me.iter().cloned()),
                skip_own: true,
                ..Conditions::default()
            },
        ));
        out.push(rule(
            "copr-mine-finished",
            "My Copr builds that ended",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: topics(&["org.fedoraproject.*.copr.build.end"]),
                users: Names::any_of(me.iter().cloned()),
                ..Conditions::default()
            },
        ));
        out.push(rule(
            "copr-mine",
            "Everything else Copr says about my projects",
            STORE,
            Action::History,
            Conditions {
                topics: topics(&["org.fedoraproject.*.copr.#"]),
                users: Names::any_of(me.iter().cloned()),
                ..Conditions::default()
            },
        ));
    }
    if !profile.packages.is_empty() {
        let watched = Names::any_of(profile.packages.iter().cloned());
        out.push(rule(
            "anitya-watched",
            "New upstream releases of my packages",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: topics(&["org.release-monitoring.*.anitya.project.version.update.v2"]),
                packages: watched.clone(),
                ..Conditions::default()
            },
        ));
        out.push(rule(
            "bodhi-watched",
            "Bodhi updates and comments on my packages",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: topics(&["org.fedoraproject.*.bodhi.update.#"]),
                packages: watched.clone(),
                skip_own: !me.is_empty(),
                ..Conditions::default()
            },
        ));
        out.push(rule(
            "packages-watched",
            "Anything else about my packages",
            RELATED,
            Action::History,
            Conditions {
                packages: watched,
                ..Conditions::default()
            },
        ));
    }
    let mut related =
        |id: &str, description: &str, names: &[String], set: fn(&mut Conditions, Names)| {
            if names.is_empty() {
                return;
            }
            let mut when = Conditions::default();
            set(&mut when, Names::any_of(names.iter().cloned()));
            out.push(rule(id, description, RELATED, Action::History, when));
        };
    related(
        "groups",
        "Messages about my groups",
        &profile.groups,
        |c, n| c.groups = n,
    );
    related(
        "containers-watched",
        "Messages about my containers",
        &profile.containers,
        |c, n| c.containers = n,
    );
    related(
        "modules-watched",
        "Messages about my modules",
        &profile.modules,
        |c, n| c.modules = n,
    );
    related(
        "flatpaks-watched",
        "Messages about my flatpaks",
        &profile.flatpaks,
        |c, n| c.flatpaks = n,
    );
    related(
        "follow",
        "What the people I follow do",
        &profile.follow,
        |c, n| c.users = n,
    );
    if !pulp_connections.is_empty() {
        let on_pulp = |mut r: RuleSpec| {
            r.connections = pulp_connections.to_vec();
            r
        };
        out.push(on_pulp(rule(
            "pulp-tasks-finished",
            "Pulp tasks that finished, failed or were cancelled",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: topics(&["tasks.#"]),
                kinds: vec!["pulp.task".to_owned()],
                body: vec![BodyPredicate {
                    pointer: "/state".to_owned(),
                    equals: None,
                    one_of: Some(vec![json!("finished"), json!("error"), json!("canceled")]),
                    matches: None,
                    exists: None,
                }],
                ..Conditions::default()
            },
        )));
        out.push(on_pulp(rule(
            "pulp-results",
            "Pulp repository sync and publish results",
            NOTIFY,
            Action::Notify,
            Conditions {
                topics: topics(&["pulp.server.repo.#"]),
                kinds: vec![
                    "pulp.event.repo.sync.finish".to_owned(),
                    "pulp.event.repo.publish.finish".to_owned(),
                ],
                ..Conditions::default()
            },
        )));
        out.push(on_pulp(rule(
            "pulp",
            "Every other Pulp task report and event",
            STORE,
            Action::History,
            Conditions {
                // Task reports (Pulp's own exchange) and event-listener messages; the topics
                // let the broker filter, the source makes sure.
                topics: topics(&["tasks.#", "pulp.server.#"]),
                sources: vec!["pulp".to_owned()],
                ..Conditions::default()
            },
        )));
    }
    out
}

/// The rules in force: the defaults, with the config's rules replacing defaults of the same id
/// (a `disabled` one removes it) and adding the rest; sorted by priority, ties in order.
pub fn effective_rules(
    profile: &Profile,
    configured: &[RuleSpec],
    pulp_connections: &[String],
) -> Vec<(RuleSpec, RuleOrigin)> {
    let mut out: Vec<(RuleSpec, RuleOrigin)> = default_rules(profile, pulp_connections)
        .into_iter()
        .map(|r| (r, RuleOrigin::Default))
        .collect();
    for r in configured {
        match out.iter_mut().find(|(d, _)| d.id == r.id) {
            Some(slot) => *slot = (r.clone(), RuleOrigin::Override),
            None => out.push((r.clone(), RuleOrigin::Config)),
        }
    }
    out.retain(|(r, _)| !r.disabled);
    out.sort_by_key(|(r, _)| r.priority);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(users: &[&str], packages: &[&str]) -> Profile {
        Profile {
            users: users.iter().map(|s| (*s).to_owned()).collect(),
            packages: packages.iter().map(|s| (*s).to_owned()).collect(),
            ..Profile::default()
        }
    }

    #[test]
    fn empty_profile_implies_no_rules() {
        assert!(default_rules(&Profile::default(), &[]).is_empty());
    }

    #[test]
    fn a_fas_name_alone_gives_koji_bodhi_and_copr_rules() {
        let ids: Vec<String> = default_rules(&profile(&["alice"], &[]), &[])
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            ids,
            [
                "koji-mine-finished",
                "koji-mine",
                "bodhi-mine",
                "copr-mine-finished",
                "copr-mine"
            ]
        );
    }

    #[test]
    fn pulp_rules_only_on_pulp_connections() {
        let p = profile(&["alice"], &[]);
        let rules = default_rules(&p, &["internal".to_owned()]);
        let pulp: Vec<&RuleSpec> = rules.iter().filter(|r| r.id.starts_with("pulp")).collect();
        assert_eq!(pulp.len(), 3);
        assert!(pulp
            .iter()
            .all(|r| r.applies_to("internal") && !r.applies_to("default")));
        assert!(default_rules(&Profile::default(), &["internal".to_owned()]).is_empty());
    }

    #[test]
    fn configured_rules_override_disable_and_add() {
        let p = profile(&["alice"], &["pkg"]);
        let mut over = RuleSpec::new("koji-mine", Action::Notify, Conditions::default());
        over.priority = 5;
        let mut off = RuleSpec::new("copr-mine", Action::History, Conditions::default());
        off.disabled = true;
        let extra = RuleSpec::new("mine", Action::Drop, Conditions::default());
        let eff = effective_rules(&p, &[over, off, extra], &[]);
        assert_eq!(eff[0].0.id, "koji-mine");
        assert_eq!(eff[0].1, RuleOrigin::Override);
        assert!(eff.iter().all(|(r, _)| r.id != "copr-mine"));
        assert!(eff
            .iter()
            .any(|(r, o)| r.id == "mine" && *o == RuleOrigin::Config));
        assert!(eff.windows(2).all(|w| w[0].0.priority <= w[1].0.priority));
    }
}
