//! The native-protocol transport: one datagram per entry on journald's
//! socket, a sealed memfd for entries too large for a datagram.
//!
//! The socket is connected, non-blocking and inside tokio's reactor: when
//! journald's queue is full, `send` waits for it to drain (a connected
//! datagram socket polls writable only once its peer has room), so a
//! slow journald slows the job's reader — and through the pipe, the job —
//! instead of growing jobd's memory or blocking its event loop. If
//! journald goes away (restarted), the next send reconnects; an entry is
//! dropped (and counted) only after journald has been unreachable for
//! [`GIVE_UP`], so jobs are not held up for ever by a dead journal.

use std::os::fd::{AsFd as _, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// How long an entry waits for an unreachable journald before it is
/// dropped.
pub const GIVE_UP: Duration = Duration::from_secs(5);

/// The send buffer asked for: entries up to this size go as datagrams.
const SNDBUF: usize = 8 << 20;

pub struct JournalSocket {
    pub path: PathBuf,
    conn: Mutex<Conn>,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Conn {
    fd: Option<Arc<AsyncFd<OwnedFd>>>,
    /// Since when connecting fails.
    down_since: Option<Instant>,
}

enum Attempt {
    Sent,
    Wait,
    Reconnect,
    TooBig,
    Failed,
}

impl JournalSocket {
    pub fn new(path: PathBuf) -> JournalSocket {
        JournalSocket {
            path,
            conn: Mutex::new(Conn::default()),
            dropped: AtomicU64::new(0),
        }
    }

    /// Entries dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Conn> {
        // A poisoned lock only means a panic elsewhere mid-update of an
        // Option; the value is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The connected socket, connecting if needed; `None` while journald
    /// is unreachable.
    fn socket(&self) -> Option<Arc<AsyncFd<OwnedFd>>> {
        let mut c = self.lock();
        if let Some(fd) = &c.fd {
            return Some(Arc::clone(fd));
        }
        match connect(&self.path) {
            Ok(fd) => {
                c.down_since = None;
                c.fd = Some(Arc::new(fd));
                c.fd.clone()
            }
            Err(_) => {
                c.down_since.get_or_insert_with(Instant::now);
                None
            }
        }
    }

    /// Forgets `fd` (journald went away); the next send reconnects.
    fn reset(&self, fd: &Arc<AsyncFd<OwnedFd>>) {
        let mut c = self.lock();
        if c.fd.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, fd)) {
            c.fd = None;
        }
    }

    fn down_for(&self) -> Duration {
        self.lock()
            .down_since
            .map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Sends one encoded entry; waits while journald is busy. False if
    /// it was dropped.
    pub async fn send(&self, entry: &[u8]) -> bool {
        loop {
            let Some(fd) = self.socket() else {
                if self.down_for() >= GIVE_UP {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let attempt = match fd
                .async_io(Interest::WRITABLE, |s| {
                    rustix::net::send(s, entry, SendFlags::DONTWAIT).map_err(std::io::Error::from)
                })
                .await
            {
                Ok(_) => Attempt::Sent,
                Err(e) => classify(&e),
            };
            match attempt {
                Attempt::Sent => return true,
                Attempt::Wait => {}
                Attempt::Reconnect => self.reset(&fd),
                Attempt::TooBig => {
                    if send_memfd(&fd, entry).await.is_ok() {
                        return true;
                    }
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
                Attempt::Failed => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
            }
        }
    }
}

fn classify(e: &std::io::Error) -> Attempt {
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::AGAIN) => Attempt::Wait,
        Some(Errno::MSGSIZE | Errno::NOBUFS) => Attempt::TooBig,
        Some(
            Errno::CONNREFUSED | Errno::NOTCONN | Errno::PIPE | Errno::CONNRESET | Errno::NOENT,
        ) => Attempt::Reconnect,
        _ => Attempt::Failed,
    }
}

fn connect(path: &std::path::Path) -> std::io::Result<AsyncFd<OwnedFd>> {
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    // Best effort: a bigger buffer means fewer entries need a memfd.
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(&fd, SNDBUF);
    let addr = rustix::net::SocketAddrUnix::new(path)?;
    rustix::net::connect(&fd, &addr)?;
    // SAFETY: `register` needs the descriptor to stay open and be the
    // same one for the AsyncFd's whole life. The AsyncFd owns the
    // `OwnedFd` (nothing else can close it), and `OwnedFd::as_raw_fd`
    // always returns the descriptor it was created with.
    #[allow(unsafe_code)]
    let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::WRITABLE) }
        .map_err(std::io::Error::from)?;
    Ok(fd)
}

/// journald's way for entries larger than a datagram: the entry in a
/// memfd, sealed so it cannot change under journald, passed with
/// SCM_RIGHTS in an empty datagram.
async fn send_memfd(sock: &AsyncFd<OwnedFd>, entry: &[u8]) -> std::io::Result<()> {
    use rustix::fs::{MemfdFlags, SealFlags};
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage};
    let mem = rustix::fs::memfd_create(
        "jobd-journal-entry",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut rest = entry;
    while !rest.is_empty() {
        let n = rustix::io::write(&mem, rest)?;
        rest = &rest[n..];
    }
    rustix::fs::fcntl_add_seals(
        &mem,
        SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL,
    )?;
    sock.async_io(Interest::WRITABLE, |s| {
        let fds = [mem.as_fd()];
        let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        control.push(SendAncillaryMessage::ScmRights(&fds));
        rustix::net::sendmsg(s, &[], &mut control, SendFlags::DONTWAIT)
            .map(drop)
            .map_err(std::io::Error::from)
    })
    .await
}
