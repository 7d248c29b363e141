//! Where everything jobs print goes: journald (native protocol) when its
//! socket exists, per-job files otherwise (SPEC §4).
//!
//! - [`encode`] (PURE) builds entries and splits output into lines.
//! - [`socket`] sends entries to journald without ever blocking the event
//!   loop: a full journald slows the readers of the jobs' pipes, nothing
//!   else.
//! - [`files`] is the fallback, rotated by size.
//!
//! Each run's stdout and stderr are read by a task of their own
//! ([`forward`]), which sends every line as one entry with `MESSAGE`,
//! `PRIORITY`, `SYSLOG_IDENTIFIER`, `JOBD_JOB`, `JOBD_INVOCATION`,
//! `JOBD_STREAM`, `SYSLOG_PID`. Lifecycle events from the daemon go
//! through [`Log::emit`] in order, with a `MESSAGE_ID` per kind. The
//! daemon's own log lines go to the journal too, and to stderr unless
//! stderr is already the journal (`JOURNAL_STREAM`, as under systemd).

pub mod encode;
pub mod files;
pub mod socket;

use std::collections::VecDeque;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use files::{FileLogs, JobFile};
use socket::JournalSocket;

/// `MESSAGE_ID`s of the daemon's lifecycle events, for
/// `journalctl MESSAGE_ID=…`.
pub mod message_id {
    pub const STARTED: &str = "918ca543296e6bd99854c4d35222f9aa";
    pub const FINISHED: &str = "e33ddc80151c7732c44c65bc7b4c9ceb";
    pub const RESTART_SCHEDULED: &str = "306e82c3a2b8c949cf09326248d902eb";
    pub const ELAPSE_SKIPPED: &str = "dd4c108e7a2b2bded4e9bb371ed16d31";
    pub const START_LIMIT_HIT: &str = "be6ad2903944fd8f636c237fb734bff5";
    pub const START_FAILED: &str = "c8ffdc6be09ffdb9165413bf786c07be";
    pub const DROPPED: &str = "2701a4696ed8b43b8f95f60c387df962";
}

/// The journal socket for a namespace (SPEC §1).
pub fn socket_path(namespace: Option<&str>) -> PathBuf {
    match namespace {
        Some(ns) => PathBuf::from(format!("/run/systemd/journal.{ns}/socket")),
        None => PathBuf::from("/run/systemd/journal/socket"),
    }
}

#[derive(Clone)]
pub enum Sink {
    Journal(Arc<JournalSocket>),
    Files(Arc<FileLogs>),
}

/// The daemon's logging: where lines go, and whether job output is also
/// copied to the daemon's stderr.
#[derive(Clone)]
pub struct Log {
    pub sink: Sink,
    pub namespace: Option<String>,
    /// Copy job output to stderr as `NAME[PID]: line`.
    pub mirror: bool,
    events: mpsc::UnboundedSender<Vec<u8>>,
}

/// The last lines a job printed, for `status`.
pub type Tail = Arc<Mutex<VecDeque<String>>>;

/// Lines `status` shows, and the most of each line it keeps.
const TAIL_LINES: usize = 10;
const TAIL_LINE_BYTES: usize = 1024;

/// One entry of the daemon's own: a lifecycle notice about a job (with
/// its `JOBD_JOB`, `JOBD_INVOCATION`, `MESSAGE_ID` and `JOBD_*` fields), or
/// a line about the daemon itself (`job` `None`).
pub struct Entry {
    pub message_id: Option<&'static str>,
    pub level: Level,
    pub job: Option<String>,
    pub invocation: Option<String>,
    pub message: String,
    /// More `JOBD_*` fields.
    pub fields: Vec<(&'static str, String)>,
}

impl Log {
    /// Picks the journal if its socket exists, else files under
    /// `state_dir/logs`. Must run inside the runtime (it starts the task
    /// that sends lifecycle events in order).
    pub fn open(
        namespace: Option<String>,
        state_dir: &Path,
        file_max: u64,
        file_keep: u32,
        mirror: bool,
    ) -> Log {
        let path = socket_path(namespace.as_deref());
        let sink = if path.exists() {
            Sink::Journal(Arc::new(JournalSocket::new(path)))
        } else {
            Sink::Files(Arc::new(FileLogs::new(
                state_dir.join("logs"),
                file_max,
                file_keep,
            )))
        };
        let (events, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        if let Sink::Journal(sock) = &sink {
            let sock = Arc::clone(sock);
            tokio::spawn(async move {
                while let Some(entry) = rx.recv().await {
                    sock.send(&entry).await;
                }
            });
        }
        Log {
            sink,
            namespace,
            mirror,
            events,
        }
    }

    /// What `status` and the start-up line say about it.
    pub fn describe(&self) -> String {
        match &self.sink {
            Sink::Journal(s) => format!("journal ({})", s.path.display()),
            Sink::Files(f) => format!("files in {} (no journal socket)", f.dir.display()),
        }
    }

    /// Entries dropped because journald was unreachable too long.
    pub fn dropped(&self) -> u64 {
        match &self.sink {
            Sink::Journal(s) => s.dropped(),
            Sink::Files(_) => 0,
        }
    }

    /// Logs a lifecycle notice: the stderr line and the structured entry.
    pub fn emit(&self, e: &Entry) {
        let m = &e.message;
        line(e.level, true, format_args!("{m}"));
        self.send(e);
    }

    /// The one place the daemon's own entries are encoded: for journald
    /// (never blocks: queued in order), or as a line of the job's file.
    fn send(&self, e: &Entry) {
        let priority = priority_of(e.level);
        match &self.sink {
            Sink::Journal(_) => {
                let mut b = Vec::with_capacity(256);
                encode::field(&mut b, "MESSAGE", e.message.as_bytes());
                if let Some(id) = e.message_id {
                    encode::field(&mut b, "MESSAGE_ID", id.as_bytes());
                }
                encode::field(&mut b, "PRIORITY", &[b'0' + priority]);
                encode::field(&mut b, "SYSLOG_IDENTIFIER", b"jobd");
                if let Some(job) = &e.job {
                    encode::field(&mut b, "JOBD_JOB", job.as_bytes());
                }
                if let Some(inv) = &e.invocation {
                    encode::field(&mut b, "JOBD_INVOCATION", inv.as_bytes());
                }
                for (k, v) in &e.fields {
                    encode::field(&mut b, k, v.as_bytes());
                }
                let _ = self.events.send(b);
            }
            // The daemon's own lines have no file; its stderr has them.
            Sink::Files(f) => {
                let Some(job) = &e.job else {
                    return;
                };
                let mut b = Vec::new();
                files::line(
                    &mut b,
                    &files::timestamp(crate::tzdb::now_usec()),
                    e.invocation.as_deref().unwrap_or("-"),
                    "jobd",
                    priority,
                    std::process::id(),
                    e.message.as_bytes(),
                );
                let file = f.job(job);
                let mut file = file
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Err(err) = file.append(&b) {
                    eprintln!("jobd: cannot write the log of {job}: {err}");
                }
            }
        }
    }

    /// The writers' shared view of one run.
    pub fn run(&self, job: &str, invocation: &str, pid: u32, tail: Tail) -> Arc<RunOutput> {
        let header = |stream: &str| {
            let mut h = Vec::with_capacity(160);
            encode::field(&mut h, "SYSLOG_IDENTIFIER", job.as_bytes());
            encode::field(&mut h, "JOBD_JOB", job.as_bytes());
            encode::field(&mut h, "JOBD_INVOCATION", invocation.as_bytes());
            encode::field(&mut h, "JOBD_STREAM", stream.as_bytes());
            encode::field(&mut h, "SYSLOG_PID", pid.to_string().as_bytes());
            h
        };
        Arc::new(RunOutput {
            job: job.to_owned(),
            invocation: invocation.to_owned(),
            pid,
            headers: [header("stdout"), header("stderr")],
            sink: match &self.sink {
                Sink::Journal(s) => RunSink::Journal(Arc::clone(s)),
                Sink::Files(f) => RunSink::File(f.job(job)),
            },
            mirror: self.mirror,
            tail,
            log: self.clone(),
            open: Mutex::new((2, None)),
        })
    }
}

enum RunSink {
    Journal(Arc<JournalSocket>),
    File(Arc<Mutex<JobFile>>),
}

/// Where one run's output goes.
pub struct RunOutput {
    job: String,
    invocation: String,
    pid: u32,
    /// Pre-encoded fields shared by every line of stdout and of stderr.
    headers: [Vec<u8>; 2],
    sink: RunSink,
    mirror: bool,
    tail: Tail,
    log: Log,
    /// Streams still open, and the event to log once both are done.
    open: Mutex<(u8, Option<Entry>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Reads one of a run's pipes to its end and sends every line on.
pub async fn forward(out: Arc<RunOutput>, stream: Stream, fd: OwnedFd) {
    let Ok(rx) = tokio::net::unix::pipe::Receiver::from_owned_fd(fd) else {
        return;
    };
    let mut lines = encode::Lines::default();
    // This chunk's lines, end offsets into `arena`.
    let mut arena = Vec::new();
    let mut ends = Vec::new();
    let mut entry = Vec::new();
    loop {
        let eof = if rx.readable().await.is_err() {
            true
        } else {
            match read_lines(&rx, &mut lines, &mut arena, &mut ends) {
                Some(eof) => eof,
                // Not readable after all (a spurious wake-up): wait again.
                None => continue,
            }
        };
        out.deliver(stream, &arena, &ends, &mut entry).await;
        // A burst grew them; a quiet job should not keep that memory.
        if arena.capacity() > 256 << 10 {
            arena = Vec::new();
            entry = Vec::new();
        }
        if eof {
            out.stream_done();
            return;
        }
    }
}

thread_local! {
    /// The one read buffer all output readers share: they run on the
    /// daemon's single thread and use it only between awaits, so 200
    /// supervised daemons cost one 64 KiB buffer, not 400 (which was
    /// 25 MiB of RSS, bench/restart-vs-peers).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 64 * 1024]);
}

/// Reads what the pipe has into the shared buffer and splits it into
/// `arena`/`ends`. `Some(true)` at end of stream (the last partial line
/// included), `Some(false)` after data, `None` if nothing was there.
fn read_lines(
    rx: &tokio::net::unix::pipe::Receiver,
    lines: &mut encode::Lines,
    arena: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Option<bool> {
    arena.clear();
    ends.clear();
    let mut collect = |l: &[u8]| {
        arena.extend_from_slice(l);
        ends.push(arena.len());
    };
    SCRATCH.with(|buf| {
        let mut buf = buf.borrow_mut();
        match rx.try_read(&mut buf) {
            Ok(0) => {
                lines.finish(&mut collect);
                Some(true)
            }
            Ok(n) => {
                lines.feed(&buf[..n], &mut collect);
                Some(false)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) =>
            {
                None
            }
            Err(_) => {
                lines.finish(&mut collect);
                Some(true)
            }
        }
    })
}

impl RunOutput {
    /// Logs `e` once all the run's output has been delivered (at once if
    /// it has).
    pub fn after_output(&self, e: Entry) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.0 == 0 {
            drop(open);
            self.log.emit(&e);
        } else {
            open.1 = Some(e);
        }
    }

    fn stream_done(&self) {
        let pending = {
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            open.0 = open.0.saturating_sub(1);
            if open.0 == 0 { open.1.take() } else { None }
        };
        if let Some(e) = pending {
            self.log.emit(&e);
        }
    }

    async fn deliver(&self, stream: Stream, arena: &[u8], ends: &[usize], entry: &mut Vec<u8>) {
        if ends.is_empty() {
            return;
        }
        let line = |k: usize| &arena[if k == 0 { 0 } else { ends[k - 1] }..ends[k]];
        match &self.sink {
            RunSink::Journal(sock) => {
                // All of this chunk's entries back to back, sent many per
                // system call.
                entry.clear();
                let mut bounds = Vec::with_capacity(ends.len());
                for k in 0..ends.len() {
                    let (prio, msg) = encode::priority(line(k), 6);
                    let start = entry.len();
                    entry.extend_from_slice(&self.headers[stream as usize]);
                    entry.extend_from_slice(b"PRIORITY=");
                    entry.push(b'0' + prio);
                    entry.push(b'\n');
                    encode::field(entry, "MESSAGE", msg);
                    bounds.push((start, entry.len()));
                }
                let entries: Vec<&[u8]> = bounds.iter().map(|&(a, b)| &entry[a..b]).collect();
                sock.send_many(&entries).await;
            }
            RunSink::File(file) => {
                let ts = files::timestamp(crate::tzdb::now_usec());
                entry.clear();
                for k in 0..ends.len() {
                    let (prio, msg) = encode::priority(line(k), 6);
                    files::line(
                        entry,
                        &ts,
                        &self.invocation,
                        stream.name(),
                        prio,
                        self.pid,
                        msg,
                    );
                }
                let mut f = file
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Err(e) = f.append(entry) {
                    eprintln!("jobd: cannot write the log of {}: {e}", self.job);
                }
            }
        }
        self.keep_tail(ends.len(), line);
        if self.mirror {
            let mut m = Vec::new();
            for k in 0..ends.len() {
                m.extend_from_slice(self.job.as_bytes());
                m.extend_from_slice(format!("[{}]: ", self.pid).as_bytes());
                m.extend_from_slice(encode::priority(line(k), 6).1);
                m.push(b'\n');
            }
            let _ = std::io::stderr().lock().write_all(&m);
        }
    }

    fn keep_tail<'a>(&self, count: usize, line: impl Fn(usize) -> &'a [u8]) {
        // A poisoned lock only means another reader panicked mid-push;
        // the deque itself is still whole.
        let mut t = self
            .tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in count.saturating_sub(TAIL_LINES)..count {
            let text = String::from_utf8_lossy(encode::priority(line(k), 6).1);
            let mut kept = format!("{}[{}]: {text}", self.job, self.pid);
            if kept.len() > TAIL_LINE_BYTES {
                let mut cut = TAIL_LINE_BYTES;
                while !kept.is_char_boundary(cut) {
                    cut -= 1;
                }
                kept.truncate(cut);
            }
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(kept);
        }
    }
}

/// Whether stderr is the journal already (systemd sets `JOURNAL_STREAM`
/// to the device and inode of the stream it connected).
pub fn stderr_is_journal() -> bool {
    let Some(v) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = v.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let Ok(st) = rustix::fs::fstat(std::io::stderr()) else {
        return false;
    };
    dev.parse::<u64>().is_ok_and(|d| d == st.st_dev)
        && ino.parse::<u64>().is_ok_and(|i| i == st.st_ino)
}

/// How serious a daemon line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
}

/// syslog priority of a level.
pub fn priority_of(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
    }
}

static DAEMON_LOG: std::sync::OnceLock<Log> = std::sync::OnceLock::new();
static STDERR_IS_JOURNAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// From now on the daemon's own lines also go to `log`'s journal.
pub fn install_daemon_log(log: &Log) {
    let _ = DAEMON_LOG.set(log.clone());
}

/// One line of the daemon's: to stderr as ` INFO message` (unless stderr
/// is the journal already) and, once a journal is installed, to it with
/// `SYSLOG_IDENTIFIER=jobd` and the level's priority — except `lifecycle`
/// lines, which the daemon sends as structured events itself. A dozen
/// lines instead of `tracing` + `tracing-subscriber`: on this kernel every
/// byte of the binary's code is resident, and the daemon needs no more.
pub fn line(level: Level, lifecycle: bool, args: std::fmt::Arguments<'_>) {
    let message = args.to_string();
    if !*STDERR_IS_JOURNAL.get_or_init(stderr_is_journal) {
        let tag = match level {
            Level::Error => "ERROR",
            Level::Warn => " WARN",
            Level::Info => " INFO",
        };
        let _ = writeln!(std::io::stderr().lock(), "{tag} {message}");
    }
    if !lifecycle && let Some(log) = DAEMON_LOG.get() {
        log.send(&Entry {
            message_id: None,
            level,
            job: None,
            invocation: None,
            message,
            fields: Vec::new(),
        });
    }
}

/// `log_info!("…", args)`: a daemon line (see [`line`]).
#[macro_export]
macro_rules! log_info {
    ($($t:tt)+) => { $crate::journal::line($crate::journal::Level::Info, false, format_args!($($t)+)) };
}

/// A warning line of the daemon's (see [`line`]).
#[macro_export]
macro_rules! log_warn {
    ($($t:tt)+) => { $crate::journal::line($crate::journal::Level::Warn, false, format_args!($($t)+)) };
}

/// An error line of the daemon's (see [`line`]).
#[macro_export]
macro_rules! log_error {
    ($($t:tt)+) => { $crate::journal::line($crate::journal::Level::Error, false, format_args!($($t)+)) };
}
