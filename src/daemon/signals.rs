//! The daemon's signals: SIGCHLD (reap), SIGHUP (reload), SIGTERM and
//! SIGINT (shut down).
//!
//! Each handler sets its signal's flag and writes a byte to a socket the
//! event loop watches (the self-pipe trick, as tokio's own signal driver
//! does), so a signal is an ordinary readiness event. The flags, not the
//! bytes, say what arrived: a burst of SIGCHLDs is one wake-up, a full
//! socket loses nothing, and [`Signals::recv`] can be dropped half-way in a
//! `select!` without losing a signal. One socket and four flags keep the
//! idle heap smaller than tokio's per-signal channels, which are set up for
//! every signal number at once (about 22 KiB).

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The signals watched, in [`PENDING`]'s order.
const WATCHED: [libc::c_int; 4] = [libc::SIGCHLD, libc::SIGHUP, libc::SIGTERM, libc::SIGINT];

/// Set by the handler of `WATCHED[i]`, cleared when the event loop takes it.
static PENDING: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

/// What arrived since the last look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// SIGCHLD: some child ended (or stopped).
    pub child: bool,
    /// SIGHUP: reload the config.
    pub hangup: bool,
    /// SIGTERM or SIGINT: shut down.
    pub stop: bool,
}

/// The read end of the signal socket, watched for input only (a socket
/// watched for output too would wake the loop once for nothing).
pub struct Signals {
    rx: AsyncFd<UnixStream>,
}

impl Signals {
    /// Installs the handlers; call inside the runtime.
    pub fn install() -> io::Result<Signals> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        let tx = Arc::new(tx);
        for (i, &sig) in WATCHED.iter().enumerate() {
            let tx = Arc::clone(&tx);
            let flag = &PENDING[i];
            // SAFETY: `register` asks that the action be async-signal-safe.
            // It stores to a static atomic (lock-free on every target the
            // daemon builds for) and makes one write(2) system call (rustix
            // calls the kernel directly) on a non-blocking socket that the
            // `Arc` keeps open for as long as the handler exists: no
            // allocation, no lock, no blocking. A failed write (the socket
            // full of earlier wake-ups) is harmless: the flag is set and a
            // byte is already waiting. The registry keeps errno intact.
            #[allow(unsafe_code)]
            unsafe {
                signal_hook_registry::register(sig, move || {
                    flag.store(true, Ordering::SeqCst);
                    let _ = rustix::io::write(&*tx, &[0]);
                })?;
            }
        }
        // SAFETY: `rx` is an open socket that the AsyncFd owns from here
        // on, so its descriptor stays open and the same until it is dropped.
        #[allow(unsafe_code)]
        let rx = unsafe { AsyncFd::register_with_interest(rx, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(Signals { rx })
    }

    /// Waits until at least one watched signal has arrived; what did.
    /// Cancel-safe: a signal is taken only when this returns it.
    pub async fn recv(&mut self) -> Received {
        loop {
            let got = take();
            if got != Received::default() {
                return got;
            }
            let Ok(mut ready) = self.rx.readable().await else {
                // The socket cannot fail while its write end lives (always).
                return std::future::pending().await;
            };
            let mut buf = [0u8; 64];
            // Until the socket would block, which clears its readiness.
            while let Ok(Ok(1..)) = ready.try_io(|s| s.get_ref().read(&mut buf)) {}
        }
    }
}

/// Takes (and clears) the flags of the signals that arrived.
fn take() -> Received {
    let [child, hangup, term, int] = [0, 1, 2, 3].map(|i| PENDING[i].swap(false, Ordering::SeqCst));
    Received {
        child,
        hangup,
        stop: term || int,
    }
}
