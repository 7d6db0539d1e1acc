//! Single settings by their dotted path (`["herald", "notifications", "enabled"]`), for the
//! settings window: a key that is set again keeps its place, its comment and the spacing
//! around it; a key that is removed takes the tables it leaves empty with it. Paths may go
//! through ordinary tables, dotted keys and inline tables alike.

use super::ConfigEditor;
use crate::error::ConfigError;
use toml_edit::{InlineTable, Item, Table, TableLike, Value};

impl ConfigEditor {
    /// The value at `path` as written, or `None` when the key (or a table on the way) is not
    /// in the file. Tables come back as TOML tables.
    pub fn value(&self, path: &[&str]) -> Option<toml::Value> {
        let (last, parents) = path.split_last()?;
        let mut table: &dyn TableLike = self.doc.as_table();
        for key in parents {
            table = table.get(key)?.as_table_like()?;
        }
        plain_item(table.get(last)?)
    }

    /// Sets the value at `path`, creating the tables on the way. A value that replaces
    /// another keeps the old one's comment and spacing.
    pub fn set_value(&mut self, path: &[&str], value: impl Into<Value>) -> Result<(), ConfigError> {
        let (last, parents) = path
            .split_last()
            .ok_or_else(|| not_a_table(path, "an empty key"))?;
        let mut item: &mut Item = self.doc.as_item_mut();
        for (depth, key) in parents.iter().enumerate() {
            // Inside an inline table everything must be inline as well.
            let inline = matches!(item, Item::Value(Value::InlineTable(_)));
            let table = item
                .as_table_like_mut()
                .ok_or_else(|| not_a_table(&path[..depth], "a value, not a table"))?;
            if table.get(key).is_none() {
                let child = if inline {
                    Item::Value(Value::InlineTable(InlineTable::new()))
                } else {
                    let mut t = Table::new();
                    // Printed only once it holds keys of its own: a new `[herald.profile]`
                    // needs no empty `[herald]` above it.
                    t.set_implicit(true);
                    Item::Table(t)
                };
                table.insert(key, child);
            }
            item = table
                .get_mut(key)
                .ok_or_else(|| not_a_table(&path[..=depth], "not editable"))?;
        }
        let table = item
            .as_table_like_mut()
            .ok_or_else(|| not_a_table(parents, "a value, not a table"))?;
        let mut value = value.into();
        match table.get_mut(last) {
            Some(Item::Value(old)) => {
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            Some(old) => *old = Item::Value(value),
            None => {
                // Formatted as `key = value`, whatever the neighbours look like.
                value.decor_mut().clear();
                table.insert(last, Item::Value(value));
            }
        }
        Ok(())
    }

    /// Removes the key at `path`, and every table on the way that this leaves empty. False
    /// when there was no such key.
    pub fn remove_value(&mut self, path: &[&str]) -> bool {
        remove_in(self.doc.as_table_mut(), path)
    }
}

fn remove_in(table: &mut dyn TableLike, path: &[&str]) -> bool {
    match path {
        [] => false,
        [last] => table.remove(last).is_some(),
        [first, rest @ ..] => {
            let Some(child) = table.get_mut(first).and_then(Item::as_table_like_mut) else {
                return false;
            };
            let removed = remove_in(child, rest);
            if removed && child.is_empty() {
                table.remove(first);
            }
            removed
        }
    }
}

fn not_a_table(path: &[&str], what: &str) -> ConfigError {
    ConfigError::Invalid {
        key: path.join("."),
        reason: format!("is {what}; edit the file by hand"),
    }
}

/// A written item as a plain TOML value (formatting and comments dropped).
fn plain_item(item: &Item) -> Option<toml::Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(plain_value(v)),
        Item::Table(t) => Some(toml::Value::Table(
            t.iter()
                .filter_map(|(k, v)| Some((k.to_owned(), plain_item(v)?)))
                .collect(),
        )),
        Item::ArrayOfTables(a) => Some(toml::Value::Array(
            a.iter()
                .filter_map(|t| plain_item(&Item::Table(t.clone())))
                .collect(),
        )),
    }
}

fn plain_value(v: &Value) -> toml::Value {
    match v {
        Value::String(s) => toml::Value::String(s.value().clone()),
        Value::Integer(i) => toml::Value::Integer(*i.value()),
        Value::Float(f) => toml::Value::Float(*f.value()),
        Value::Boolean(b) => toml::Value::Boolean(*b.value()),
        Value::Datetime(d) => d
            .value()
            .to_string()
            .parse()
            .map(toml::Value::Datetime)
            .unwrap_or_else(|_| toml::Value::String(d.value().to_string())),
        Value::Array(a) => toml::Value::Array(a.iter().map(plain_value).collect()),
        Value::InlineTable(t) => toml::Value::Table(
            t.iter()
                .map(|(k, v)| (k.to_owned(), plain_value(v)))
                .collect(),
        ),
    }
}
