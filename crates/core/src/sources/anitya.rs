//! Anitya (release-monitoring.org, anitya-schema): new upstream versions, projects,
//! distributions, package mappings and flags. Summaries are the schema's own; links are the
//! web pages (`/project/<id>/`, `/distro/<name>/`), which differ from the API paths the
//! schema's helpers build. Anitya names no users, and packages only for Fedora mappings.

use crate::message::{severity, Message};
use crate::sources::fields::{arr_at, at, int_at, str_at, strs_at, text_at};
use crate::sources::text::join;
use crate::sources::{fedmsg, link, View};
use serde_json::Value;

const ANITYA: &str = "https://release-monitoring.org";
/// The distribution whose package names are Fedora packages.
const FEDORA: &str = "Fedora";

/// anitya-schema's entry points are named after their topics.
pub(crate) fn topic_for_schema(schema: &str) -> Option<String> {
    schema.starts_with("anitya.").then(|| schema.to_owned())
}

pub(crate) fn render(msg: &Message, topic: &str) -> View {
    let mut v = View::new("anitya", "anitya", topic.to_owned());
    v.severity = fedmsg::severity(msg, severity::INFO);
    let Some(body) = msg.json.as_ref() else {
        v.summary = format!("Anitya {} (unreadable body)", topic.replace('.', " "));
        return v;
    };
    let m = at(body, &["message"]).unwrap_or(&Value::Null);
    let project = str_at(body, &["project", "name"])
        .or_else(|| str_at(m, &["project", "name"]))
        .or_else(|| str_at(m, &["project"]))
        .unwrap_or("(unknown)");
    let project_id = int_at(body, &["project", "id"]).or_else(|| int_at(m, &["project", "id"]));
    let project_page = project_id.map(|id| format!("{ANITYA}/project/{id}/"));
    let distro = str_at(body, &["distro", "name"]).or_else(|| str_at(m, &["distro"]));
    let fedora = str_at(body, &["distro", "name"]) == Some(FEDORA);

    let event = topic.strip_prefix("anitya.").unwrap_or(topic);
    let mut url = project_page.clone();
    v.summary = match event {
        "distro.add" => {
            url = distro_page(distro);
            format!(
                "A new distribution, {}, was added to release-monitoring.",
                distro.unwrap_or("(unknown)")
            )
        }
        "distro.edit" => {
            let old = str_at(m, &["old"]).or(distro).unwrap_or("(unknown)");
            let new = str_at(m, &["new"]).unwrap_or("(unknown)");
            url = distro_page(str_at(m, &["new"]));
            format!("The name of the {old} distribution changed to {new}.")
        }
        "distro.remove" => {
            url = Some(format!("{ANITYA}/distros/"));
            format!(
                "The {} distribution was removed from release-monitoring.",
                distro.unwrap_or("(unknown)")
            )
        }
        "project.add" => format!("A new project, {project}, was added to release-monitoring."),
        "project.edit" => format!("A project, {project}, was edited in release-monitoring."),
        "project.remove" => {
            // The project page is gone.
            url = None;
            format!("A project, {project}, was deleted in release-monitoring.")
        }
        "project.flag" => format!("A flag was created on project {project} in release-monitoring."),
        "project.flag.set" => {
            url = Some(format!("{ANITYA}/flags/"));
            format!(
                "A flag '{}' was {} in release-monitoring.",
                text_at(m, &["flag"]).as_deref().unwrap_or("?"),
                str_at(m, &["state"]).unwrap_or("changed")
            )
        }
        "project.map.new" => {
            if fedora {
                v.package(str_at(m, &["new"]));
            }
            format!("A new mapping was created for project {project} in release-monitoring.")
        }
        "project.map.update" => {
            if fedora {
                v.package(str_at(m, &["prev"]));
                v.package(str_at(m, &["new"]));
            }
            format!("A mapping for project {project} was edited in release-monitoring.")
        }
        "project.map.remove" => {
            format!("A mapping for project {project} was deleted in release-monitoring.")
        }
        "project.version.update" => format!(
            "A new version '{}' was found for project {project} in release-monitoring.",
            str_at(m, &["upstream_version"]).unwrap_or("?")
        ),
        "project.version.update.v2" => {
            for p in arr_at(m, &["packages"]).unwrap_or_default() {
                if str_at(p, &["distro"]) == Some(FEDORA) {
                    v.package(str_at(p, &["package_name"]));
                }
            }
            format!(
                "A new versions '{}' were found for project {project} in release-monitoring.",
                join(strs_at(m, &["upstream_versions"]), ", ")
            )
        }
        "project.version.remove" => format!(
            "A version '{}' was deleted in project {project} in release-monitoring.",
            str_at(m, &["version"]).unwrap_or("?")
        ),
        "project.version.remove.v2" => {
            let versions: Vec<&str> = strs_at(m, &["versions"]).collect();
            match versions.as_slice() {
                [one] => format!(
                    "A version '{one}' was deleted in project {project} in release-monitoring."
                ),
                few if few.len() <= 5 => format!(
                    "A versions '{}' were deleted in project {project} in release-monitoring.",
                    few.join(", ")
                ),
                many => format!(
                    "{} versions entries were deleted in project {project} in release-monitoring.",
                    many.len()
                ),
            }
        }
        other => format!("Anitya {}: {project}", other.replace('.', " ")),
    };
    v.url = url;
    v.agent = str_at(m, &["agent"]).map(str::to_owned);
    details(&mut v, body, m, project_page.as_deref());

    let trust = fedmsg::trust(msg);
    if !trust.attribute {
        v.withhold_attribution();
    }
    if !trust.link {
        v.url = None;
    }
    v
}

/// `/distro/<name>/`: the distribution's web page.
fn distro_page(name: Option<&str>) -> Option<String> {
    Some(format!("{ANITYA}/distro/{}/", link::component(name?)))
}

fn details(v: &mut View, body: &Value, m: &Value, project_page: Option<&str>) {
    let d = &mut v.details;
    d.opt("Project", str_at(body, &["project", "name"]))
        .opt("Project page", project_page)
        .opt(
            "Homepage",
            str_at(body, &["project", "homepage"]).and_then(link::safe),
        )
        .opt("Backend", str_at(body, &["project", "backend"]))
        .opt("Ecosystem", str_at(body, &["project", "ecosystem"]))
        .opt(
            "Distribution",
            str_at(body, &["distro", "name"]).or_else(|| str_at(m, &["distro"])),
        );
    if let Some(new) = str_at(m, &["upstream_version"]) {
        d.field("New version", new);
    }
    let found: Vec<&str> = strs_at(m, &["upstream_versions"]).collect();
    if !found.is_empty() {
        d.field("New versions", join(found, ", "));
    }
    d.opt("Previous version", str_at(m, &["old_version"]));
    let removed: Vec<&str> = strs_at(m, &["versions"]).take(50).collect();
    if !removed.is_empty() && str_at(m, &["old_version"]).is_none() {
        d.field("Versions", join(removed, ", "));
    }
    let packages: Vec<String> = arr_at(m, &["packages"])
        .unwrap_or_default()
        .iter()
        .take(50)
        .filter_map(|p| {
            Some(format!(
                "{} ({})",
                str_at(p, &["package_name"])?,
                str_at(p, &["distro"])?
            ))
        })
        .collect();
    if !packages.is_empty() {
        d.field("Packages", packages.join(", "));
    }
    d.opt("Mapping", str_at(m, &["new"]))
        .opt("Previous mapping", str_at(m, &["prev"]))
        .opt("Reason", str_at(m, &["reason"]));
    if let Some(changes) = at(m, &["changes"]).and_then(Value::as_object) {
        for (field, change) in changes.iter().take(20) {
            let old = text_at(change, &["old"]).unwrap_or_default();
            let new = text_at(change, &["new"]).unwrap_or_default();
            d.field(&format!("Changed {field}"), format!("{old} → {new}"));
        }
    }
    d.opt("By", str_at(m, &["agent"]));
}
