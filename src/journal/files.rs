//! The fallback where no journal socket exists (containers, machines
//! without systemd): one log file per job, `STATE_DIR/logs/NAME.log`,
//! rotated by size to `NAME.log.1` … `NAME.log.KEEP`.
//!
//! One line per entry, the same facts the journal keeps:
//! `TIMESTAMP INVOCATION STREAM PRIORITY PID MESSAGE`, the timestamp in
//! RFC 3339 UTC with microseconds, STREAM `stdout`, `stderr` or `jobd`
//! (the daemon's lifecycle lines). The message is the job's bytes as they
//! came (never a newline: lines were split on it).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct FileLogs {
    pub dir: PathBuf,
    max: u64,
    keep: u32,
    files: Mutex<HashMap<String, Arc<Mutex<JobFile>>>>,
}

/// One job's current file.
pub struct JobFile {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max: u64,
    keep: u32,
    /// Writes failing: since when, the last try, and the lines dropped
    /// (`None` while writes succeed).
    pub failing: Option<Failing>,
}

/// A job file's writes failing.
#[derive(Clone, Copy, Debug)]
pub struct Failing {
    /// The start of this episode: tries that follow each other at most
    /// `gap` apart.
    pub since: std::time::Instant,
    pub last: std::time::Instant,
    /// Lines dropped since the last successful write.
    pub dropped: u64,
}

impl Failing {
    /// Records a failed try at `now`: tries more than `gap` after the
    /// last one start a new episode (whose lines wait again).
    pub fn failed(
        f: &mut Option<Failing>,
        now: std::time::Instant,
        gap: std::time::Duration,
    ) -> &mut Failing {
        let e = f.get_or_insert(Failing {
            since: now,
            last: now,
            dropped: 0,
        });
        if now.duration_since(e.last) > gap {
            e.since = now;
        }
        e.last = now;
        e
    }
}

impl FileLogs {
    pub fn new(dir: PathBuf, max: u64, keep: u32) -> FileLogs {
        FileLogs {
            dir,
            max,
            keep,
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Job `name`'s file, shared by all its writers.
    pub fn job(&self, name: &str) -> Arc<Mutex<JobFile>> {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(files.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(Mutex::new(JobFile {
                path: current(&self.dir, name),
                file: None,
                size: 0,
                max: self.max,
                keep: self.keep,
                failing: None,
            }))
        }))
    }
}

impl JobFile {
    /// Appends whole lines, rotating whenever the next ones would take the
    /// file past the limit.
    pub fn append(&mut self, mut data: &[u8]) -> io::Result<()> {
        self.append_from(&mut data)
    }

    /// [`JobFile::append`], leaving in `data` what was not written when it
    /// fails: each chunk is written whole or not at all, so a retry with
    /// what is left writes every line exactly once.
    pub fn append_from(&mut self, data: &mut &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                crate::state::private_dir(dir)?;
            }
            let f = crate::state::private_append(&self.path)?;
            self.size = f.metadata()?.len();
            self.file = Some(f);
        }
        while !data.is_empty() {
            let room = usize::try_from(self.max.saturating_sub(self.size)).unwrap_or(usize::MAX);
            // The longest run of whole lines that fits; a single line
            // longer than the limit goes alone into a fresh file.
            let take = if data.len() <= room {
                data.len()
            } else {
                match data[..room].iter().rposition(|&b| b == b'\n') {
                    Some(k) => k + 1,
                    None if self.size > 0 => 0,
                    None => data
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(data.len(), |k| k + 1),
                }
            };
            if take == 0 {
                self.rotate()?;
                continue;
            }
            let Some(f) = &mut self.file else {
                return Ok(());
            };
            if let Err(e) = f.write_all(&data[..take]) {
                // No half line for the next write to be glued to.
                let _ = f.set_len(self.size);
                return Err(e);
            }
            self.size += take as u64;
            *data = &data[take..];
        }
        Ok(())
    }

    /// Closes the file until the next append: a job's file is open only
    /// while a run of it writes, so idle and removed jobs hold no
    /// descriptor.
    pub fn release(&mut self) {
        self.file = None;
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let name = |k: u32| PathBuf::from(format!("{}.{k}", self.path.display()));
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(name(self.keep));
            for k in (1..self.keep).rev() {
                let _ = std::fs::rename(name(k), name(k + 1));
            }
            std::fs::rename(&self.path, name(1))?;
        }
        let f = crate::state::private_append(&self.path)?;
        self.size = 0;
        self.file = Some(f);
        Ok(())
    }
}

/// Appends one formatted line to `buf`.
pub fn line(
    buf: &mut Vec<u8>,
    timestamp: &str,
    invocation: &str,
    stream: &str,
    priority: u8,
    pid: u32,
    message: &[u8],
) {
    use std::fmt::Write as _;
    let mut head = String::with_capacity(96);
    let _ = write!(head, "{timestamp} {invocation} {stream} {priority} {pid} ");
    buf.extend_from_slice(head.as_bytes());
    buf.extend_from_slice(message);
    buf.push(b'\n');
}

/// RFC 3339 UTC with microseconds, for `usec` since the epoch.
pub fn timestamp(usec: i64) -> String {
    jiff::Timestamp::from_microsecond(usec).map_or_else(|_| format!("@{usec}"), |t| t.to_string())
}

/// One line read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub timestamp: String,
    pub invocation: String,
    pub stream: String,
    pub priority: u8,
    pub pid: u32,
    pub message: Vec<u8>,
}

/// Parses one line (without its newline); `None` if it is not jobd's.
pub fn parse(line: &[u8]) -> Option<Entry> {
    let mut parts = line.splitn(6, |&b| b == b' ');
    let mut text = || std::str::from_utf8(parts.next()?).ok().map(str::to_owned);
    let timestamp = text()?;
    let invocation = text()?;
    let stream = text()?;
    let priority = text()?.parse().ok()?;
    let pid = text()?.parse().ok()?;
    let message = parts.next().unwrap_or_default().to_vec();
    Some(Entry {
        timestamp,
        invocation,
        stream,
        priority,
        pid,
        message,
    })
}

/// The file job `name`'s lines go to now, in `dir`.
pub fn current(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

/// Job `name`'s files in `dir`, oldest first.
pub fn files_of(dir: &Path, name: &str) -> Vec<PathBuf> {
    let base = current(dir, name);
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name();
            let k = n
                .to_str()?
                .strip_prefix(&format!("{name}.log."))?
                .parse()
                .ok()?;
            Some((k, e.path()))
        })
        .collect();
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if base.exists() {
        out.push(base);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_episode_ends_when_tries_stop() {
        use std::time::{Duration, Instant};
        let gap = Duration::from_secs(10);
        let t0 = Instant::now();
        let mut f = None;
        assert_eq!(Failing::failed(&mut f, t0, gap).since, t0);
        // Tries every second: one episode, however long.
        for k in 1..=30 {
            let e = Failing::failed(&mut f, t0 + Duration::from_secs(k), gap);
            assert_eq!(e.since, t0);
        }
        // Nothing tried for 11 s (the disk was written meanwhile by no
        // one, or freed and filled again): a new episode.
        let later = t0 + Duration::from_secs(41);
        assert_eq!(Failing::failed(&mut f, later, gap).since, later);
    }

    #[test]
    fn line_round_trip_keeps_bytes() {
        let mut buf = Vec::new();
        line(
            &mut buf,
            "2026-11-25T15:30:00.123456Z",
            "0123456789abcdef0123456789abcdef",
            "stderr",
            3,
            42,
            b"50%\r100% \xff done",
        );
        assert_eq!(buf.last(), Some(&b'\n'));
        let e = parse(&buf[..buf.len() - 1]).expect("parses");
        assert_eq!(e.stream, "stderr");
        assert_eq!(e.priority, 3);
        assert_eq!(e.pid, 42);
        assert_eq!(e.message, b"50%\r100% \xff done");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_500_000), "1970-01-01T00:00:01.5Z");
    }

    #[test]
    fn rotation_keeps_a_bounded_number_of_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = FileLogs::new(dir.path().join("logs"), 100, 2);
        let f = logs.job("j");
        for i in 0..20 {
            let mut buf = Vec::new();
            line(
                &mut buf,
                "t",
                "inv",
                "stdout",
                6,
                1,
                format!("line {i}").as_bytes(),
            );
            f.lock().unwrap().append(&buf).unwrap();
        }
        let files = files_of(&dir.path().join("logs"), "j");
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["j.log.2", "j.log.1", "j.log"]);
        for p in &files {
            assert!(std::fs::metadata(p).unwrap().len() <= 100);
        }
        // The newest line is last in the newest file; nothing is lost
        // within what is kept.
        let all: Vec<Entry> = files
            .iter()
            .flat_map(|p| {
                std::fs::read(p)
                    .unwrap()
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .map(|l| parse(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        let nums: Vec<u32> = all
            .iter()
            .map(|e| String::from_utf8_lossy(&e.message)[5..].parse().unwrap())
            .collect();
        assert_eq!(*nums.last().unwrap(), 19);
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
    }
}
