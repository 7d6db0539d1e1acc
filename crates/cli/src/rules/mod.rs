//! `herald rules`: list the rules in force, add, remove and edit the user's rules in the
//! config file (keeping its comments, writing only what differs from the defaults), and test
//! draft rules against the stored history before saving anything.

mod draft;
mod test;

use crate::terminal::escape;
use crate::{Env, UsageError};
use draft::{check_id, describe, error_chain, rules_from_file, rules_from_text, RuleFlags};
use herald_core::config::edit::{rule_snippet, ConfigEditor};
use herald_core::config::Config;
use herald_core::filter::{default_rules, Action, Conditions, RuleSpec};
use herald_core::packages::notice::{chain_rules, ChainRule};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Every rule in force, in evaluation order, and what happens to messages none matches.
    List(ListArgs),
    /// Add a rule to the config: from flags, `--toml TEXT` or `--file FILE`.
    ///
    /// Example: herald rules add --id chromium --package chromium --action notify
    Add(AddArgs),
    /// Remove a configured rule, or turn off a default rule (writes `disabled = true`).
    Remove(RemoveArgs),
    /// Change a rule: each flag given replaces that field. A default rule is copied into the
    /// config as an override first.
    Edit(EditArgs),
    /// Try rules on the stored history without saving anything: what would notify, be kept,
    /// be dropped, with and without the draft.
    ///
    /// Example: herald rules test --id t --package chromium --since 7d
    Test(test::TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only the rules of this connection.
    #[arg(long, value_name = "NAME")]
    connection: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The new rule's id.
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// A TOML file holding one rule table, or several as `[[rules]]`.
    #[arg(long, value_name = "FILE", conflicts_with = "toml")]
    file: Option<PathBuf>,
    /// The rule as TOML, e.g. 'id = "x"\npackages = ["y"]'.
    #[arg(long, value_name = "TOML")]
    toml: Option<String>,
    /// Only on this connection (repeatable); default: every connection.
    #[arg(long = "connection", value_name = "NAME")]
    connections: Vec<String>,
    #[command(flatten)]
    flags: RuleFlags,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// The rule's id (see `herald rules list`).
    id: String,
}

#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// The rule's id (see `herald rules list`).
    id: String,
    /// Only on these connections (repeatable), replacing the rule's list.
    #[arg(long = "connection", value_name = "NAME")]
    connections: Vec<String>,
    /// Turn the rule back on.
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Turn the rule off, keeping it in the config.
    #[arg(long)]
    disable: bool,
    #[command(flatten)]
    flags: RuleFlags,
}

pub async fn rules(env: Env, cmd: &RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::List(a) => list(&env, a),
        RulesCommand::Add(a) => add(&env, a),
        RulesCommand::Remove(a) => remove(&env, a),
        RulesCommand::Edit(a) => edit(&env, a),
        RulesCommand::Test(a) => test::test(&env, a).await,
    }
}

fn list(env: &Env, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let cfg = &env.config;
    if let Some(c) = &args.connection {
        check_connection(cfg, c)?;
    }
    let rules: Vec<_> = cfg
        .effective_rules()
        .into_iter()
        .filter(|(r, _)| args.connection.as_deref().is_none_or(|c| r.applies_to(c)))
        .collect();
    let unmatched = cfg.unmatched();
    let chain = chain_rules(&cfg.herald.packages, &cfg.herald.profile);
    let mut out = std::io::stdout().lock();
    if args.json {
        let rules: Vec<_> = rules
            .iter()
            .map(|(r, origin)| {
                serde_json::json!({
                    "priority": r.priority,
                    "id": r.id,
                    "action": r.action,
                    "origin": origin,
                    "connections": r.connections,
                    "conditions": describe(&r.when, r.unless.as_ref()),
                    "description": r.description,
                    "rule": r,
                })
            })
            .collect();
        let v = serde_json::json!({ "rules": rules, "unmatched": unmatched, "chain": chain });
        writeln!(out, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    if rules.is_empty() {
        writeln!(
            out,
            "no rules: set `users = [\"your FAS name\"]` in [herald.profile] for the default \
             rules, or add one with `herald rules add`"
        )?;
    } else {
        let width = rules
            .iter()
            .map(|(r, _)| r.id.chars().count())
            .max()
            .unwrap_or(2)
            .max(2);
        writeln!(
            out,
            "{:>5}  {:<width$}  {:<7}  {:<8}  WHEN",
            "PRIO", "ID", "ACTION", "ORIGIN"
        )?;
        for (r, origin) in &rules {
            let origin = serde_json::to_value(origin)?;
            writeln!(
                out,
                "{:>5}  {:<width$}  {:<7}  {:<8}  {}",
                r.priority,
                escape(&r.id),
                r.action.as_str(),
                origin.as_str().unwrap_or_default(),
                escape(&describe(&r.when, r.unless.as_ref())),
            )?;
            let mut notes = Vec::new();
            if let Some(d) = &r.description {
                notes.push(escape(d).into_owned());
            }
            if !r.connections.is_empty() {
                notes.push(format!("on {}", escape(&r.connections.join(", "))));
            }
            if !notes.is_empty() {
                writeln!(out, "{:>5}  {:<width$}  {}", "", "", notes.join("; "))?;
            }
        }
    }
    writeln!(out, "\nmessages no rule matches: {unmatched}")?;
    write_chain(&mut out, &chain)?;
    Ok(ExitCode::SUCCESS)
}

/// The package chain's own notifications: not message rules, but where people look for
/// what notifies them.
fn write_chain(out: &mut impl std::io::Write, chain: &[ChainRule]) -> std::io::Result<()> {
    let width = chain.iter().map(|r| r.id.len()).max().unwrap_or(2);
    writeln!(
        out,
        "\npackage chain notifications ([herald.packages], built in):"
    )?;
    for r in chain {
        writeln!(
            out,
            "  {:<width$}  {:<3}  {}",
            r.id,
            if r.enabled { "on" } else { "off" },
            escape(&r.description)
        )?;
        let how = if r.enabled {
            format!("turn off with {} = false", r.toggle)
        } else {
            format!("turn on with {} = true", r.toggle)
        };
        let note = match &r.note {
            Some(n) => format!("{}; {how}", escape(n)),
            None => how,
        };
        writeln!(out, "  {:<width$}  {:<3}  {note}", "", "")?;
    }
    Ok(())
}

fn add(env: &Env, args: &AddArgs) -> anyhow::Result<ExitCode> {
    let rules = match (&args.file, &args.toml) {
        (Some(_), _) | (_, Some(_))
            if !args.flags.is_empty() || args.id.is_some() || !args.connections.is_empty() =>
        {
            return Err(UsageError(
                "give the rule either as --file/--toml or as flags, not both".into(),
            )
            .into())
        }
        (Some(f), _) => rules_from_file(f)?,
        (_, Some(t)) => rules_from_text(t, "--toml")?,
        (None, None) => {
            let id = args.id.as_deref().ok_or_else(|| {
                UsageError("give the new rule an id: --id NAME (or use --file/--toml)".into())
            })?;
            let mut r = args.flags.build(id)?;
            r.connections = args.connections.clone();
            vec![r]
        }
    };
    if rules.is_empty() {
        return Err(UsageError("no rule given".into()).into());
    }
    let defaults = defaults(&env.config);
    let (path, (after, notes)) = modify_config(env, |editor| {
        let mut notes = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            check_id(&r.id)?;
            if rules[..i].iter().any(|e| e.id == r.id) {
                return Err(
                    UsageError(format!("two of the rules given have the id {:?}", r.id)).into(),
                );
            }
            if editor.rule(&r.id)?.is_some() {
                return Err(UsageError(format!(
                    "a rule with id {:?} is already configured: change it with \
                     `herald rules edit {}`, or remove it first",
                    r.id, r.id
                ))
                .into());
            }
            if defaults.iter().any(|d| d.id == r.id) {
                notes.push(format!(
                    "rule {} replaces the default rule of that id (an override)",
                    r.id
                ));
            }
            editor.upsert_rule(r)?;
        }
        Ok((validate(editor)?, notes))
    })?;
    let mut out = std::io::stdout().lock();
    for r in &rules {
        writeln!(out, "added rule {} to {}:", r.id, path.display())?;
        writeln!(out, "{}", rule_snippet(r)?.trim_end())?;
    }
    for n in notes {
        writeln!(out, "note: {n}")?;
    }
    unmatched_note(&mut out, &env.config, &after)?;
    Ok(ExitCode::SUCCESS)
}

fn remove(env: &Env, args: &RemoveArgs) -> anyhow::Result<ExitCode> {
    let default = defaults(&env.config).into_iter().find(|d| d.id == args.id);
    let (_, done) = modify_config(env, |editor| {
        let configured = editor.rule(&args.id)?;
        let message = match (configured, &default) {
            (Some(c), Some(_)) if c.disabled => return Ok(None),
            (Some(_), Some(_)) => {
                editor.remove_rule(&args.id);
                format!(
                    "removed your override of {id}: the default rule {id} applies again \
                     (`herald rules remove {id}` once more turns it off)",
                    id = args.id
                )
            }
            (Some(_), None) => {
                editor.remove_rule(&args.id);
                format!("removed rule {}", args.id)
            }
            (None, Some(_)) => {
                editor.disable_rule(&args.id)?;
                format!(
                    "turned off the default rule {} (wrote `disabled = true`; \
                     `herald rules edit {} --enable` turns it back on)",
                    args.id, args.id
                )
            }
            (None, None) => return Err(unknown_rule(&args.id).into()),
        };
        Ok(Some((message, validate(editor)?)))
    })?;
    let Some((message, after)) = done else {
        println!("the default rule {} is already off", args.id);
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{message}")?;
    unmatched_note(&mut out, &env.config, &after)?;
    Ok(ExitCode::SUCCESS)
}

fn edit(env: &Env, args: &EditArgs) -> anyhow::Result<ExitCode> {
    if args.flags.is_empty() && args.connections.is_empty() && !args.enable && !args.disable {
        return Err(UsageError(
            "nothing to change: give the fields to replace (see `herald rules edit --help`)".into(),
        )
        .into());
    }
    let default = defaults(&env.config).into_iter().find(|d| d.id == args.id);
    let (_, done) = modify_config(env, |editor| {
        let configured = editor.rule(&args.id)?;
        let mut rule = match (configured, &default) {
            (Some(c), Some(d)) if is_bare_disable(&c) => RuleSpec {
                disabled: true,
                ..d.clone()
            },
            (Some(c), _) => c,
            (None, Some(d)) => d.clone(),
            (None, None) => return Err(unknown_rule(&args.id).into()),
        };
        let before = rule.clone();
        args.flags.apply(&mut rule)?;
        if !args.connections.is_empty() {
            rule.connections = args.connections.clone();
        }
        if args.enable {
            rule.disabled = false;
        }
        if args.disable {
            rule.disabled = true;
        }
        if rule == before {
            return Ok(None);
        }
        let message = match &default {
            Some(d) if &rule == d => {
                editor.remove_rule(&args.id);
                format!("rule {} is the default rule again", args.id)
            }
            Some(d)
                if rule.disabled
                    && RuleSpec {
                        disabled: false,
                        ..rule.clone()
                    } == *d =>
            {
                editor.disable_rule(&args.id)?;
                format!("turned off the default rule {}", args.id)
            }
            Some(_) => {
                editor.upsert_rule(&rule)?;
                format!(
                    "rule {} now overrides the default rule of that id:",
                    args.id
                )
            }
            None => {
                editor.upsert_rule(&rule)?;
                format!("changed rule {}:", args.id)
            }
        };
        let after = validate(editor)?;
        if !editor.is_changed() {
            return Ok(None);
        }
        Ok(Some((message, rule, after)))
    })?;
    let Some((message, rule, after)) = done else {
        println!("rule {} is unchanged", args.id);
        return Ok(ExitCode::SUCCESS);
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{message}")?;
    if message.ends_with(':') {
        writeln!(out, "{}", rule_snippet(&rule)?.trim_end())?;
    }
    if rule.disabled && !args.disable {
        writeln!(out, "note: the rule is off; `--enable` turns it on")?;
    }
    unmatched_note(&mut out, &env.config, &after)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `edit` on the config file under its lock (so the tray and the settings window do
/// not write over it meanwhile, nor it over them) and writes what `edit` changed; nothing
/// is written when `edit` fails. Returns the file's path with `edit`'s result.
fn modify_config<T>(
    env: &Env,
    edit: impl FnOnce(&mut ConfigEditor) -> anyhow::Result<T>,
) -> anyhow::Result<(PathBuf, T)> {
    /// Keeps the editor's own errors apart from `edit`'s, which carry their own context.
    enum Failed {
        Config(herald_core::ConfigError),
        Edit(anyhow::Error),
    }
    impl From<herald_core::ConfigError> for Failed {
        fn from(e: herald_core::ConfigError) -> Failed {
            Failed::Config(e)
        }
    }
    let path = env
        .config_path
        .as_deref()
        .ok_or_else(|| UsageError("no config file to edit: give --config FILE".into()))?;
    match ConfigEditor::modify(path, |editor| edit(editor).map_err(Failed::Edit)) {
        Ok(out) => Ok((path.to_owned(), out)),
        Err(Failed::Edit(e)) => Err(e),
        Err(Failed::Config(e)) => {
            Err(anyhow::Error::new(e).context(format!("cannot edit {}", path.display())))
        }
    }
}

/// The edited file as Herald would load it; nothing is saved when this fails.
fn validate(editor: &ConfigEditor) -> anyhow::Result<Config> {
    editor.config().map_err(|e| {
        UsageError(format!(
            "{}; {} was not changed",
            error_chain(&e),
            editor.path().display()
        ))
        .into()
    })
}

/// The rules the profile implies.
fn defaults(cfg: &Config) -> Vec<RuleSpec> {
    default_rules(&cfg.herald.profile, &cfg.pulp_connections())
}

/// `{ id, disabled = true }` and nothing else: a default rule turned off.
fn is_bare_disable(r: &RuleSpec) -> bool {
    let bare = RuleSpec {
        disabled: true,
        ..RuleSpec::new(r.id.clone(), Action::Notify, Conditions::default())
    };
    *r == bare
}

fn unknown_rule(id: &str) -> UsageError {
    UsageError(format!(
        "no rule {id:?}: `herald rules list` shows the rules in force"
    ))
}

fn check_connection(cfg: &Config, name: &str) -> Result<(), UsageError> {
    if cfg.connections.iter().any(|c| c.name == name) {
        return Ok(());
    }
    let names: Vec<&str> = cfg.connections.iter().map(|c| c.name.as_str()).collect();
    Err(UsageError(format!(
        "no connection {name:?}; the config has: {}",
        names.join(", ")
    )))
}

/// Says so when the change makes messages no rule matches go elsewhere.
fn unmatched_note(
    out: &mut impl std::io::Write,
    before: &Config,
    after: &Config,
) -> std::io::Result<()> {
    let (b, a) = (before.unmatched(), after.unmatched());
    if a != b {
        let how = if a == Action::Drop {
            "dropped now that rules exist (set `unmatched = \"history\"` in [herald] to keep them)"
        } else {
            "kept in the history again"
        };
        writeln!(out, "note: messages no rule matches are {how}")?;
    }
    Ok(())
}
