//! The `[[herald.rules]]` entries as one piece of text, for editing them in a text box:
//! [`ConfigEditor::rules_text`] shows them as written (comments included) and
//! [`ConfigEditor::set_rules`] writes back a whole list, touching only the entries that
//! changed, were added, removed or moved.

use super::{entry_id, rule_snippet, ConfigEditor};
use crate::error::ConfigError;
use crate::filter::RuleSpec;
use std::collections::HashMap;
use toml_edit::{DocumentMut, Item, Table, Value};

impl ConfigEditor {
    /// The rules as `[[herald.rules]]` tables: as written in the file, comments and all, or,
    /// for a file that writes them inline (`rules = [{ … }]`), as the editor would write them.
    /// Empty when there are none.
    pub fn rules_text(&self) -> Result<String, ConfigError> {
        let written = self
            .doc
            .get("herald")
            .and_then(Item::as_table_like)
            .and_then(|h| h.get("rules"));
        let text = match written {
            None => String::new(),
            Some(Item::ArrayOfTables(aot)) => {
                let mut herald = Table::new();
                herald.set_implicit(true);
                herald.insert("rules", Item::ArrayOfTables(aot.clone()));
                let mut doc = DocumentMut::new();
                doc.insert("herald", Item::Table(herald));
                doc.to_string()
            }
            Some(_) => {
                let mut out = String::new();
                for rule in self.rules()? {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(&rule_snippet(&rule)?);
                }
                out
            }
        };
        Ok(text.trim_start_matches(['\n', '\r']).to_owned())
    }

    /// Makes `[[herald.rules]]` hold exactly `rules`, in this order. Entries whose rule is
    /// unchanged stay as written; a changed rule replaces its entry in place (keeping the
    /// comment above it); new rules are appended, missing ones removed.
    pub fn set_rules(&mut self, rules: &[RuleSpec]) -> Result<(), ConfigError> {
        let written: HashMap<String, RuleSpec> = self
            .rules()?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        for id in written.keys() {
            if !rules.iter().any(|r| &r.id == id) {
                self.remove_rule(id);
            }
        }
        for rule in rules {
            if written.get(&rule.id) != Some(rule) {
                self.upsert_rule(rule)?;
            }
        }
        let order: Vec<String> = self.rules()?.into_iter().map(|r| r.id).collect();
        if order
            .iter()
            .map(String::as_str)
            .ne(rules.iter().map(|r| r.id.as_str()))
        {
            self.reorder_rules(rules);
        }
        Ok(())
    }

    /// Puts the entries in the order of `rules` (every entry's id is in `rules`).
    fn reorder_rules(&mut self, rules: &[RuleSpec]) {
        let rank = |id: Option<&str>| {
            rules
                .iter()
                .position(|r| Some(r.id.as_str()) == id)
                .unwrap_or(usize::MAX)
        };
        let Some(herald) = self.doc.get_mut("herald").and_then(Item::as_table_like_mut) else {
            return;
        };
        match herald.get_mut("rules") {
            Some(Item::ArrayOfTables(aot)) => {
                // The entries trade places, not the spots in the file they are printed at.
                let mut positions: Vec<Option<isize>> = aot.iter().map(Table::position).collect();
                positions.sort();
                let mut tables: Vec<Table> = aot.iter().cloned().collect();
                tables.sort_by_key(|t| rank(entry_id(t)));
                aot.clear();
                for (mut t, pos) in tables.into_iter().zip(positions) {
                    if let Some(p) = pos {
                        t.set_position(Some(p));
                    }
                    aot.push(t);
                }
            }
            Some(Item::Value(Value::Array(arr))) => {
                let mut values: Vec<Value> = arr.iter().cloned().collect();
                values.sort_by_key(|v| rank(v.as_inline_table().and_then(|t| entry_id(t))));
                arr.clear();
                for v in values {
                    arr.push_formatted(v);
                }
            }
            _ => {}
        }
    }
}
