//! Crash-safe store of every job's runs: `runs.jsonl` in the state
//! directory, an append-only log of one JSON line per event (a run started,
//! a run ended).
//!
//! Why a log and not SQLite: recording a run is one `write(2)` of ~150
//! bytes with `O_APPEND` (nothing else is rewritten), which survives
//! `kill -9` at once; `fdatasync` follows once per event-loop turn, so 20
//! jobs starting on one elapse cost one flush. Reading back is one
//! sequential pass. SQLite would add a C library, ~1 MiB of binary and its
//! page cache to a daemon whose idle RSS target is 4 MiB, for queries we
//! never make. A torn last line (a crash mid-write) is ignored; any other
//! unreadable line means the file is damaged: it is renamed aside
//! (`runs.jsonl.corrupt-EPOCH`), reported, and what could be read is kept.
//!
//! The log is compacted (rewritten to a temporary file, fsynced, renamed)
//! when it holds more than twice what is kept, so it stays bounded.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::run::{ExitStatus, RunResult, Trigger};

/// Runs kept per job (SPEC: at least 100).
pub const KEEP: usize = 100;

/// One run of a job, as `history` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub invocation: String,
    pub trigger: Trigger,
    /// µs since the epoch.
    pub start_usec: i64,
    pub pid: Option<u32>,
    pub end_usec: Option<i64>,
    /// `None` while running, or if the daemon died before the run ended.
    pub result: Option<RunResult>,
    pub exit_status: Option<ExitStatus>,
    /// Why a start failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How a run ended, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    pub invocation: String,
    /// µs since the epoch.
    pub end_usec: i64,
    pub result: RunResult,
    pub exit_status: Option<ExitStatus>,
    /// Why a start failed.
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "lowercase")]
enum Record {
    Start {
        job: String,
        inv: String,
        trigger: Trigger,
        t: i64,
        pid: Option<u32>,
    },
    End {
        job: String,
        inv: String,
        t: i64,
        result: RunResult,
        status: Option<ExitStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// The runs of every job, and the open log.
pub struct Store {
    path: PathBuf,
    file: Option<File>,
    runs: HashMap<String, VecDeque<Run>>,
    /// Lines in the file now.
    lines: usize,
    dirty: bool,
}

impl Store {
    /// Opens (creating) the store in `dir`. Problems that lose nothing
    /// fatal come back as warnings to report; the store is usable anyway
    /// (in memory only if the directory cannot be written).
    pub fn open(dir: &Path) -> (Store, Vec<String>) {
        let path = dir.join("runs.jsonl");
        let mut warnings = Vec::new();
        let mut store = Store {
            path: path.clone(),
            file: None,
            runs: HashMap::new(),
            lines: 0,
            dirty: false,
        };
        if let Err(e) = std::fs::create_dir_all(dir) {
            warnings.push(format!(
                "cannot create state directory {}: {e}; run history will not be kept",
                dir.display()
            ));
            return (store, warnings);
        }
        let damaged = store.read(&mut warnings);
        if damaged > 0 {
            let aside = path.with_extension(format!(
                "jsonl.corrupt-{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            ));
            match std::fs::rename(&path, &aside) {
                Ok(()) => warnings.push(format!(
                    "{}: {damaged} damaged record(s); file moved to {} and the readable runs kept",
                    path.display(),
                    aside.display()
                )),
                Err(e) => warnings.push(format!(
                    "{}: damaged, and cannot move it aside: {e}",
                    path.display()
                )),
            }
            if let Err(e) = store.compact() {
                warnings.push(format!("cannot rewrite {}: {e}", path.display()));
            }
        }
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(f) => store.file = Some(f),
            Err(e) => warnings.push(format!(
                "cannot open {} for writing: {e}; run history will not be kept",
                path.display()
            )),
        }
        (store, warnings)
    }

    /// Reads the log into memory; counts the records it could not read
    /// (a torn last one is cut off and does not count).
    fn read(&mut self, warnings: &mut Vec<String>) -> usize {
        let mut damaged = 0usize;
        match std::fs::read(&self.path) {
            Ok(data) => {
                // Everything after the last newline is a record the daemon
                // was killed while writing: drop it, and cut it off so the
                // next record starts on a line of its own.
                let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                if complete < data.len() {
                    warnings.push(format!(
                        "{}: incomplete last record dropped (the daemon was killed while writing it)",
                        self.path.display()
                    ));
                    let cut = OpenOptions::new()
                        .write(true)
                        .open(&self.path)
                        .and_then(|f| f.set_len(complete as u64));
                    if let Err(e) = cut {
                        warnings.push(format!("cannot truncate {}: {e}", self.path.display()));
                        damaged += 1;
                    }
                }
                for line in data[..complete].split(|&b| b == b'\n') {
                    if line.is_empty() {
                        continue;
                    }
                    match serde_json::from_slice::<Record>(line) {
                        Ok(r) => {
                            self.apply(r);
                            self.lines += 1;
                        }
                        Err(_) => damaged += 1,
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                damaged += 1;
                warnings.push(format!("cannot read {}: {e}", self.path.display()));
            }
        }
        damaged
    }

    fn apply(&mut self, r: Record) {
        match r {
            Record::Start {
                job,
                inv,
                trigger,
                t,
                pid,
            } => {
                let runs = self.runs.entry(job).or_default();
                if runs.len() >= KEEP {
                    runs.pop_front();
                }
                runs.push_back(Run {
                    invocation: inv,
                    trigger,
                    start_usec: t,
                    pid,
                    end_usec: None,
                    result: None,
                    exit_status: None,
                    reason: None,
                });
            }
            Record::End {
                job,
                inv,
                t,
                result,
                status,
                reason,
            } => {
                if let Some(run) = self
                    .runs
                    .get_mut(&job)
                    .and_then(|runs| runs.iter_mut().rev().find(|r| r.invocation == inv))
                {
                    run.end_usec = Some(t);
                    run.result = Some(result);
                    run.exit_status = status;
                    run.reason = reason;
                }
            }
        }
    }

    fn append(&mut self, r: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if let Some(f) = &mut self.file {
            f.write_all(&line)?;
            self.lines += 1;
            self.dirty = true;
        }
        let kept: usize = self.runs.values().map(|r| r.len() * 2).sum();
        if self.lines > 2 * kept.max(1000) {
            self.compact()?;
        }
        Ok(())
    }

    /// Records that a run started.
    pub fn started(&mut self, job: &str, run: &Run) -> std::io::Result<()> {
        let r = Record::Start {
            job: job.to_owned(),
            inv: run.invocation.clone(),
            trigger: run.trigger,
            t: run.start_usec,
            pid: run.pid,
        };
        let res = self.append(&r);
        self.apply(r);
        res
    }

    /// Records how a run ended.
    pub fn ended(&mut self, job: &str, end: &End) -> std::io::Result<()> {
        let r = Record::End {
            job: job.to_owned(),
            inv: end.invocation.clone(),
            t: end.end_usec,
            result: end.result,
            status: end.exit_status.clone(),
            reason: end.reason.clone(),
        };
        let res = self.append(&r);
        self.apply(r);
        res
    }

    /// Flushes what was written to disk (once per event-loop turn).
    pub fn sync(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.dirty = false;
            if let Some(f) = &self.file {
                f.sync_data()?;
            }
        }
        Ok(())
    }

    /// A job's runs, oldest first.
    pub fn runs(&self, job: &str) -> impl DoubleEndedIterator<Item = &Run> {
        self.runs.get(job).into_iter().flatten()
    }

    /// The newest run of a job that has ended.
    pub fn last_ended(&self, job: &str) -> Option<&Run> {
        self.runs(job).rev().find(|r| r.end_usec.is_some())
    }

    /// The newest run of a job.
    pub fn last(&self, job: &str) -> Option<&Run> {
        self.runs(job).next_back()
    }

    /// Rewrites the log with only what is kept.
    fn compact(&mut self) -> std::io::Result<()> {
        let tmp = self.path.with_extension("jsonl.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        let mut lines = 0;
        for (job, runs) in &self.runs {
            for run in runs {
                let start = Record::Start {
                    job: job.clone(),
                    inv: run.invocation.clone(),
                    trigger: run.trigger,
                    t: run.start_usec,
                    pid: run.pid,
                };
                serde_json::to_writer(&mut out, &start).map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
                lines += 1;
                if let (Some(t), Some(result)) = (run.end_usec, run.result) {
                    let end = Record::End {
                        job: job.clone(),
                        inv: run.invocation.clone(),
                        t,
                        result,
                        status: run.exit_status.clone(),
                        reason: run.reason.clone(),
                    };
                    serde_json::to_writer(&mut out, &end).map_err(std::io::Error::other)?;
                    out.write_all(b"\n")?;
                    lines += 1;
                }
            }
        }
        let f = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.lines = lines;
        if self.file.is_some() {
            self.file = Some(OpenOptions::new().append(true).open(&self.path)?);
        }
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(inv: &str, t: i64) -> Run {
        Run {
            invocation: inv.into(),
            trigger: Trigger::Manual,
            start_usec: t,
            pid: Some(1),
            end_usec: None,
            result: None,
            exit_status: None,
            reason: None,
        }
    }

    fn end(inv: &str, t: i64, result: RunResult, code: i32) -> End {
        End {
            invocation: inv.into(),
            end_usec: t,
            result,
            exit_status: Some(ExitStatus::Code(code)),
            reason: None,
        }
    }

    #[test]
    fn survives_reopen_torn_lines_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut s, w) = Store::open(dir.path());
            assert!(w.is_empty());
            s.started("a", &run("i1", 10)).unwrap();
            s.ended("a", &end("i1", 20, RunResult::ExitCode, 3))
                .unwrap();
            s.started("a", &run("i2", 30)).unwrap();
        }
        // A torn final line is dropped quietly.
        let path = dir.path().join("runs.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"ev\":\"end\",\"job\":\"a\"").unwrap();
        drop(f);
        let (s, w) = Store::open(dir.path());
        assert_eq!(s.runs("a").count(), 2);
        assert_eq!(
            s.last_ended("a").unwrap().exit_status,
            Some(ExitStatus::Code(3))
        );
        assert_eq!(s.last("a").unwrap().invocation, "i2");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("incomplete last record"), "{w:?}");
        drop(s);
        // The cut line does not glue itself to the next record.
        let (mut s, w) = Store::open(dir.path());
        assert!(w.is_empty(), "{w:?}");
        s.ended("a", &end("i2", 40, RunResult::Success, 0)).unwrap();
        drop(s);
        let (s, w) = Store::open(dir.path());
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.last_ended("a").unwrap().invocation, "i2");
        drop(s);
        // Garbage in the middle: set aside, what was readable kept.
        let mut text = std::fs::read(&path).unwrap();
        text.splice(0..0, b"\x00garbage\n".iter().copied());
        std::fs::write(&path, text).unwrap();
        let (s, w) = Store::open(dir.path());
        assert_eq!(s.runs("a").count(), 2);
        assert!(w.iter().any(|w| w.contains("moved to")), "{w:?}");
    }

    #[test]
    fn keeps_the_last_hundred_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = Store::open(dir.path());
        for i in 0..1500 {
            s.started("a", &run(&format!("i{i}"), i)).unwrap();
            s.ended("a", &end(&format!("i{i}"), i + 1, RunResult::Success, 0))
                .unwrap();
        }
        assert_eq!(s.runs("a").count(), KEEP);
        drop(s);
        let lines = std::fs::read_to_string(dir.path().join("runs.jsonl"))
            .unwrap()
            .lines()
            .count();
        assert!(lines <= 2000 + 2 * KEEP, "{lines}");
        let (s, _) = Store::open(dir.path());
        assert_eq!(s.runs("a").count(), KEEP);
        assert_eq!(s.last("a").unwrap().invocation, "i1499");
    }
}
