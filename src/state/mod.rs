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
//!
//! A full disk loses nothing and damages nothing: a record that cannot be
//! written whole is cut back off the file (never half a line, which would
//! glue itself to the next one), kept in memory — `history` shows it —
//! and written, in order, at the next turn that can. A compaction that
//! fails removes its temporary file and leaves the log as it was.
//!
//! The directory is 0700 and the files 0600, whatever the umask: job
//! history and output are the user's business only.

pub mod switches;

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
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
    /// The file's length: where a record that fails half-way is cut back to.
    len: u64,
    /// Encoded records not yet written (the disk was full), oldest first.
    pending: VecDeque<Vec<u8>>,
    dirty: bool,
}

/// Creates `dir` (and its parents) as 0700, and makes it 0700 if it was
/// there already.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Replaces `path` with `bytes` so that a reader (or a crash) sees the
/// old contents or the new, never part: a temporary file in the same
/// directory, synced, renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.jobd-tmp"));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Why a [`pid_lock`] could not be taken.
pub enum LockError {
    Open(std::io::Error),
    /// Another process holds it: ` (pid N)` as it wrote there, or empty.
    Held(String),
}

/// Takes the lock file `path` (created 0600): `flock`ed for the daemon's
/// life (the kernel lets go when it exits, however it exits), with the
/// daemon's pid inside for the next one to name. The file is never
/// removed: removing it while held would let a second daemon lock a new
/// file of the same name.
pub fn pid_lock(path: &Path) -> Result<File, LockError> {
    use std::io::{Read as _, Seek as _};
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(LockError::Open)?;
    if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut pid = String::new();
        let _ = f.read_to_string(&mut pid);
        let pid = pid.trim();
        return Err(LockError::Held(if pid.is_empty() {
            String::new()
        } else {
            format!(" (pid {pid})")
        }));
    }
    let _ = f.set_len(0);
    let _ = f.rewind();
    let _ = writeln!(f, "{}", std::process::id());
    Ok(f)
}

/// Takes the state directory for this daemon (`DIR/lock`, see
/// [`pid_lock`]): a second daemon on the same directory — on any socket —
/// is refused, naming the first.
pub fn lock(dir: &Path) -> Result<File, String> {
    private_dir(dir)
        .map_err(|e| format!("cannot create state directory {}: {e}", dir.display()))?;
    let path = dir.join("lock");
    pid_lock(&path).map_err(|e| match e {
        LockError::Open(e) => format!("cannot open {}: {e}", path.display()),
        LockError::Held(who) => format!(
            "another jobd daemon{who} is already using the state directory {}; stop it first, or give this one its own --state-dir",
            dir.display()
        ),
    })
}

/// Opens `path` for appending, created 0600 (and made 0600 if it was not).
pub fn private_append(path: &Path) -> std::io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
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
            len: 0,
            pending: VecDeque::new(),
            dirty: false,
        };
        if let Err(e) = private_dir(dir) {
            warnings.push(format!(
                "cannot create state directory {}: {e}; run history will not be kept",
                dir.display()
            ));
            return (store, warnings);
        }
        // A compaction the daemon did not live to finish.
        let _ = std::fs::remove_file(store.tmp_path());
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
        match store.reopen() {
            Ok(()) => {}
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

    fn tmp_path(&self) -> PathBuf {
        self.path.with_extension("jsonl.tmp")
    }

    /// (Re-)opens the log for appending.
    fn reopen(&mut self) -> std::io::Result<()> {
        self.file = None;
        let f = private_append(&self.path)?;
        self.len = f.metadata()?.len();
        self.file = Some(f);
        Ok(())
    }

    /// Keeps `r` in memory and appends it to the log (compacting first,
    /// from memory, if the log has grown too long).
    fn append(&mut self, r: Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.apply(r);
        self.pending.push_back(line);
        self.write_pending()?;
        let kept: usize = self.runs.values().map(|r| r.len() * 2).sum();
        if self.lines > 2 * kept.max(1000) {
            self.compact()?;
        }
        Ok(())
    }

    /// Writes the records waiting, in order, each whole or not at all.
    fn write_pending(&mut self) -> std::io::Result<()> {
        if self.file.is_none() && !self.pending.is_empty() {
            self.reopen()?;
        }
        let Some(f) = &mut self.file else {
            return Ok(());
        };
        while let Some(line) = self.pending.front() {
            let written = f.write(line);
            if !matches!(written, Ok(n) if n == line.len()) {
                // Never leave part of a record: the next one would be
                // glued to it and the file read as damaged.
                let cut = f.set_len(self.len);
                return Err(match (written, cut) {
                    (Err(e), _) | (Ok(_), Err(e)) => e,
                    (Ok(_), Ok(())) => std::io::Error::from(std::io::ErrorKind::StorageFull),
                });
            }
            self.len += line.len() as u64;
            self.lines += 1;
            self.dirty = true;
            self.pending.pop_front();
        }
        Ok(())
    }

    /// Records not yet on disk.
    pub fn unwritten(&self) -> usize {
        self.pending.len()
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
        self.append(r)
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
        self.append(r)
    }

    /// Flushes what was written to disk (once per event-loop turn).
    pub fn sync(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.write_pending()?;
        }
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
        let tmp = self.tmp_path();
        let res = self.write_compacted(&tmp);
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res
    }

    fn write_compacted(&mut self, tmp: &Path) -> std::io::Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)?;
        let mut out = std::io::BufWriter::new(f);
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
        std::fs::rename(tmp, &self.path)?;
        // From here the old file is gone: never append to it again.
        self.lines = lines;
        self.dirty = false;
        self.pending.clear();
        self.reopen()?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
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
