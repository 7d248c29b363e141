//! One run's output: each of its pipes read by a task of its own
//! ([`forward`]), split into lines, and every line delivered once — to the
//! journal while journald takes it and its rate limit allows, to the job's
//! file otherwise (with a journal entry saying how many went there).

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::files::{self, JobFile};
use super::socket::JournalSocket;
use super::{Entry, Level, Log, Tail, encode, message_id, stderr};

/// Lines `status` shows, and the most of each line it keeps.
const TAIL_LINES: usize = 10;
const TAIL_LINE_BYTES: usize = 1024;

/// How long lines that cannot be written wait before the next try: from
/// the first pause, doubling up to the longest.
const HOLD_FIRST: std::time::Duration = std::time::Duration::from_millis(20);
const HOLD_MAX: std::time::Duration = std::time::Duration::from_secs(1);
/// How long a job's lines wait for its file before they are dropped.
const HOLD_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) enum RunSink {
    Journal(Arc<JournalSocket>),
    File(Arc<Mutex<JobFile>>),
}

/// Where one run's output goes.
pub struct RunOutput {
    pub(super) job: String,
    pub(super) invocation: String,
    pub(super) pid: u32,
    /// Pre-encoded fields shared by every line of stdout and of stderr.
    pub(super) headers: [Vec<u8>; 2],
    pub(super) sink: RunSink,
    /// Where lines go that the journal would not take.
    pub(super) spill: Arc<Mutex<JobFile>>,
    pub(super) spill_path: String,
    /// The job's count of lines that went to its file.
    pub(super) to_file: Arc<AtomicU64>,
    /// This run's lines in the file not yet reported in the journal, and
    /// why they went there.
    pub(super) unreported: Mutex<(u64, &'static str)>,
    pub(super) mirror: bool,
    pub(super) tail: Tail,
    pub(super) log: Log,
    /// Streams still open, and what to do once both are done.
    pub(super) open: Mutex<Open>,
}

/// What waits for a run's output streams to end.
pub(super) struct Open {
    /// Streams not yet at their end.
    pub(super) streams: u8,
    /// What to do then, in order (the `finished` entry, answers to
    /// clients that waited).
    pub(super) then: Vec<Box<dyn FnOnce() + Send>>,
}

impl Open {
    pub(super) fn new() -> Open {
        Open {
            streams: 2,
            then: Vec::new(),
        }
    }
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

/// What became of lines a job's file would not take.
enum Hold {
    /// Written (at last); how many lines had been dropped before.
    Written(u64),
    /// Dropped after HOLD_LIMIT: how many, whether they are the first of
    /// the episode, and why.
    Dropped(u64, bool, std::io::Error),
    /// To be tried again.
    Wait(std::io::Error),
}

impl Drop for RunOutput {
    fn drop(&mut self) {
        self.log.outputs.open.fetch_sub(1, Ordering::AcqRel);
        self.log.outputs.gone.notify_waiters();
    }
}

impl RunOutput {
    /// Logs `e` once all the run's output has been delivered (at once if
    /// it has).
    pub fn after_output(&self, e: Entry) {
        let log = self.log.clone();
        self.then(move || log.emit(e));
    }

    /// Does `f` once all the run's output has been delivered (at once if
    /// it has): a client waiting for the run hears of its end after its
    /// last line is in the journal or the file.
    pub fn then(&self, f: impl FnOnce() + Send + 'static) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.streams == 0 {
            drop(open);
            f();
        } else {
            open.then.push(Box::new(f));
        }
    }

    fn stream_done(&self) {
        let (last, then) = {
            let mut open = self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            open.streams = open.streams.saturating_sub(1);
            if open.streams == 0 {
                (true, std::mem::take(&mut open.then))
            } else {
                (false, Vec::new())
            }
        };
        if last {
            self.report_to_file();
            // The job's file, whichever sink: `RunSink::File` shares it.
            self.spill
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .release();
        }
        for f in then {
            f();
        }
    }

    /// Says in the journal how many of this run's lines went to its file
    /// since the last time it said so.
    fn report_to_file(&self) {
        let (n, why) = {
            let mut u = self
                .unreported
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::take(&mut *u)
        };
        if n == 0 {
            return;
        }
        self.log.emit(Entry {
            message_id: Some(message_id::TO_FILE),
            level: Level::Warn,
            job: Some(self.job.clone()),
            invocation: Some(self.invocation.clone()),
            message: format!(
                "{n} line(s) of {} went to {} ({why}); `jobd logs {}` shows them in place",
                self.job, self.spill_path, self.job
            ),
            fields: vec![
                ("JOBD_TO_FILE", n.to_string()),
                ("JOBD_FILE", self.spill_path.clone()),
                ("JOBD_REASON", why.to_owned()),
            ],
        });
    }

    async fn deliver(&self, stream: Stream, arena: &[u8], ends: &[usize], entry: &mut Vec<u8>) {
        if ends.is_empty() {
            return;
        }
        let line = |k: usize| &arena[if k == 0 { 0 } else { ends[k - 1] }..ends[k]];
        match &self.sink {
            RunSink::Journal(sock) => {
                // What journald's rate limit allows is encoded: all of it
                // back to back, sent many per system call.
                let granted = self
                    .log
                    .budget
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take(ends.len(), Instant::now());
                entry.clear();
                let mut bounds = Vec::with_capacity(granted);
                for k in 0..granted {
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
                let sent = sock.send_many(&entries).await;
                if sent < ends.len() {
                    let why = if sent < granted {
                        "journald is not taking entries"
                    } else {
                        "journald's rate limit"
                    };
                    self.send_to_file(stream, sent..ends.len(), &line, why)
                        .await;
                } else if sent > 0 {
                    self.report_to_file();
                }
            }
            RunSink::File(file) => {
                self.write_file(file, stream, 0..ends.len(), &line).await;
            }
        }
        self.keep_tail(ends.len(), line);
        if self.mirror {
            let prefix = format!("{}[{}]: ", self.job, self.pid);
            let mut m = Vec::new();
            for k in 0..ends.len() {
                m.clear();
                m.extend_from_slice(prefix.as_bytes());
                m.extend_from_slice(encode::priority(line(k), 6).1);
                stderr::write_line(&m);
            }
        }
    }

    /// Writes lines `range` to `file` in the file format; how many of
    /// them had to be dropped.
    async fn write_file<'a>(
        &self,
        file: &Mutex<JobFile>,
        stream: Stream,
        range: std::ops::Range<usize>,
        line: &impl Fn(usize) -> &'a [u8],
    ) -> u64 {
        let ts = files::timestamp(crate::tzdb::now_usec());
        let mut buf = Vec::new();
        for k in range {
            let (prio, msg) = encode::priority(line(k), 6);
            files::line(
                &mut buf,
                &ts,
                &self.invocation,
                stream.name(),
                prio,
                self.pid,
                msg,
            );
        }
        hold_append(&self.job, file, &buf).await
    }

    /// Lines `range` go to the job's file instead of the journal.
    async fn send_to_file<'a>(
        &self,
        stream: Stream,
        range: std::ops::Range<usize>,
        line: &impl Fn(usize) -> &'a [u8],
        why: &'static str,
    ) {
        let lines = range.len() as u64;
        let n = lines.saturating_sub(self.write_file(&self.spill, stream, range, line).await);
        self.to_file.fetch_add(n, Ordering::Relaxed);
        let mut u = self
            .unreported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        u.0 += n;
        u.1 = why;
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

/// Appends `buf` (whole lines) to job `job`'s `file`; how many lines it had
/// to drop.
pub(super) async fn hold_append(job: &str, file: &Mutex<JobFile>, buf: &[u8]) -> u64 {
    // Nowhere to put a line (the disk is full, and the journal did not
    // take it either): the lines wait here, and the job, once its pipe
    // is full, waits for them — for HOLD_LIMIT. After that the job's
    // lines are dropped and counted until its file takes lines again:
    // a disk that stays full must not stop every job, nor pile up
    // their pipes in the daemon.
    let mut left = buf;
    let mut pause = HOLD_FIRST;
    let mut held = false;
    loop {
        let outcome = {
            let mut f = file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match f.append_from(&mut left) {
                Ok(()) => Hold::Written(f.failing.take().map_or(0, |e| e.dropped)),
                Err(e) => {
                    let now = Instant::now();
                    let ep = files::Failing::failed(&mut f.failing, now, HOLD_LIMIT);
                    if now.duration_since(ep.since) >= HOLD_LIMIT {
                        let n = left.iter().filter(|&&b| b == b'\n').count() as u64;
                        ep.dropped += n;
                        Hold::Dropped(n, ep.dropped == n, e)
                    } else {
                        Hold::Wait(e)
                    }
                }
            }
        };
        match outcome {
            Hold::Written(0) => {
                if held {
                    crate::log_info!("the log of {} is written again", job);
                }
                return 0;
            }
            Hold::Written(dropped) => {
                crate::log_warn!(
                    "the log of {} is written again; {dropped} line(s) were dropped while it could not be",
                    job
                );
                return 0;
            }
            Hold::Dropped(n, first, e) => {
                if first {
                    crate::log_error!(
                        "cannot write the log of {} for {}s: {e}; its lines are dropped and counted \
                         until it can: free space under the state directory",
                        job,
                        HOLD_LIMIT.as_secs()
                    );
                }
                return n;
            }
            Hold::Wait(e) => {
                if !held {
                    crate::log_error!(
                        "cannot write the log of {}: {e}; its output waits until it can (at most {}s), \
                         and the job with it once its pipe is full: free space under the state directory",
                        job,
                        HOLD_LIMIT.as_secs()
                    );
                    held = true;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(HOLD_MAX);
            }
        }
    }
}
