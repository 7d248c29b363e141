//! The daemon's stderr, written without ever blocking or failing the
//! event loop: a pipe nobody reads, a terminal on hold (Ctrl-S) or a closed
//! pipe cost lines there, never the daemon.
//!
//! A pipe or terminal is reopened through `/proc/self/fd/2` with
//! `O_NONBLOCK` (a description of the daemon's own: the flag does not leak
//! to whoever shares the original), a socket (systemd's journal stream) is
//! written with `MSG_DONTWAIT`. A line that finds no room is dropped and
//! counted; the next line that gets through says how many. A line is
//! written with one `write(2)` of at most [`MAX_LINE`] bytes, so pipe
//! writes are atomic and never interleave half lines.

use std::os::fd::{AsFd as _, OwnedFd};
use std::sync::Mutex;
use std::sync::OnceLock;

/// The most of one line written to stderr (below `PIPE_BUF`).
pub const MAX_LINE: usize = 4000;

enum Out {
    /// A non-blocking description of our own.
    Own(OwnedFd),
    Socket,
    /// fd 2 as it is (a regular file, or what could not be reopened).
    Plain,
}

struct Writer {
    out: Out,
    dropped: u64,
}

static WRITER: OnceLock<Mutex<Writer>> = OnceLock::new();

fn writer() -> &'static Mutex<Writer> {
    WRITER.get_or_init(|| {
        let out = match rustix::fs::fstat(std::io::stderr()) {
            Ok(st) => {
                let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
                match kind {
                    rustix::fs::FileType::Socket => Out::Socket,
                    rustix::fs::FileType::RegularFile => Out::Plain,
                    _ => reopen().map_or(Out::Plain, Out::Own),
                }
            }
            Err(_) => Out::Plain,
        };
        Mutex::new(Writer { out, dropped: 0 })
    })
}

fn reopen() -> Option<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        "/proc/self/fd/2",
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .ok()
}

/// Writes `line` (a newline is added) if stderr has room now.
pub fn write_line(line: &[u8]) {
    let mut w = writer()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if w.dropped > 0 {
        let note = format!(
            " WARN {} line(s) to stderr dropped: it was full\n",
            w.dropped
        );
        if w.try_write(note.as_bytes()) {
            w.dropped = 0;
        } else {
            w.dropped += 1;
            return;
        }
    }
    let mut buf = Vec::with_capacity(line.len().min(MAX_LINE) + 1);
    buf.extend_from_slice(&line[..line.len().min(MAX_LINE)]);
    buf.push(b'\n');
    if !w.try_write(&buf) {
        w.dropped += 1;
    }
}

impl Writer {
    fn try_write(&self, buf: &[u8]) -> bool {
        use rustix::net::SendFlags;
        let res = match &self.out {
            Out::Own(fd) => rustix::io::write(fd, buf),
            Out::Socket => rustix::net::send(
                std::io::stderr().as_fd(),
                buf,
                SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
            ),
            Out::Plain => rustix::io::write(std::io::stderr().as_fd(), buf),
        };
        matches!(res, Ok(n) if n == buf.len())
    }
}
