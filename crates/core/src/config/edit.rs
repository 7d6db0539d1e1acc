//! Changing the config file the way a person would: only the `[[herald.rules]]` entries a
//! command touches change, and every comment, blank line and key order elsewhere stays as the
//! user wrote it. Only what differs from the defaults is written: a rule's default priority is
//! left out, and a default rule is only ever written as the override or `disabled` entry the
//! user asked for.
//!
//! Every change goes through [`ConfigEditor::modify`]: it locks the config against Herald's
//! other processes, reads it, lets the caller edit it and writes it back before letting go,
//! so the tray's Mute, the settings window and `herald rules` never write over each other.
//! Files are replaced atomically and privately (see `config/write.rs`): a crash never leaves
//! half a config, and the file is 0600 from its first byte (a wider mode it had is tightened).

use super::{write, Config};
use crate::error::ConfigError;
use crate::filter::{Action, Conditions, Names, RuleSpec, DEFAULT_PRIORITY};
use std::path::{Path, PathBuf};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

/// Keys holding [`crate::filter::Names`]: written as a plain list when only `any` is used.
const NAME_KEYS: [&str; 6] = [
    "users",
    "groups",
    "packages",
    "containers",
    "modules",
    "flatpaks",
];

/// A config file open for editing.
#[derive(Debug, Clone)]
pub struct ConfigEditor {
    path: PathBuf,
    doc: DocumentMut,
    original: String,
}

impl ConfigEditor {
    /// Locks the config at `path` against Herald's other writers (waiting at most five
    /// seconds, then [`ConfigError::Locked`]), reads it (a missing file is an empty
    /// document), runs `edit` on it and, when `edit` succeeds and changed the text, writes
    /// it back, all before the lock is let go. Nothing is written when `edit` fails.
    ///
    /// `edit` must not call [`ConfigEditor::save`] or `modify` for the same file: the lock
    /// is not reentrant, and they would wait for it in vain.
    pub fn modify<T, E>(
        path: &Path,
        edit: impl FnOnce(&mut ConfigEditor) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<ConfigError>,
    {
        let _lock = write::lock(path, write::LOCK_WAIT)?;
        let mut editor = ConfigEditor::load(path)?;
        let out = edit(&mut editor)?;
        if editor.is_changed() {
            editor.write()?;
        }
        Ok(out)
    }

    /// Reads `path`; a missing file is an empty document (created on [`ConfigEditor::save`]).
    pub fn load(path: &Path) -> Result<ConfigEditor, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        ConfigEditor::from_text(&text, path)
    }

    /// Edits `text`, which [`ConfigEditor::save`] writes to `path`.
    pub fn from_text(text: &str, path: &Path) -> Result<ConfigEditor, ConfigError> {
        let doc: DocumentMut =
            text.parse()
                .map_err(|e: toml_edit::TomlError| ConfigError::Invalid {
                    key: path.display().to_string(),
                    reason: format!("not valid TOML: {e}"),
                })?;
        Ok(ConfigEditor {
            path: path.to_owned(),
            doc,
            original: text.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text with the edits made so far.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }

    /// The text as it was read.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// True when the text differs from what was read.
    pub fn is_changed(&self) -> bool {
        self.text() != self.original
    }

    /// The edited file as Herald would load it: fails when a rule does not compile on some
    /// connection, or anything else is invalid. Check this before saving.
    pub fn config(&self) -> Result<Config, ConfigError> {
        Config::from_toml(&self.text(), &self.path)
    }

    /// The rules in `[[herald.rules]]`, as written (defaults not applied).
    pub fn rules(&self) -> Result<Vec<RuleSpec>, ConfigError> {
        let parse_err = |source| ConfigError::Parse {
            path: self.path.clone(),
            source: Box::new(source),
        };
        let mut table: toml::Table = toml::from_str(&self.text()).map_err(parse_err)?;
        let rules = match table.remove("herald") {
            Some(toml::Value::Table(mut h)) => h.remove("rules"),
            _ => None,
        };
        match rules {
            Some(r) => r.try_into().map_err(parse_err),
            None => Ok(Vec::new()),
        }
    }

    /// The configured rule with this id, if any.
    pub fn rule(&self, id: &str) -> Result<Option<RuleSpec>, ConfigError> {
        Ok(self.rules()?.into_iter().find(|r| r.id == id))
    }

    /// Replaces the `[[herald.rules]]` entry with the rule's id, or appends the rule.
    pub fn upsert_rule(&mut self, rule: &RuleSpec) -> Result<(), ConfigError> {
        let table = rule_table(rule)?;
        self.put(&rule.id, table)
    }

    /// Writes `{ id, disabled = true }`: turns off a default rule, saying nothing else.
    pub fn disable_rule(&mut self, id: &str) -> Result<(), ConfigError> {
        let mut table = Table::new();
        table.insert("id", toml_edit::value(id));
        table.insert("disabled", toml_edit::value(true));
        self.put(id, table)
    }

    /// Removes the entry with this id; false when there is none.
    pub fn remove_rule(&mut self, id: &str) -> bool {
        let Some(herald) = self.doc.get_mut("herald").and_then(Item::as_table_like_mut) else {
            return false;
        };
        let (removed, empty) = match herald.get_mut("rules") {
            Some(Item::ArrayOfTables(aot)) => {
                let before = aot.len();
                aot.retain(|t| entry_id(t) != Some(id));
                (aot.len() != before, aot.is_empty())
            }
            Some(Item::Value(Value::Array(arr))) => {
                let before = arr.len();
                arr.retain(|v| v.as_inline_table().and_then(|t| entry_id(t)) != Some(id));
                (arr.len() != before, arr.is_empty())
            }
            _ => (false, false),
        };
        if removed && empty {
            herald.remove("rules");
        }
        removed
    }

    /// Writes the file, atomically and privately, under the lock [`ConfigEditor::modify`]
    /// takes. The file may have changed since this editor read it, and that change is then
    /// overwritten: read-modify-write with [`ConfigEditor::modify`] instead.
    pub fn save(&self) -> Result<(), ConfigError> {
        let _lock = write::lock(&self.path, write::LOCK_WAIT)?;
        self.write()
    }

    /// Replaces the file with the text; the caller holds the lock.
    fn write(&self) -> Result<(), ConfigError> {
        write::replace(&self.path, self.text().as_bytes())
    }

    /// Puts `table` in place of the entry with `id`, keeping that entry's comments and place,
    /// or appends it.
    fn put(&mut self, id: &str, mut table: Table) -> Result<(), ConfigError> {
        let not_rules = || ConfigError::Invalid {
            key: "herald.rules".to_owned(),
            reason: "must be an array of rule tables ([[herald.rules]])".to_owned(),
        };
        let inline_parent = matches!(
            self.doc.get("herald"),
            Some(Item::Value(Value::InlineTable(_)))
        );
        if !self.doc.contains_key("herald") {
            let mut herald = Table::new();
            // No `[herald]` header of its own: it prints as `[[herald.rules]]` alone.
            herald.set_implicit(true);
            self.doc.insert("herald", Item::Table(herald));
        }
        let herald = self
            .doc
            .get_mut("herald")
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| ConfigError::Invalid {
                key: "herald".to_owned(),
                reason: "must be a table".to_owned(),
            })?;
        match herald.get_mut("rules") {
            None if inline_parent => {
                let mut arr = toml_edit::Array::new();
                arr.push(inline(table));
                herald.insert("rules", toml_edit::value(arr));
            }
            None => {
                let mut aot = ArrayOfTables::new();
                aot.push(table);
                herald.insert("rules", Item::ArrayOfTables(aot));
            }
            Some(Item::ArrayOfTables(aot)) => {
                let found = aot.iter().position(|t| entry_id(t) == Some(id));
                match found {
                    Some(i) => {
                        if let Some(old) = aot.get(i) {
                            *table.decor_mut() = old.decor().clone();
                            table.set_position(old.position());
                        }
                        aot.replace(i, table);
                    }
                    None => aot.push(table),
                }
            }
            Some(Item::Value(Value::Array(arr))) => {
                let found = arr
                    .iter()
                    .position(|v| v.as_inline_table().and_then(|t| entry_id(t)) == Some(id));
                match found {
                    Some(i) => {
                        let mut new = inline(table);
                        if let Some(old) = arr.get(i) {
                            *new.decor_mut() = old.decor().clone();
                        }
                        arr.replace(i, new);
                    }
                    None => {
                        arr.push(inline(table));
                    }
                }
            }
            Some(_) => return Err(not_rules()),
        }
        Ok(())
    }
}

/// Writes the rule a notification's "Mute `<package>`" action asks for: `mute-<package>`,
/// dropping every message about the package, at `priority` (before the rules it silences).
/// Returns the config as written, for the pipeline to apply at once.
pub fn mute_package(path: &Path, package: &str, priority: i32) -> Result<Config, ConfigError> {
    let mut rule = RuleSpec::new(
        format!("mute-{package}"),
        Action::Drop,
        Conditions {
            packages: Names::any_of([package]),
            ..Conditions::default()
        },
    );
    rule.priority = priority;
    rule.description = Some(format!("Muted from a notification: {package}"));
    ConfigEditor::modify(path, |e| {
        e.upsert_rule(&rule)?;
        // Nothing invalid is written: a rule that cannot compile leaves the file alone.
        e.config()
    })
}

/// Rules written on their own (a `--file` or `--toml` of `herald rules`): one rule table,
/// a `[[rules]]` array, or a `[[herald.rules]]` array as in the config. `path` names the
/// text in messages.
pub fn parse_rules(text: &str, path: &Path) -> Result<Vec<RuleSpec>, ConfigError> {
    let parse_err = |source| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let mut table: toml::Table = toml::from_str(text).map_err(parse_err)?;
    let alone = table.len() == 1;
    let nested = match table.get_mut("herald") {
        Some(toml::Value::Table(h)) if alone => h.remove("rules"),
        _ => None,
    };
    let list = match nested {
        Some(l) => l,
        None if table.len() == 1 && table.get("rules").is_some_and(toml::Value::is_array) => table
            .remove("rules")
            .unwrap_or(toml::Value::Array(Vec::new())),
        None => toml::Value::Array(vec![toml::Value::Table(table)]),
    };
    list.try_into().map_err(parse_err)
}

/// The `[[herald.rules]]` entry the editor writes for `rule`, for showing it.
pub fn rule_snippet(rule: &RuleSpec) -> Result<String, ConfigError> {
    let mut e = ConfigEditor::from_text("", Path::new("rule.toml"))?;
    e.upsert_rule(rule)?;
    Ok(e.text())
}

/// The id of a rule entry, as written.
fn entry_id(t: &dyn TableLike) -> Option<&str> {
    t.get("id").and_then(Item::as_str)
}

/// The order keys are written in: the rule's own settings, then its conditions as
/// [`crate::filter::Conditions`] lists them, then `unless`.
const KEY_ORDER: [&str; 21] = [
    "id",
    "description",
    "priority",
    "action",
    "connections",
    "disabled",
    "topics",
    "sources",
    "kinds",
    "severity_min",
    "users",
    "groups",
    "packages",
    "containers",
    "modules",
    "flatpaks",
    "headers",
    "agents",
    "skip_own",
    "body",
    "unless",
];

fn key_rank(key: &str) -> usize {
    KEY_ORDER
        .iter()
        .position(|k| *k == key)
        .unwrap_or(KEY_ORDER.len())
}

/// A rule table as an inline table, for configs that write `rules = [{ … }]`.
fn inline(table: Table) -> Value {
    let mut t = table.into_inline_table();
    t.fmt();
    Value::InlineTable(t)
}

/// The rule as a `[[herald.rules]]` table: its own keys first, every nested value inline
/// (`unless = { … }`, `body = [{ … }]`), without what the defaults already say.
fn rule_table(rule: &RuleSpec) -> Result<Table, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        key: format!("herald.rules.{}", rule.id),
        reason,
    };
    let text = toml::to_string(rule).map_err(|e| invalid(format!("cannot write it: {e}")))?;
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(format!("cannot write it: {e}")))?;
    let mut table = Table::new();
    for (key, mut item) in doc.into_table() {
        if key == "priority" && item.as_integer() == Some(i64::from(DEFAULT_PRIORITY)) {
            continue;
        }
        item.make_value();
        if let Item::Value(v) = &mut item {
            tidy(&key, v, true);
        }
        table.insert(&key, item);
    }
    table.sort_values_by(|a, _, b, _| key_rank(a.get()).cmp(&key_rank(b.get())));
    table.fmt();
    Ok(table)
}

/// Writes nested values the short way and formats them evenly. At the rule's level and in
/// `unless` (`conditions`), names given as `{ any = ["a"] }` become `["a"]` and header
/// matches drop `match = "all"` (the default).
fn tidy(key: &str, v: &mut Value, conditions: bool) {
    if conditions && NAME_KEYS.contains(&key) {
        let any = v
            .as_inline_table()
            .filter(|t| t.len() == 1)
            .and_then(|t| t.get("any").and_then(Value::as_array).cloned());
        if let Some(any) = any {
            *v = Value::Array(any);
        }
    }
    if conditions && key == "headers" {
        if let Some(t) = v.as_inline_table_mut() {
            if t.get("match").and_then(Value::as_str) == Some("all") {
                t.remove("match");
            }
        }
    }
    match v {
        Value::InlineTable(t) => {
            for (k, inner) in t.iter_mut() {
                let k = k.get().to_owned();
                tidy(&k, inner, conditions && key == "unless");
            }
            if conditions && key == "unless" {
                t.sort_values_by(|a, _, b, _| key_rank(a.get()).cmp(&key_rank(b.get())));
            }
            t.fmt();
        }
        Value::Array(a) => {
            for inner in a.iter_mut() {
                tidy("", inner, false);
            }
            a.fmt();
        }
        _ => {}
    }
    v.decor_mut().clear();
}

mod keys;
mod rules;
#[cfg(test)]
mod tests;
