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

pub struct JournalSocket {
    pub path: PathBuf,
    conn: Mutex<Conn>,
    /// The kernel's datagram queue per socket is deep (systemd sets
    /// `net.unix.max_dgram_qlen` to 512 at boot; the kernel's own
    /// default is 10).
    deep_queue: bool,
    dropped: AtomicU64,
    /// Drops already reported in the journal.
    reported: AtomicU64,
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
            deep_queue: std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .is_some_and(|q| q >= 128),
            dropped: AtomicU64::new(0),
            reported: AtomicU64::new(0),
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
            let attempt = match rustix::net::send(fd.get_ref(), entry, SendFlags::DONTWAIT) {
                Ok(_) => Attempt::Sent,
                Err(e) => classify(&e.into()),
            };
            match attempt {
                Attempt::Sent => {
                    self.report_drops(fd.get_ref());
                    return true;
                }
                // journald is behind. With a deep queue, let it take a
                // batch instead of waking for every entry it takes (a
                // wake-up per entry costs more CPU than sending it); 1 ms
                // is far less than it needs to empty the queue, so it
                // never runs dry. With a shallow queue (no systemd
                // sysctl), wake as soon as there is room.
                Attempt::Wait => self.wait_room(&fd).await,
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

impl JournalSocket {
    /// Waits for room after EAGAIN (see [`JournalSocket::send`]).
    async fn wait_room(&self, fd: &AsyncFd<OwnedFd>) {
        if self.deep_queue {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else if let Ok(mut ready) = fd.writable().await {
            ready.clear_ready();
        }
    }

    /// Sends entries in order, many per system call (`sendmmsg`); waits
    /// while journald is busy. Entries that cannot be sent are dropped
    /// and counted, as in [`JournalSocket::send`].
    pub async fn send_many(&self, entries: &[&[u8]]) {
        let mut k = 0;
        while k < entries.len() {
            let Some(fd) = self.socket() else {
                if self.down_for() >= GIVE_UP {
                    self.dropped
                        .fetch_add((entries.len() - k) as u64, Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let batch = &entries[k..entries.len().min(k + 64)];
            match sendmmsg(fd.get_ref(), batch) {
                Ok(n) if n > 0 => {
                    k += n;
                    self.report_drops(fd.get_ref());
                }
                Ok(_) => self.wait_room(&fd).await,
                Err(e) => match classify(&e.into()) {
                    Attempt::Sent => {}
                    Attempt::Wait => self.wait_room(&fd).await,
                    Attempt::Reconnect => self.reset(&fd),
                    Attempt::TooBig => {
                        if send_memfd(&fd, entries[k]).await.is_err() {
                            self.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        k += 1;
                    }
                    Attempt::Failed => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        k += 1;
                    }
                },
            }
        }
    }

    /// Once journald takes entries again, says in it how many were
    /// dropped while it could not (best effort, never waits).
    fn report_drops(&self, fd: &OwnedFd) {
        let dropped = self.dropped();
        let reported = self.reported.load(Ordering::Relaxed);
        if dropped == reported
            || self
                .reported
                .compare_exchange(reported, dropped, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let n = dropped - reported;
        let mut b = Vec::new();
        super::encode::field(
            &mut b,
            "MESSAGE",
            format!(
                "{n} journal entries dropped: journald was unreachable for more than {} s",
                GIVE_UP.as_secs()
            )
            .as_bytes(),
        );
        super::encode::field(&mut b, "MESSAGE_ID", super::message_id::DROPPED.as_bytes());
        super::encode::field(&mut b, "PRIORITY", b"4");
        super::encode::field(&mut b, "SYSLOG_IDENTIFIER", b"jobd");
        super::encode::field(&mut b, "JOBD_DROPPED", n.to_string().as_bytes());
        let _ = rustix::net::send(fd, &b, SendFlags::DONTWAIT);
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
