//! The control socket: binding it safely, and one task per connection.
//!
//! - The socket's directory is created 0700, the socket chmod'ed 0600.
//! - One daemon per socket: a lock file beside it (`jobd.sock.lock`) is
//!   held with `flock` for the daemon's life. A second daemon finds it
//!   locked and refuses, naming the pid inside. A socket file left by a
//!   killed daemon has no lock holder, so it is removed and re-bound.
//! - Each connection's peer is checked with `SO_PEERCRED` before a byte is
//!   read: only the daemon's own UID (and root) are served.
//! - Requests are capped at [`MAX_REQUEST`] bytes per line.

use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::FlockOperation;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use crate::ipc::{self, ErrorCode, MAX_REQUEST, Reply, Request};

/// How long a connection may sit without sending a request.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

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
    _lock: File,
    lock_path: PathBuf,
}

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(&self.lock_path);
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
    let mut lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| format!("cannot open lock file {}: {e}", lock_path.display()))?;
    if rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut pid = String::new();
        let _ = lock.read_to_string(&mut pid);
        let pid = pid.trim();
        return Err(format!(
            "another jobd daemon{} is already running on {}; stop it first, or give this one its own --socket",
            if pid.is_empty() {
                String::new()
            } else {
                format!(" (pid {pid})")
            },
            path.display()
        ));
    }
    let _ = lock.set_len(0);
    let _ = lock.rewind();
    let _ = writeln!(lock, "{}", std::process::id());
    // We hold the lock: any socket file there is a dead daemon's.
    match std::fs::remove_file(path) {
        Ok(()) => crate::log_info!("took over stale socket {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "cannot remove stale socket {}: {e}",
                path.display()
            ));
        }
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
        lock_path,
    })
}

/// Accepts connections until the daemon exits.
pub async fn accept_loop(listener: UnixListener, events: mpsc::UnboundedSender<Incoming>) {
    let me = rustix::process::geteuid().as_raw();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // EMFILE and the like: keep serving the connections we have
            // and try again shortly, without spinning.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let events = events.clone();
        tokio::spawn(async move {
            let uid = stream.peer_cred().map(|c| c.uid());
            match uid {
                Ok(uid) if uid == me || uid == 0 => serve(stream, events).await,
                other => {
                    let who = other.map_or_else(|_| "unknown".to_owned(), |u| u.to_string());
                    crate::log_warn!("refused a control connection from uid {who}");
                    let mut stream = stream;
                    let reply = Reply::err(
                        ErrorCode::Failed,
                        format!("permission denied: uid {who} may not control uid {me}'s jobd"),
                    );
                    let _ = stream.write_all(&reply.to_line()).await;
                }
            }
        });
    }
}

async fn serve(stream: UnixStream, events: mpsc::UnboundedSender<Incoming>) {
    let (rd, mut wr) = stream.into_split();
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
                while let Some(reply) = rx.recv().await {
                    if wr.write_all(&reply.to_line()).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
