//! The hosts each producer's links are known to go to. A message names whatever link its
//! sender likes, so a spoofed "your build failed" could point at a look-alike site; a link
//! is offered to open only when its host is one the producer is known to use — Fedora's
//! production servers by default, or what `[herald.hosts]` (and `koji_web_base`,
//! `pulp_base`) configure. Any other link is shown as text, with its host.

use serde::{Deserialize, Serialize};
use url::Url;

/// Web roots per producer, as written in `[herald.hosts]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownHosts {
    #[serde(default = "fedora_koji")]
    pub koji: Vec<String>,
    #[serde(default = "fedora_bodhi")]
    pub bodhi: Vec<String>,
    #[serde(default = "fedora_copr")]
    pub copr: Vec<String>,
    #[serde(default = "fedora_anitya")]
    pub anitya: Vec<String>,
    /// Fedora runs no Pulp that announces on its bus: none unless configured.
    #[serde(default)]
    pub pulp: Vec<String>,
    /// Bugzilla's own messages and the bugs the-new-hotness files.
    #[serde(default = "red_hat_bugzilla")]
    pub bugzilla: Vec<String>,
    /// The commits of dist-git pushes.
    #[serde(default = "fedora_dist_git", rename = "dist-git")]
    pub dist_git: Vec<String>,
    /// The runs CI Messages link: Fedora CI's Jenkins, Testing Farm's artifacts, openQA.
    #[serde(default = "fedora_ci")]
    pub ci: Vec<String>,
    /// The runs behind ResultsDB's results (the CI hosts) and ResultsDB itself.
    #[serde(default = "fedora_resultsdb")]
    pub resultsdb: Vec<String>,
    /// The Bodhi updates and Koji builds Greenwave decides and WaiverDB waives about.
    #[serde(default = "fedora_gating")]
    pub gating: Vec<String>,
    #[serde(default = "fedora_koschei")]
    pub koschei: Vec<String>,
}

fn fedora_koji() -> Vec<String> {
    vec!["https://koji.fedoraproject.org".to_owned()]
}
fn fedora_bodhi() -> Vec<String> {
    vec!["https://bodhi.fedoraproject.org".to_owned()]
}
fn fedora_copr() -> Vec<String> {
    vec!["https://copr.fedorainfracloud.org".to_owned()]
}
fn fedora_anitya() -> Vec<String> {
    vec!["https://release-monitoring.org".to_owned()]
}
fn red_hat_bugzilla() -> Vec<String> {
    vec!["https://bugzilla.redhat.com".to_owned()]
}
fn fedora_dist_git() -> Vec<String> {
    vec!["https://src.fedoraproject.org".to_owned()]
}
fn fedora_ci() -> Vec<String> {
    [
        "https://osci-jenkins-1.ci.fedoraproject.org",
        "https://artifacts.dev.testing-farm.io",
        "https://openqa.fedoraproject.org",
    ]
    .map(str::to_owned)
    .to_vec()
}
fn fedora_resultsdb() -> Vec<String> {
    let mut v = fedora_ci();
    v.push("https://resultsdb.fedoraproject.org".to_owned());
    v
}
fn fedora_gating() -> Vec<String> {
    [fedora_bodhi(), fedora_koji()].concat()
}
fn fedora_koschei() -> Vec<String> {
    vec!["https://koschei.fedoraproject.org".to_owned()]
}

impl Default for KnownHosts {
    fn default() -> Self {
        KnownHosts {
            koji: fedora_koji(),
            bodhi: fedora_bodhi(),
            copr: fedora_copr(),
            anitya: fedora_anitya(),
            pulp: Vec::new(),
            bugzilla: red_hat_bugzilla(),
            dist_git: fedora_dist_git(),
            ci: fedora_ci(),
            resultsdb: fedora_resultsdb(),
            gating: fedora_gating(),
            koschei: fedora_koschei(),
        }
    }
}

impl KnownHosts {
    pub fn is_default(&self) -> bool {
        *self == KnownHosts::default()
    }

    /// Every configured root with its key, for validation.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("koji", &self.koji),
            ("bodhi", &self.bodhi),
            ("copr", &self.copr),
            ("anitya", &self.anitya),
            ("pulp", &self.pulp),
            ("bugzilla", &self.bugzilla),
            ("dist-git", &self.dist_git),
            ("ci", &self.ci),
            ("resultsdb", &self.resultsdb),
            ("gating", &self.gating),
            ("koschei", &self.koschei),
        ]
        .into_iter()
        .flat_map(|(k, v)| v.iter().map(move |u| (k, u.as_str())))
    }

    /// The roots a rendered `source` may link to.
    fn roots(&self, source: &str) -> &[String] {
        match source {
            "koji" | "koji-messagebus" | "koji-protonmsg" => &self.koji,
            "bodhi" => &self.bodhi,
            "copr" => &self.copr,
            "anitya" => &self.anitya,
            "pulp" => &self.pulp,
            "bugzilla" | "hotness" => &self.bugzilla,
            "dist-git" => &self.dist_git,
            "ci" => &self.ci,
            "resultsdb" => &self.resultsdb,
            "greenwave" | "waiverdb" => &self.gating,
            "koschei" => &self.koschei,
            _ => &[],
        }
    }
}

/// Why a configured root is refused, or `Ok` when it is an http(s) URL with a host and no
/// credentials.
pub fn check_root(raw: &str) -> Result<(), String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{raw:?} is not an http(s) URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{raw:?} names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{raw:?} carries credentials"));
    }
    Ok(())
}

/// The same host and port (the scheme may differ: Fedora's older messages say `http`).
fn same_host(link: &Url, root: &str) -> bool {
    Url::parse(root.trim()).is_ok_and(|r| {
        r.host_str().is_some() && r.host_str() == link.host_str() && r.port() == link.port()
    })
}

/// Whether `url`, a link a `source` message carries, goes to a host that producer is known
/// to use: one of `hosts`' roots for it, or one of `extra` (configured per-connection roots).
pub fn trusted(hosts: &KnownHosts, extra: &[&str], source: &str, url: &str) -> bool {
    let Ok(link) = Url::parse(url) else {
        return false;
    };
    if !matches!(link.scheme(), "http" | "https") || link.host_str().is_none() {
        return false;
    }
    hosts
        .roots(source)
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .any(|root| same_host(&link, root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "koji",
        "https://koji.fedoraproject.org/koji/buildinfo?buildID=1",
        true
    )]
    #[case("koji-messagebus", "https://KOJI.fedoraproject.org/koji/x", true)]
    #[case("koji", "http://koji.fedoraproject.org/koji/x", true)]
    #[case("koji", "https://koji.fedoraproject.org.evil.example/koji/x", false)]
    #[case("koji", "https://koji.fedoraproject.org:8443/koji/x", false)]
    #[case("koji", "https://bodhi.fedoraproject.org/updates/x", false)]
    #[case("bodhi", "https://bodhi.fedoraproject.org/updates/x", true)]
    #[case("copr", "https://copr.fedorainfracloud.org/coprs/a/b/build/1/", true)]
    #[case("anitya", "https://release-monitoring.org/project/1/", true)]
    #[case("anitya", "https://release-monitoring.org.evil.example/", false)]
    #[case("pulp", "https://pulp.example.com/pulp/api/v2/tasks/1/", false)]
    #[case("hotness", "https://bugzilla.redhat.com/2394521", true)]
    #[case("bugzilla", "https://bugzilla.redhat.com/show_bug.cgi?id=1", true)]
    #[case("bugzilla", "https://bugzilla.redhat.com.evil.example/", false)]
    #[case(
        "dist-git",
        "https://src.fedoraproject.org/rpms/x/c/abc?branch=rawhide",
        true
    )]
    #[case("dist-git", "https://pagure.io/x", false)]
    #[case("ci", "https://artifacts.dev.testing-farm.io/0a1b/", true)]
    #[case("ci", "https://bodhi.fedoraproject.org/updates/x", false)]
    #[case("resultsdb", "https://openqa.fedoraproject.org/tests/1", true)]
    #[case("greenwave", "https://bodhi.fedoraproject.org/updates/x", true)]
    #[case("waiverdb", "https://koji.fedoraproject.org/koji/search?terms=x", true)]
    #[case("waiverdb", "https://src.fedoraproject.org/rpms/x", false)]
    #[case("koschei", "https://koschei.fedoraproject.org/package/x", true)]
    #[case("unknown", "https://koji.fedoraproject.org/koji/x", false)]
    #[case("koji", "smb://koji.fedoraproject.org/x", false)]
    #[case("koji", "/koji/x", false)]
    fn fedora_hosts_by_default(#[case] source: &str, #[case] url: &str, #[case] want: bool) {
        assert_eq!(trusted(&KnownHosts::default(), &[], source, url), want);
    }

    #[test]
    fn configured_roots_count_too() {
        let url = "https://pulp.example.com/pulp/api/v2/tasks/1/";
        let h = KnownHosts::default();
        assert!(trusted(&h, &["https://pulp.example.com"], "pulp", url));
        let mut h = KnownHosts::default();
        h.pulp.push("https://pulp.example.com/".into());
        assert!(trusted(&h, &[], "pulp", url));
    }

    #[rstest]
    #[case("https://koji.example.org/koji", true)]
    #[case("http://koji.example.org", true)]
    #[case("smb://koji.example.org", false)]
    #[case("https://user:pw@koji.example.org", false)]
    #[case("koji.example.org", false)]
    #[case("", false)]
    fn roots_are_checked(#[case] raw: &str, #[case] ok: bool) {
        assert_eq!(check_root(raw).is_ok(), ok, "{raw}");
    }

    #[test]
    fn toml_keeps_unwritten_defaults() {
        let h: KnownHosts = toml::from_str("pulp = [\"https://pulp.example.com\"]").expect("toml");
        assert_eq!(h.koji, fedora_koji());
        assert_eq!(h.pulp, ["https://pulp.example.com"]);
        assert!(toml::from_str::<KnownHosts>("kojii = []").is_err());
        let h: KnownHosts =
            toml::from_str("dist-git = [\"https://git.example.org\"]").expect("toml");
        assert_eq!(h.dist_git, ["https://git.example.org"]);
        assert_eq!(h.gating, KnownHosts::default().gating);
    }
}
