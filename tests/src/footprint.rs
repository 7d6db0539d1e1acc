//! How much memory a process tree costs, read from `/proc/<pid>/smaps_rollup`: one
//! [`Rollup`] per process ([`ProcessMemory`]) and their sum over an app and every process it
//! started ([`TreeMemory`], [`measure_tree`]), as the desktop footprint bench reports it.
//!
//! RSS counts every resident page a process maps, so pages shared between processes (the
//! GTK and WebKit libraries, shared memory between the app and its web processes) are counted
//! once per process and a sum over a tree overstates what the tree costs. PSS divides each
//! shared page among the processes that map it, so PSS sums add up to what the tree really
//! holds; USS (private pages) is what ending one process would give back.
//!
//! Also here: [`Spread`] (min/median/max of a few timings) for the bench's start-up rounds.

use std::fmt;
use std::time::Duration;

use crate::tray::descendants;

/// The fields of one `smaps_rollup`, in KiB (the kernel's `kB`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rollup {
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub pss_anon_kib: u64,
    pub pss_file_kib: u64,
    pub pss_shmem_kib: u64,
    pub private_clean_kib: u64,
    pub private_dirty_kib: u64,
    pub swap_kib: u64,
}

impl Rollup {
    /// Unique set size: the pages no other process maps.
    pub fn uss_kib(&self) -> u64 {
        self.private_clean_kib + self.private_dirty_kib
    }

    fn add(&mut self, other: &Rollup) {
        self.rss_kib += other.rss_kib;
        self.pss_kib += other.pss_kib;
        self.pss_anon_kib += other.pss_anon_kib;
        self.pss_file_kib += other.pss_file_kib;
        self.pss_shmem_kib += other.pss_shmem_kib;
        self.private_clean_kib += other.private_clean_kib;
        self.private_dirty_kib += other.private_dirty_kib;
        self.swap_kib += other.swap_kib;
    }
}

/// Why a `smaps_rollup` could not be read.
#[derive(Debug)]
pub enum SmapsError {
    /// A line the format does not allow (`Name: <n> kB`).
    Malformed {
        line: String,
    },
    /// `Rss` or `Pss` is absent: not a rollup (or a kernel older than 4.14 without it).
    Missing {
        field: &'static str,
    },
    Io {
        pid: u32,
        source: std::io::Error,
    },
}

impl fmt::Display for SmapsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmapsError::Malformed { line } => write!(f, "malformed smaps_rollup line {line:?}"),
            SmapsError::Missing { field } => write!(f, "smaps_rollup has no {field} line"),
            SmapsError::Io { pid, source } => {
                write!(f, "cannot read /proc/{pid}/smaps_rollup: {source}")
            }
        }
    }
}

impl std::error::Error for SmapsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SmapsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Parses the text of `/proc/<pid>/smaps_rollup`. The first line (the address range and
/// `[rollup]`) and fields not in [`Rollup`] are skipped; `Rss` and `Pss` must be there.
pub fn parse_smaps_rollup(text: &str) -> Result<Rollup, SmapsError> {
    let mut r = Rollup::default();
    let (mut rss, mut pss) = (false, false);
    for line in text.lines() {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        // The header line is `start-end perms offset dev inode [rollup]`: no field name.
        if name.contains(' ') {
            continue;
        }
        let malformed = || SmapsError::Malformed {
            line: line.to_owned(),
        };
        let mut words = rest.split_whitespace();
        let value = words
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(malformed)?;
        if words.next() != Some("kB") || words.next().is_some() {
            return Err(malformed());
        }
        let slot = match name {
            "Rss" => {
                rss = true;
                &mut r.rss_kib
            }
            "Pss" => {
                pss = true;
                &mut r.pss_kib
            }
            "Pss_Anon" => &mut r.pss_anon_kib,
            "Pss_File" => &mut r.pss_file_kib,
            "Pss_Shmem" => &mut r.pss_shmem_kib,
            "Private_Clean" => &mut r.private_clean_kib,
            "Private_Dirty" => &mut r.private_dirty_kib,
            "Swap" => &mut r.swap_kib,
            _ => continue,
        };
        *slot = value;
    }
    match (rss, pss) {
        (false, _) => Err(SmapsError::Missing { field: "Rss" }),
        (_, false) => Err(SmapsError::Missing { field: "Pss" }),
        _ => Ok(r),
    }
}

/// Reads and parses `/proc/<pid>/smaps_rollup`; `Ok(None)` when the process is gone.
pub fn read_rollup(pid: u32) -> Result<Option<Rollup>, SmapsError> {
    match std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
        // A process between exit and reaping has no memory left to show.
        Ok(text) if text.is_empty() => Ok(None),
        Ok(text) => parse_smaps_rollup(&text).map(Some),
        // ENOENT when it has been reaped, ESRCH (reading a zombie's maps) when it is exiting.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(3 /* ESRCH */) =>
        {
            Ok(None)
        }
        Err(source) => Err(SmapsError::Io { pid, source }),
    }
}

/// One process of a tree and its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMemory {
    pub pid: u32,
    /// The kernel's command name (`/proc/<pid>/comm`, at most 15 bytes: `WebKitWebProces`).
    pub comm: String,
    pub memory: Rollup,
}

/// The processes of a tree, root first, and their memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeMemory {
    pub processes: Vec<ProcessMemory>,
}

impl TreeMemory {
    /// The sum over every process (see the module documentation for what a sum of RSS means).
    pub fn total(&self) -> Rollup {
        let mut sum = Rollup::default();
        for p in &self.processes {
            sum.add(&p.memory);
        }
        sum
    }

    /// The processes whose command name starts with `prefix`.
    pub fn named<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a ProcessMemory> + 'a {
        self.processes
            .iter()
            .filter(move |p| p.comm.starts_with(prefix))
    }

    /// One line per process and a total line: command, pid, RSS, PSS and its anonymous,
    /// file-backed and shared-memory parts, USS; in MB (10^6 bytes, as targets are written).
    pub fn table(&self) -> String {
        let mut out = format!(
            "  {:<16} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
            "process", "pid", "RSS MB", "PSS MB", "anon", "file", "shmem", "USS MB"
        );
        let line = |name: &str, pid: String, m: &Rollup| {
            format!(
                "  {:<16} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}\n",
                name,
                pid,
                mb(m.rss_kib),
                mb(m.pss_kib),
                mb(m.pss_anon_kib),
                mb(m.pss_file_kib),
                mb(m.pss_shmem_kib),
                mb(m.uss_kib())
            )
        };
        for p in &self.processes {
            out.push_str(&line(&p.comm, p.pid.to_string(), &p.memory));
        }
        out.push_str(&line("all processes", String::new(), &self.total()));
        out
    }
}

/// KiB as MB (10^6 bytes).
pub fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// The memory of `root` and every process below it at this moment. Processes that end while
/// they are read are left out; `Ok` with no processes when `root` itself is gone.
pub fn measure_tree(root: u32) -> Result<TreeMemory, SmapsError> {
    let root_comm = std::fs::read_to_string(format!("/proc/{root}/comm"))
        .map(|c| c.trim_end().to_owned())
        .unwrap_or_default();
    let mut processes = Vec::new();
    for (pid, comm) in std::iter::once((root, root_comm)).chain(descendants(root)) {
        if let Some(memory) = read_rollup(pid)? {
            processes.push(ProcessMemory { pid, comm, memory });
        }
    }
    Ok(TreeMemory { processes })
}

/// Minimum, median and maximum of a few durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub min: Duration,
    pub median: Duration,
    pub max: Duration,
}

impl Spread {
    /// `None` for no samples. With an even count the median is the lower middle sample (a
    /// time that was really measured).
    pub fn of(samples: &[Duration]) -> Option<Spread> {
        let mut sorted = samples.to_vec();
        sorted.sort();
        Some(Spread {
            min: *sorted.first()?,
            median: sorted[(sorted.len() - 1) / 2],
            max: *sorted.last()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    const SAMPLE: &str = "\
5587f0554000-7fffc6826000 ---p 00000000 00:00 0                          [rollup]
Rss:              204800 kB
Pss:              102400 kB
Pss_Dirty:         51200 kB
Pss_Anon:          40960 kB
Pss_File:          30720 kB
Pss_Shmem:         20480 kB
Shared_Clean:     100000 kB
Shared_Dirty:          0 kB
Private_Clean:      1000 kB
Private_Dirty:     50000 kB
Referenced:       204800 kB
Anonymous:         40960 kB
Swap:                 12 kB
SwapPss:              12 kB
Locked:                0 kB
";

    #[test]
    fn a_rollup_is_parsed_field_by_field() {
        let r = parse_smaps_rollup(SAMPLE).expect("parse");
        assert_eq!(
            r,
            Rollup {
                rss_kib: 204_800,
                pss_kib: 102_400,
                pss_anon_kib: 40_960,
                pss_file_kib: 30_720,
                pss_shmem_kib: 20_480,
                private_clean_kib: 1000,
                private_dirty_kib: 50_000,
                swap_kib: 12,
            }
        );
        assert_eq!(r.uss_kib(), 51_000);
    }

    #[test]
    fn rollups_without_rss_or_pss_or_with_bad_values_are_refused() {
        let no_pss: String = SAMPLE
            .lines()
            .filter(|l| !l.starts_with("Pss:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(matches!(
            parse_smaps_rollup(&no_pss),
            Err(SmapsError::Missing { field: "Pss" })
        ));
        assert!(matches!(
            parse_smaps_rollup(""),
            Err(SmapsError::Missing { field: "Rss" })
        ));
        for bad in [
            "Rss: lots kB\nPss: 1 kB\n",
            "Rss: 1 MB\nPss: 1 kB\n",
            "Rss: 1\n",
        ] {
            assert!(
                matches!(parse_smaps_rollup(bad), Err(SmapsError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn this_process_reads_its_own_rollup() {
        let r = read_rollup(std::process::id())
            .expect("read")
            .expect("this process exists");
        assert!(r.rss_kib > 0 && r.pss_kib > 0, "{r:?}");
        assert!(r.pss_kib <= r.rss_kib && r.uss_kib() <= r.pss_kib, "{r:?}");
    }

    #[test]
    fn a_process_that_is_gone_reads_as_none() {
        let mut child = Command::new("true").spawn().expect("run true");
        let pid = child.id();
        child.wait().expect("wait");
        assert_eq!(read_rollup(pid).expect("no error"), None);
    }

    #[test]
    fn a_tree_holds_the_root_and_every_descendant_and_sums_them() {
        // sh → two sleeps, one of them under a second sh: three levels.
        let mut root = Command::new("sh")
            .args(["-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"])
            .stdin(Stdio::null())
            .spawn()
            .expect("run sh");
        let pid = root.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let tree = loop {
            let tree = measure_tree(pid).expect("measure");
            if tree.named("sleep").count() == 2 || Instant::now() > deadline {
                break tree;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Ends the whole tree: the sleeps are in sh's process group only if job control is
        // off, so each one is killed by pid.
        for p in &tree.processes {
            let _ = Command::new("kill").arg(p.pid.to_string()).status();
        }
        let _ = root.wait();

        let comms: Vec<&str> = tree.processes.iter().map(|p| p.comm.as_str()).collect();
        assert_eq!(tree.processes[0].pid, pid, "root first: {comms:?}");
        assert_eq!(comms.iter().filter(|c| **c == "sh").count(), 2, "{comms:?}");
        assert_eq!(
            comms.iter().filter(|c| **c == "sleep").count(),
            2,
            "{comms:?}"
        );
        let total = tree.total();
        assert_eq!(
            total.rss_kib,
            tree.processes.iter().map(|p| p.memory.rss_kib).sum::<u64>()
        );
        assert_eq!(
            total.pss_kib,
            tree.processes.iter().map(|p| p.memory.pss_kib).sum::<u64>()
        );
        // Four processes sharing the same libc: PSS splits what RSS counts four times.
        assert!(total.pss_kib < total.rss_kib, "{total:?}");
        let table = tree.table();
        assert_eq!(table.lines().count(), 1 + 4 + 1, "{table}");
        assert!(table
            .lines()
            .last()
            .is_some_and(|l| l.contains("all processes")));
    }

    #[test]
    fn a_gone_root_is_an_empty_tree() {
        let mut child = Command::new("true").spawn().expect("run true");
        let pid = child.id();
        child.wait().expect("wait");
        let tree = measure_tree(pid).expect("measure");
        assert!(tree.processes.is_empty(), "{tree:?}");
        assert_eq!(tree.total(), Rollup::default());
    }

    #[test]
    fn spread_takes_min_median_max() {
        let ms = Duration::from_millis;
        let s = Spread::of(&[ms(50), ms(10), ms(40), ms(20), ms(30)]).expect("samples");
        assert_eq!((s.min, s.median, s.max), (ms(10), ms(30), ms(50)));
        let s = Spread::of(&[ms(4), ms(1)]).expect("samples");
        assert_eq!(s.median, ms(1));
        assert_eq!(Spread::of(&[]), None);
    }
}
