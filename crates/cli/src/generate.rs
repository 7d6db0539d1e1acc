//! `herald generate`: the man pages and shell completions, made from the clap definitions the
//! command itself parses with, so they cannot drift from it. Packagers call it in their build
//! (the RPM spec's `%build`); users never need it, so it is hidden from `--help`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Command, Subcommand};
use clap_complete::Shell;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write herald.1 and one page per subcommand (herald-run.1, herald-rules-add.1, …) into DIR.
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Write the bash (herald.bash), zsh (_herald) and fish (herald.fish) completions into DIR.
    Completions {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// The shells Herald ships completions for, as Fedora installs them.
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

pub fn generate(cmd: Command, what: &GenerateCommand) -> anyhow::Result<Vec<PathBuf>> {
    match what {
        GenerateCommand::Man { dir } => man_pages(cmd, dir),
        GenerateCommand::Completions { dir } => completions(cmd, dir),
    }
}

fn man_pages(cmd: Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    clap_mangen::generate_to(cmd, dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .collect();
    written.sort();
    for page in &written {
        let text = std::fs::read_to_string(page)
            .with_context(|| format!("cannot read {}", page.display()))?;
        std::fs::write(page, ascii_roff(&text))
            .with_context(|| format!("cannot write {}", page.display()))?;
    }
    Ok(written)
}

/// The help text has typographic characters (…, →, —) that troff reads as invalid input
/// unless a preprocessor converts them first; as `\[uXXXX]` escapes every formatter (groff,
/// mandoc) renders them without one.
fn ascii_roff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

fn completions(mut cmd: Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create(dir)?;
    let name = cmd.get_name().to_owned();
    SHELLS
        .iter()
        .map(|&shell| {
            clap_complete::generate_to(shell, &mut cmd, &name, dir).with_context(|| {
                format!("cannot write the {shell} completion into {}", dir.display())
            })
        })
        .collect()
}

fn create(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_becomes_a_unicode_escape_and_ascii_is_kept() {
        assert_eq!(ascii_roff("a … b → c\\-d"), "a \\[u2026] b \\[u2192] c\\-d");
        assert_eq!(ascii_roff("😀"), "\\[u1F600]");
    }

    #[test]
    fn man_pages_are_written_for_each_visible_subcommand_in_plain_ascii() {
        let cmd = Command::new("demo")
            .about("Demo — with a dash")
            .subcommand(Command::new("shown").about("Shown…"))
            .subcommand(Command::new("secret").hide(true));
        let dir = tempfile::tempdir().expect("tempdir");
        let pages = man_pages(cmd, dir.path()).expect("pages");
        let names: Vec<_> = pages
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(names, ["demo-shown.1", "demo.1"]);
        for page in &pages {
            let text = std::fs::read_to_string(page).expect("read page");
            assert!(text.is_ascii(), "{} is not ASCII", page.display());
        }
        let top = std::fs::read_to_string(dir.path().join("demo.1")).expect("demo.1");
        assert!(top.contains("\\[u2014]"), "{top}");
    }

    #[test]
    fn completions_are_written_for_bash_zsh_and_fish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = completions(Command::new("demo"), dir.path()).expect("completions");
        let names: Vec<_> = files
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        assert_eq!(names, ["demo.bash", "_demo", "demo.fish"]);
    }
}
