//! `herald`: the Fedora messaging bus on the command line — consume into the local history,
//! search it, follow packages from upstream release to stable, import recorded messages, and
//! measure. Exit codes: 0 success (also when nothing matched: a note says so on stderr),
//! 1 runtime error, 2 bad usage or configuration.

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use herald_core::config::{locate, Config};
use herald_core::history::HistoryStore;
use std::path::PathBuf;
use std::process::ExitCode;

mod backfill;
mod bench;
mod generate;
mod import;
mod notify_test;
mod packages;
mod query;
mod rules;
mod run;
mod terminal;
mod timearg;

/// Herald: the Fedora messaging bus on your desktop.
///
/// Herald consumes messages from the Fedora public broker (or any RabbitMQ named in a
/// fedora-messaging config.toml), keeps every message in a local searchable history, and
/// finds them again in milliseconds.
///
/// Start with `herald run -v` to fill the history, then `herald search chromium`.
#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// Config file (a fedora-messaging config.toml plus an optional `[herald]` table).
    /// Default: $XDG_CONFIG_HOME/herald/config.toml
    #[arg(long, global = true, env = "HERALD_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// History database. Default: `database` in the `[herald]` table of the config, else
    /// $XDG_DATA_HOME/herald/history.db
    #[arg(long, global = true, env = "HERALD_DB", value_name = "FILE")]
    db: Option<PathBuf>,

    /// More output: -v prints one line per message, -vv adds debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume from the broker and store every message in the history (Ctrl-C stops cleanly).
    Run(run::RunArgs),
    /// Search the history, newest first.
    Search(query::SearchArgs),
    /// Show one message: summary, details, link, headers and body.
    Show(query::ShowArgs),
    /// Import recorded messages: `fedora-messaging record` files or fixture files/folders.
    Import(import::ImportArgs),
    /// Fill a window (or the saved gaps) from the bus archive, through the rules.
    Backfill(backfill::BackfillArgs),
    /// List, add, remove, edit and test the rules that decide what notifies, what is kept and
    /// what is dropped.
    #[command(subcommand)]
    Rules(Box<rules::RulesCommand>),
    /// The packages you look after, one line each: upstream version, and per branch the
    /// build, update, gating and karma; behind-upstream and FTBFS flagged.
    Packages(packages::PackagesArgs),
    /// One package's story from upstream release to stable, event by event.
    Package(packages::PackageArgs),
    /// Counts by source and topic, quarantine, database size, oldest and newest message.
    Stats(query::StatsArgs),
    /// Measure ingest throughput and search latency (run by hand, not in CI).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Show one sample notification per source, to check the desktop's notification server.
    NotifyTest(notify_test::NotifyTestArgs),
    /// Open a link the way a notification's Open action does (http/https only).
    #[command(hide = true)]
    OpenLink(notify_test::OpenLinkArgs),
    /// Write the man pages or shell completions (for packagers).
    #[command(subcommand, hide = true)]
    Generate(generate::GenerateCommand),
}

/// What every command needs: the config and where the history lives.
#[derive(Debug)]
pub struct Env {
    pub config: Config,
    /// The config file (which may not exist yet).
    pub config_path: Option<PathBuf>,
    pub db: PathBuf,
    pub verbose: u8,
}

impl Env {
    fn load(cli: &Cli, write_example: bool) -> anyhow::Result<Env> {
        let located = locate(cli.config.clone(), cli.db.clone(), write_example)
            .context("cannot load config")?;
        Ok(Env {
            config: located.config,
            config_path: Some(located.config_path),
            db: located.database,
            verbose: cli.verbose,
        })
    }

    pub async fn open_store(&self) -> anyhow::Result<HistoryStore> {
        HistoryStore::open(&self.db, &self.config.render_context())
            .await
            .with_context(|| format!("cannot open the history at {}", self.db.display()))
    }
}

/// A failure the user can fix by changing the command line or config (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The desktop's UTC offset, read while the process is single-threaded (the `time` crate
/// refuses afterwards).
pub static LOCAL_OFFSET: std::sync::OnceLock<time::UtcOffset> = std::sync::OnceLock::new();

fn main() -> ExitCode {
    let _ =
        LOCAL_OFFSET.set(time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC));
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("herald: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            // Errors can quote the broker (a close reason) or a message; shown escaped.
            eprintln!("herald: {}", terminal::escape_lines(&e.to_string()));
            for cause in e.chain().skip(1) {
                eprintln!(
                    "  caused by: {}",
                    terminal::escape_lines(&cause.to_string())
                );
            }
            let usage = e.chain().any(|c| {
                c.is::<UsageError>()
                    || c.is::<herald_core::ConfigError>()
                    || matches!(
                        c.downcast_ref::<herald_core::HistoryError>(),
                        Some(herald_core::HistoryError::BadQuery(_))
                    )
            });
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Run(args) => run::run(Env::load(&cli, true)?, args).await,
        Command::Search(args) => query::search(Env::load(&cli, false)?, args).await,
        Command::Show(args) => query::show(Env::load(&cli, false)?, args).await,
        Command::Packages(args) => packages::packages(Env::load(&cli, false)?, args).await,
        Command::Package(args) => packages::package(Env::load(&cli, false)?, args).await,
        Command::Stats(args) => query::stats(Env::load(&cli, false)?, args).await,
        Command::Rules(cmd) => rules::rules(Env::load(&cli, false)?, cmd).await,
        Command::Import(args) => import::import(Env::load(&cli, false)?, args).await,
        Command::Backfill(args) => backfill::backfill(Env::load(&cli, false)?, args).await,
        Command::Bench(cmd) => bench::bench(Env::load(&cli, false)?, cmd).await,
        Command::NotifyTest(args) => notify_test::notify_test(args).await,
        Command::OpenLink(args) => notify_test::open_link(args),
        Command::Generate(what) => {
            for path in generate::generate(Cli::command(), what)? {
                println!("{}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug,sqlx=warn,lapin=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal::colour())
        .with_target(false)
        .init();
}
