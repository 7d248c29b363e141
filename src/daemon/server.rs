//! The control socket: binding it safely, and one task per connection.
//!
//! - The socket's directory is created 0700, the socket chmod'ed 0600.
//! - One daemon per socket: a lock file beside it (`jobd.sock.lock`) is
//!   held with `flock` for the daemon's life. A second daemon finds it
//!   locked and refuses, naming the pid inside. A socket file left by a
//!   killed daemon has no lock holder, so it is removed and re-bound.
//! - Each connection's peer is checked with `SO_PEERCRED` before a byte is
//!   read: only the daemon's own UID (and root) are served.
//! - Requests are capped at [`MAX_REQUEST`] bytes per line, and
//!   connections at [`max_clients`] at once: the next one is told `busy`
//!   and closed, so clients can never take the descriptors a job's pipes
//!   need.
//! - A connection waiting for an answer (`run-now --wait`, `stop`) keeps
//!   watching for its client to hang up; when it does, the connection's
//!   task and descriptor go at once, and the daemon forgets the waiter.

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::ipc::{self, ErrorCode, MAX_REQUEST, Reply, Request};
use crate::state::LockError;

/// How long a connection may sit without sending a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Connections served at once: at most 1,024, and never more than a third
/// of the daemon's descriptors, so the rest are there for jobs' pipes.
pub fn max_clients() -> usize {
    let third = crate::supervise::hygiene::nofile() / 3;
    usize::try_from(third).unwrap_or(usize::MAX).clamp(16, 1024)
}

/// A request from a client, and where its replies go. The connection
/// writes every reply sent here, in order, until the sender is dropped.
pub struct Incoming {
    pub req: Request,
    pub reply: mpsc::UnboundedSender<Reply>,
}

/// The bound socket and the lock that makes it ours.
pub struct Bound {
    pub listener: std::os::unix::net::UnixListener,
    pub path: PathBuf,
    /// Held until the daemon exits. The lock file stays: removing it while
    /// held would let a second daemon lock a new file of the same name.
    _lock: File,
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Takes the socket at `path`, or says why not in one line.
pub fn bind(path: &Path) -> Result<Bound, String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create socket directory {}: {e}", dir.display()))?;
    }
    if dir
        .file_name()
        .is_some_and(|n| n == "jobd" || n.to_string_lossy().starts_with("jobd-"))
    {
        // Our own directory (the default layout): make sure it is private.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
    }
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = crate::state::pid_lock(&lock_path).map_err(|e| match e {
        LockError::Open(e) => format!("cannot open lock file {}: {e}", lock_path.display()),
        LockError::Held(who) => format!(
            "another jobd daemon{who} is already running on {}; stop it first, or give this one its own --socket",
            path.display()
        ),
    })?;
    // We hold the lock: a socket there is a dead daemon's. Anything else
    // at that path is not ours to delete.
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => {
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove stale socket {}: {e}", path.display()))?;
            crate::log_info!("took over stale socket {}", path.display());
        }
        Ok(_) => {
            return Err(format!(
                "{} exists and is not a socket; move it away or choose another --socket",
                path.display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot use {}: {e}", path.display())),
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot set mode 0600 on {}: {e}", path.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    Ok(Bound {
        listener,
        path: path.to_owned(),
        _lock: lock,
    })
}

/// Accepts connections until the daemon exits.
pub async fn accept_loop(listener: UnixListener, events: mpsc::UnboundedSender<Incoming>) {
    let me = rustix::process::geteuid().as_raw();
    let connected = Arc::new(AtomicUsize::new(0));
    let cap = max_clients();
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            // EMFILE and the like: keep serving the connections we have
            // and try again shortly, without spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let uid = stream.peer_cred().map(|c| c.uid());
        let refusal = match uid {
            Ok(uid) if uid == me || uid == 0 => None,
            other => {
                let who = other.map_or_else(|_| "unknown".to_owned(), |u| u.to_string());
                crate::log_warn!("refused a control connection from uid {who}");
                Some(Reply::err(
                    ErrorCode::Failed,
                    format!("permission denied: uid {who} may not control uid {me}'s jobd"),
                ))
            }
        };
        let refusal = refusal.or_else(|| {
            (connected.load(Ordering::Relaxed) >= cap).then(|| {
                Reply::err(
                    ErrorCode::Busy,
                    format!("jobd is serving {cap} clients already; try again shortly"),
                )
            })
        });
        if let Some(reply) = refusal {
            // Never waits: a refused client gets one line if its socket
            // has room, and the descriptor goes now.
            let _ = stream.try_write(&reply.to_line());
            drop(stream);
            continue;
        }
        let guard = Connected::new(&connected);
        let events = events.clone();
        tokio::spawn(async move {
            serve(&mut stream, events).await;
            drop(guard);
        });
    }
}

/// One connection counted while it lives.
struct Connected(Arc<AtomicUsize>);

impl Connected {
    fn new(count: &Arc<AtomicUsize>) -> Connected {
        count.fetch_add(1, Ordering::Relaxed);
        Connected(Arc::clone(count))
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve(stream: &mut UnixStream, events: mpsc::UnboundedSender<Incoming>) {
    let (rd, mut wr) = stream.split();
    let mut rd = BufReader::new(rd);
    let limit = u64::try_from(MAX_REQUEST).unwrap_or(u64::MAX);
    loop {
        let mut line = Vec::new();
        let mut capped = (&mut rd).take(limit);
        let read = capped.read_until(b'\n', &mut line);
        // A client that connects and says nothing does not keep its
        // descriptor and task forever.
        match tokio::time::timeout(IDLE_TIMEOUT, read).await {
            Ok(Ok(0) | Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
        if line.last() != Some(&b'\n') && line.len() >= MAX_REQUEST {
            let reply = Reply::err(
                ErrorCode::TooLarge,
                format!("request longer than {MAX_REQUEST} bytes; closing the connection"),
            );
            let _ = wr.write_all(&reply.to_line()).await;
            return;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match ipc::decode_request(&line) {
            Err(reply) => {
                if wr.write_all(&reply.to_line()).await.is_err() {
                    return;
                }
            }
            Ok(req) => {
                let (tx, mut rx) = mpsc::unbounded_channel();
                if events.send(Incoming { req, reply: tx }).is_err() {
                    return;
                }
                // Until the last reply, watch for the client hanging up:
                // then this task ends, its descriptor closes, and the
                // daemon's sender for it reports closed.
                let mut watching = true;
                loop {
                    tokio::select! {
                        reply = rx.recv() => {
                            let Some(reply) = reply else { break };
                            if wr.write_all(&reply.to_line()).await.is_err() {
                                return;
                            }
                        }
                        filled = async { rd.fill_buf().await.map(<[u8]>::len) }, if watching => {
                            match filled {
                                Err(_) => return,
                                Ok(0) if hung_up(rd.get_ref().as_ref()) => return,
                                // Half-closed (`socat`, `nc -N`: the
                                // client still reads), or the next request
                                // already sent, which stays buffered until
                                // this one is done.
                                Ok(_) => watching = false,
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether the client closed its end for good (not just its sending half:
/// a socket whose peer only shut down writing polls `RDHUP`, a closed one
/// `HUP`).
fn hung_up(stream: &UnixStream) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(stream, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    rustix::event::poll(&mut fds, Some(&zero)).is_ok()
        && fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR)
}
