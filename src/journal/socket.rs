//! The native-protocol transport: one datagram per entry on journald's
//! socket, a sealed memfd for entries too large for a datagram.
//!
//! The socket is connected, non-blocking and inside tokio's reactor: when
//! journald's queue is full, a send waits for it to drain (a connected
//! datagram socket polls writable only once its peer has room), so a
//! slow journald slows the job's reader — and through the pipe, the job —
//! instead of growing jobd's memory or blocking its event loop. If
//! journald goes away (restarted), the next send reconnects.
//!
//! Waiting is bounded: once journald has taken nothing for [`STALL`]
//! (hung, stopped, gone), the socket is *stalled*: sends try once and
//! hand back what journald would not take, for the caller to write to the
//! job's file, until journald takes an entry again. Nothing is dropped.
use std::os::fd::{AsFd as _, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// How long journald may take nothing before lines stop waiting for it.
pub const STALL: Duration = Duration::from_secs(2);

pub struct JournalSocket {
    pub path: PathBuf,
    conn: Mutex<Conn>,
    /// The kernel's datagram queue per socket is deep (systemd sets
    /// `net.unix.max_dgram_qlen` to 512 at boot; the kernel's own
    /// default is 10).
    deep_queue: bool,
    /// journald has taken nothing for [`STALL`]: do not wait for it.
    stalled: AtomicBool,
}

#[derive(Default)]
struct Conn {
    fd: Option<Arc<AsyncFd<OwnedFd>>>,
}

enum Attempt {
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
            deep_queue: std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .is_some_and(|q| q >= 128),
            stalled: AtomicBool::new(false),
        }
    }

    /// Whether journald is taking nothing at the moment.
    fn stalled(&self) -> bool {
        self.stalled.load(Ordering::Relaxed)
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
                c.fd = Some(Arc::new(fd));
                c.fd.clone()
            }
            Err(_) => None,
        }
    }

    /// Forgets `fd` (journald went away); the next send reconnects.
    fn reset(&self, fd: &Arc<AsyncFd<OwnedFd>>) {
        let mut c = self.lock();
        if c.fd.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, fd)) {
            c.fd = None;
        }
    }

    /// Sends one encoded entry; false if journald would not take it
    /// (see [`JournalSocket::send_many`]).
    pub async fn send(&self, entry: &[u8]) -> bool {
        self.send_many(&[entry]).await == 1
    }

    /// Waits for room after EAGAIN. With a deep queue (systemd's sysctl),
    /// lets journald take a batch instead of waking for every entry it
    /// takes (a wake-up per entry costs more CPU than sending it); 1 ms is
    /// far less than it needs to empty the queue, so it never runs dry.
    /// With a shallow queue, wakes as soon as there is room.
    async fn wait_room(&self, fd: &AsyncFd<OwnedFd>) {
        if self.deep_queue {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else if let Ok(Ok(mut ready)) =
            tokio::time::timeout(Duration::from_millis(100), fd.writable()).await
        {
            ready.clear_ready();
        }
    }

    /// Sends entries in order, many per system call (`sendmmsg`), waiting
    /// while journald is busy — at most [`STALL`] without progress, and not
    /// at all while it is stalled. Returns how many were sent: the rest, in
    /// order, are the caller's to keep elsewhere.
    pub async fn send_many(&self, entries: &[&[u8]]) -> usize {
        let mut k = 0;
        let mut since: Option<Instant> = None;
        while k < entries.len() {
            let patience = if self.stalled() {
                Duration::ZERO
            } else {
                STALL
            };
            let mut waited_out = || {
                let out = since.get_or_insert_with(Instant::now).elapsed() >= patience;
                if out {
                    self.stalled.store(true, Ordering::Relaxed);
                }
                out
            };
            let Some(fd) = self.socket() else {
                if waited_out() {
                    return k;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let batch = &entries[k..entries.len().min(k + 64)];
            let attempt = match sendmmsg(fd.get_ref(), batch) {
                Ok(0) => Attempt::Wait,
                Ok(n) => {
                    k += n;
                    since = None;
                    self.stalled.store(false, Ordering::Relaxed);
                    continue;
                }
                Err(e) => classify(&e.into()),
            };
            match attempt {
                Attempt::Wait => {
                    if waited_out() {
                        return k;
                    }
                    self.wait_room(&fd).await;
                }
                Attempt::Reconnect => {
                    self.reset(&fd);
                    if waited_out() {
                        return k;
                    }
                }
                Attempt::TooBig => {
                    if send_memfd(&fd, entries[k]).await.is_err() {
                        return k;
                    }
                    k += 1;
                }
                Attempt::Failed => return k,
            }
        }
        k
    }
}

/// One `sendmmsg` of `batch` (not across an await: the headers hold raw
/// pointers).
fn sendmmsg(fd: &OwnedFd, batch: &[&[u8]]) -> Result<usize, Errno> {
    use rustix::net::{MMsgHdr, SendAncillaryBuffer};
    let iovs: Vec<[std::io::IoSlice<'_>; 1]> =
        batch.iter().map(|e| [std::io::IoSlice::new(e)]).collect();
    let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = batch
        .iter()
        .map(|_| SendAncillaryBuffer::default())
        .collect();
    let mut msgs: Vec<MMsgHdr<'_>> = iovs
        .iter()
        .zip(controls.iter_mut())
        .map(|(iov, c)| MMsgHdr::new(iov, c))
        .collect();
    rustix::net::sendmmsg(fd, &mut msgs, SendFlags::DONTWAIT)
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
    // The default send buffer, deliberately: asking for a bigger one (so
    // fewer entries need a memfd) made every send ~5x dearer here
    // (7.0 against 1.5 µs of jobd CPU per line, bench/journal-vs-systemd).
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
