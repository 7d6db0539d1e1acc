//! The settings window's catch-up keys of `[herald]`: whether gaps are filled from the bus
//! archive by themselves, the longest gap filled without asking, and the archive's address.
//! They are checked by the same parsers the config uses ([`crate::config::span`],
//! [`crate::config::archive_base_url`]), so the window refuses exactly what loading the
//! file would refuse, with the field to fix. `[herald.catch_up_tuning]` stays out of the
//! window: nobody needs to touch it on the Fedora bus.

use super::save::{apply, apply_by};
use super::{Settings, SettingsError};
use crate::config::archive_base_url;
use crate::config::edit::ConfigEditor;
use crate::config::{span, HeraldSettings, FEDORA_DATAGREPPER};

pub(crate) fn check(s: &Settings) -> Result<(), SettingsError> {
    longest_gap(&s.catch_up_max)?;
    archive_url(&s.datagrepper_url)?;
    Ok(())
}

/// Sets the three keys; a length or address meaning the same as the file's (`72h` for `3d`,
/// an address without its trailing slash) leaves the key as written.
pub(crate) fn write(e: &mut ConfigEditor, s: &Settings) -> Result<(), SettingsError> {
    let d = HeraldSettings::default();
    let at = |key| ["herald", key];
    apply(e, &at("catch_up"), s.catch_up.into(), d.catch_up.into())?;
    apply_by(
        e,
        &at("catch_up_max"),
        s.catch_up_max.trim().into(),
        d.catch_up_max.as_str().into(),
        |a, b| same(a, b, span),
    )?;
    apply_by(
        e,
        &at("datagrepper_url"),
        s.datagrepper_url.trim().into(),
        d.datagrepper_url.as_str().into(),
        |a, b| same(a, b, |u| archive_base_url(u).ok()),
    )
}

/// Whether two written values are strings that `parse` reads as the same thing.
fn same<T: PartialEq>(a: &toml::Value, b: &toml::Value, parse: impl Fn(&str) -> Option<T>) -> bool {
    match (a.as_str().map(&parse), b.as_str().map(&parse)) {
        (Some(Some(a)), Some(Some(b))) => a == b,
        _ => a == b,
    }
}

fn longest_gap(text: &str) -> Result<std::time::Duration, SettingsError> {
    let reason = if text.trim().is_empty() {
        "empty: write a length such as 12h, 3d or 1w"
    } else {
        "not a length: write a whole number and one of s, m, h, d or w, such as 12h, 3d or 1w"
    };
    span(text).ok_or_else(|| SettingsError::invalid("catch_up_max", reason))
}

fn archive_url(text: &str) -> Result<url::Url, SettingsError> {
    let invalid = |reason: String| SettingsError::invalid("datagrepper_url", reason);
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(format!(
            "the archive address is empty; Fedora's is {FEDORA_DATAGREPPER}"
        )));
    }
    // url's errors never quote the input, so a password typed into it cannot leak here.
    url::Url::parse(text).map_err(|e| {
        invalid(format!(
            "not a web address ({e}); write it as https://host/path/"
        ))
    })?;
    archive_base_url(text).map_err(invalid)
}
