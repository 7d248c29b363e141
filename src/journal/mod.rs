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

pub mod budget;
pub mod encode;
pub mod files;
mod output;
pub mod socket;
pub mod stderr;

pub use output::{RunOutput, Stream, forward};

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use budget::Budget;
use files::FileLogs;
use output::RunSink;
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
    pub const DEFERRED: &str = "933c5e772f684f029caf2aaad1aefa1c";
    pub const TO_FILE: &str = "5b0a3c7e91d24f6c8e2d7a41c9f05b13";
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
    /// The job files: the sink without a journal, where lines the journal
    /// would not take go with one.
    pub files: Arc<FileLogs>,
    /// journald's rate limit, from jobd's side.
    budget: Arc<Mutex<Budget>>,
    events: mpsc::UnboundedSender<Msg>,
    /// Runs whose output is still being read.
    outputs: Arc<Outputs>,
}

/// How many [`RunOutput`]s are alive, and a wake-up when one goes.
#[derive(Default)]
pub(crate) struct Outputs {
    pub(crate) open: std::sync::atomic::AtomicUsize,
    pub(crate) gone: tokio::sync::Notify,
}

/// What the task that sends the daemon's own entries is asked to do.
enum Msg {
    Entry(Entry),
    /// Answer once everything before has been sent.
    Flush(oneshot::Sender<()>),
}

/// The last lines a job printed, for `status`.
pub type Tail = Arc<Mutex<VecDeque<String>>>;

/// One entry of the daemon's own: a lifecycle notice about a job (with
/// its `JOBD_JOB`, `JOBD_INVOCATION`, `MESSAGE_ID` and `JOBD_*` fields), or
/// a line about the daemon itself (`job` `None`).
#[derive(Debug)]
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
        let files = Arc::new(FileLogs::new(state_dir.join("logs"), file_max, file_keep));
        let sink = if path.exists() {
            Sink::Journal(Arc::new(JournalSocket::new(path)))
        } else {
            Sink::Files(Arc::clone(&files))
        };
        let limit = match &sink {
            Sink::Journal(_) => budget::configured(namespace.as_deref()),
            Sink::Files(_) => None,
        };
        let budget = Arc::new(Mutex::new(Budget::new(limit)));
        let (events, rx) = mpsc::unbounded_channel::<Msg>();
        if let Sink::Journal(sock) = &sink {
            tokio::spawn(send_own(
                Arc::clone(sock),
                Arc::clone(&files),
                Arc::clone(&budget),
                rx,
            ));
        }
        Log {
            sink,
            namespace,
            mirror,
            files,
            budget,
            events,
            outputs: Arc::default(),
        }
    }

    /// Waits (at most `limit`) until the output of every run has been
    /// read to its end and delivered, with the notices that wait for it
    /// (`finished`): at shutdown, before the last line.
    pub async fn drained(&self, limit: Duration) {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let gone = self.outputs.gone.notified();
            tokio::pin!(gone);
            gone.as_mut().enable();
            if self.outputs.open.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(until, gone).await.is_err() {
                return;
            }
        }
    }

    /// Waits (at most `limit`) until every entry of the daemon's own
    /// logged so far has been handed to journald: before exit, so that the
    /// last lines are not lost with the process.
    pub async fn flush(&self, limit: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.events.send(Msg::Flush(tx)).is_ok() {
            let _ = tokio::time::timeout(limit, rx).await;
        }
    }

    /// What `status` and the start-up line say about it.
    pub fn describe(&self) -> String {
        match &self.sink {
            Sink::Journal(s) => format!("journal ({})", s.path.display()),
            Sink::Files(f) => format!("files in {} (no journal socket)", f.dir.display()),
        }
    }

    /// Logs a lifecycle notice: the stderr line and the structured entry.
    pub fn emit(&self, e: Entry) {
        let m = &e.message;
        line(e.level, true, format_args!("{m}"));
        self.send(e);
    }

    /// The daemon's own entries: to journald in order (never blocks: the
    /// sending task has them), or as a line of the job's file.
    fn send(&self, e: Entry) {
        match &self.sink {
            Sink::Journal(_) => {
                let _ = self.events.send(Msg::Entry(e));
            }
            // The daemon's own lines have no file; its stderr has them.
            Sink::Files(f) => own_to_file(f, &e),
        }
    }

    /// The writers' shared view of one run.
    pub fn run(
        &self,
        job: &str,
        invocation: &str,
        pid: u32,
        tail: Tail,
        to_file: Arc<AtomicU64>,
    ) -> Arc<RunOutput> {
        let header = |stream: &str| {
            let mut h = Vec::with_capacity(160);
            encode::field(&mut h, "SYSLOG_IDENTIFIER", job.as_bytes());
            encode::field(&mut h, "JOBD_JOB", job.as_bytes());
            encode::field(&mut h, "JOBD_INVOCATION", invocation.as_bytes());
            encode::field(&mut h, "JOBD_STREAM", stream.as_bytes());
            encode::field(&mut h, "SYSLOG_PID", pid.to_string().as_bytes());
            h
        };
        let spill = self.files.job(job);
        self.outputs.open.fetch_add(1, Ordering::AcqRel);
        Arc::new(RunOutput {
            job: job.to_owned(),
            invocation: invocation.to_owned(),
            pid,
            headers: [header("stdout"), header("stderr")],
            sink: match &self.sink {
                Sink::Journal(s) => RunSink::Journal(Arc::clone(s)),
                Sink::Files(_) => RunSink::File(Arc::clone(&spill)),
            },
            spill,
            spill_path: files::current(&self.files.dir, job).display().to_string(),
            to_file,
            unreported: Mutex::new((0, "")),
            mirror: self.mirror,
            tail,
            log: self.clone(),
            open: Mutex::new(output::Open::new()),
        })
    }
}

/// Encodes one of the daemon's own entries for journald.
fn encode_own(e: &Entry) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    encode::field(&mut b, "MESSAGE", e.message.as_bytes());
    if let Some(id) = e.message_id {
        encode::field(&mut b, "MESSAGE_ID", id.as_bytes());
    }
    encode::field(&mut b, "PRIORITY", &[b'0' + priority_of(e.level)]);
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
    b
}

/// One of the daemon's own entries about a job, as a line of its file
/// (where there is no journal: written at once, or lost with a line on
/// stderr, which has it too).
fn own_to_file(files: &FileLogs, e: &Entry) {
    let Some(job) = &e.job else {
        return;
    };
    let file = files.job(job);
    let mut file = file
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(err) = file.append(&own_line(e)) {
        stderr::write_line(format!("jobd: cannot write the log of {job}: {err}").as_bytes());
    }
    file.release();
}

/// [`own_to_file`] for an entry journald would not take: held while the
/// file cannot take it either, as the job's own lines are.
async fn own_to_file_held(files: &FileLogs, e: &Entry) {
    let Some(job) = &e.job else {
        return;
    };
    let file = files.job(job);
    output::hold_append(job, &file, &own_line(e)).await;
    file.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .release();
}

/// An entry of the daemon's own as a line of the fallback format.
fn own_line(e: &Entry) -> Vec<u8> {
    let mut b = Vec::new();
    files::line(
        &mut b,
        &files::timestamp(crate::tzdb::now_usec()),
        e.invocation.as_deref().unwrap_or("-"),
        "jobd",
        priority_of(e.level),
        std::process::id(),
        e.message.as_bytes(),
    );
    b
}

/// The task that sends the daemon's own entries, in order, to journald,
/// within jobd's share of its rate limit. One about a job that journald
/// will not take (or that is over that share) goes to the job's file; one
/// about the daemon itself is on stderr already, where that is not the
/// journal.
async fn send_own(
    sock: Arc<JournalSocket>,
    files: Arc<FileLogs>,
    budget: Arc<Mutex<Budget>>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    while let Some(msg) = rx.recv().await {
        let e = match msg {
            Msg::Entry(e) => e,
            Msg::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let fits = budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .own(Instant::now());
        if (fits || e.job.is_none()) && sock.send(&encode_own(&e)).await {
            continue;
        }
        // A line about the daemon itself is on stderr already (`line`),
        // unless stderr is the journal.
        if e.job.is_some() {
            own_to_file_held(&files, &e).await;
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
/// The daemon's lines from before the journal was open (bounded).
static EARLY: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
const EARLY_MAX: usize = 256;

/// From now on the daemon's own lines also go to `log`'s journal; so do
/// the ones logged before.
pub fn install_daemon_log(log: &Log) {
    let early = std::mem::take(
        &mut *EARLY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if DAEMON_LOG.set(log.clone()).is_ok() {
        for e in early {
            log.send(e);
        }
    }
}

/// The daemon's log, once open.
pub fn daemon_log() -> Option<&'static Log> {
    DAEMON_LOG.get()
}

/// One line of the daemon's: to stderr as ` INFO message` (unless stderr
/// is the journal already; never blocking) and to the journal with
/// `SYSLOG_IDENTIFIER=jobd` and the level's priority — kept until the
/// journal is open if it is not yet — except `lifecycle` lines, which the
/// daemon sends as structured events itself. A dozen lines instead of
/// `tracing` + `tracing-subscriber`: on this kernel every byte of the
/// binary's code is resident, and the daemon needs no more.
pub fn line(level: Level, lifecycle: bool, args: std::fmt::Arguments<'_>) {
    let message = args.to_string();
    if !*STDERR_IS_JOURNAL.get_or_init(stderr_is_journal) {
        let tag = match level {
            Level::Error => "ERROR",
            Level::Warn => " WARN",
            Level::Info => " INFO",
        };
        stderr::write_line(format!("{tag} {message}").as_bytes());
    }
    if lifecycle {
        return;
    }
    let e = Entry {
        message_id: None,
        level,
        job: None,
        invocation: None,
        message,
        fields: Vec::new(),
    };
    match DAEMON_LOG.get() {
        Some(log) => log.send(e),
        None => {
            let mut early = EARLY
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if early.len() < EARLY_MAX {
                early.push(e);
            }
        }
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
