//! RPM's version order and the names Fedora builds carry: splitting an NVR from the right,
//! comparing versions the way `rpmvercmp` does (tilde before, caret after), and naming the
//! branch a dist tag, Koji target or tag belongs to.
//!
//! The comparison itself is the `rpm-version` crate's, which follows `rpmvercmp.c`; this
//! module only decides what is compared.

use rpm_version::Evr;
use std::cmp::Ordering;

/// Compares two `[epoch:]version[-release]` strings in RPM order.
pub fn compare_evr(a: &str, b: &str) -> Ordering {
    rpm_version::rpm_evr_compare(a, b)
}

/// Compares two bare versions (no epoch, no release) in RPM order.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    Evr::new("", a, "").cmp(&Evr::new("", b, ""))
}

/// A build's name, version and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nvr<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub release: &'a str,
}

impl<'a> Nvr<'a> {
    /// Splits from the right, as names may hold dashes and versions and releases may not.
    pub fn parse(nvr: &'a str) -> Option<Nvr<'a>> {
        let (nv, release) = nvr.rsplit_once('-')?;
        let (name, version) = nv.rsplit_once('-')?;
        // An epoch written into the NVR (`name-1:2.0-1`) is not part of the version.
        let version = version.split_once(':').map_or(version, |(_, v)| v);
        (!name.is_empty() && !version.is_empty() && !release.is_empty()).then_some(Nvr {
            name,
            version,
            release,
        })
    }

    /// The branch the release's dist tag names (`1.fc43` → `f43`, `2.el9` → `epel9`).
    pub fn branch(&self, rawhide: Option<u32>) -> Option<String> {
        dist_branch(self.release, rawhide)
    }
}

/// The branch of a release's dist tag: the last `fcNN` or `elNN` part.
pub fn dist_branch(release: &str, rawhide: Option<u32>) -> Option<String> {
    release
        .split(['.', '_', '~', '^', '+'])
        .rev()
        .find_map(|part| {
            if let Some(n) = part.strip_prefix("fc").and_then(number) {
                return Some(fedora(n, rawhide));
            }
            part.strip_prefix("el")
                .and_then(number)
                .map(|n| format!("epel{n}"))
        })
}

/// The release number a dist tag names, for learning which one Rawhide is.
pub fn dist_number(release: &str) -> Option<u32> {
    release
        .split(['.', '_', '~', '^', '+'])
        .rev()
        .find_map(|part| part.strip_prefix("fc").and_then(number))
}

/// The branch a Koji target or tag belongs to: `rawhide`, `f43-candidate`, `f43-updates-
/// testing-pending`, `f44-build-side-123`, `epel9-testing`, or the bare release tag `f43`.
pub fn tag_branch(tag: &str, rawhide: Option<u32>) -> Option<String> {
    if tag == "rawhide" {
        return Some("rawhide".to_owned());
    }
    let head = tag.split('-').next().unwrap_or_default();
    if let Some(n) = head.strip_prefix('f').and_then(number) {
        return Some(fedora(n, rawhide));
    }
    if let Some(n) = head.strip_prefix("epel").and_then(number) {
        return Some(format!("epel{n}"));
    }
    head.strip_prefix("eln").map(|_| "eln".to_owned())
}

/// Whether a tag is where a build lands once it is stable: the bare release tag (`f44`,
/// which is how Rawhide builds reach stable) or the branch's updates tag (`f43-updates`).
pub fn is_stable_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let head = parts.next().unwrap_or_default();
    let release = head.strip_prefix('f').and_then(number).is_some()
        || head.strip_prefix("epel").and_then(number).is_some();
    release
        && matches!(
            (parts.next(), parts.next()),
            (None, _) | (Some("updates"), None)
        )
}

/// A Bodhi release or Greenwave product version as a branch: `F43` / `fedora-43` → `f43`,
/// `EPEL-9` / `epel-9` → `epel9`.
pub fn release_branch(name: &str, rawhide: Option<u32>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let compact: String = lower.chars().filter(|c| *c != '-').collect();
    if let Some(n) = compact
        .strip_prefix("fedora")
        .or_else(|| compact.strip_prefix('f'))
        .and_then(number)
    {
        return Some(fedora(n, rawhide));
    }
    compact
        .strip_prefix("epel")
        .and_then(number)
        .map(|n| format!("epel{n}"))
}

fn fedora(n: u32, rawhide: Option<u32>) -> String {
    if rawhide == Some(n) {
        "rawhide".to_owned()
    } else {
        format!("f{n}")
    }
}

fn number(s: &str) -> Option<u32> {
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Orders branches as a packager reads them: Rawhide, then Fedora newest first, then EPEL
/// newest first, then anything else by name.
pub fn branch_order(a: &str, b: &str) -> Ordering {
    fn key(b: &str) -> (u8, std::cmp::Reverse<u32>, &str) {
        if b == "rawhide" {
            return (0, std::cmp::Reverse(0), b);
        }
        if let Some(n) = b.strip_prefix('f').and_then(number) {
            return (1, std::cmp::Reverse(n), b);
        }
        if let Some(n) = b.strip_prefix("epel").and_then(number) {
            return (2, std::cmp::Reverse(n), b);
        }
        (3, std::cmp::Reverse(0), b)
    }
    key(a).cmp(&key(b))
}
