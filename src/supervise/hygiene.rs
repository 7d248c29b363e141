//! What the daemon's own process hands down to jobs, made clean once at
//! start-up: a job inherits no descriptor but 0, 1 and 2, default signal
//! dispositions and an empty mask, none of the service manager's
//! variables, and the soft descriptor limit the daemon was given (the
//! daemon raises its own, as systemd does, so a flood of clients cannot
//! starve a job's pipes).

use std::sync::OnceLock;

use rustix::process::{Resource, Rlimit};

/// Variables that belong to the daemon's own service manager and mean
/// nothing (or something false) to a job.
pub const MANAGER_ENV: &[&str] = &[
    "NOTIFY_SOCKET",
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "INVOCATION_ID",
    "JOURNAL_STREAM",
    "MANAGERPID",
];

/// The `RLIMIT_NOFILE` the daemon was started with, if it raised its
/// own: restored in every job (programs that use select(2) break with
/// descriptors past 1024, which is why systemd does the same).
static JOB_NOFILE: OnceLock<Rlimit> = OnceLock::new();

/// The descriptor limit a job gets, if not the daemon's.
pub fn job_nofile() -> Option<Rlimit> {
    JOB_NOFILE.get().copied()
}

/// The daemon's soft descriptor limit now.
pub fn nofile() -> u64 {
    rustix::process::getrlimit(Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// Run first thing in the daemon: holds SIGHUP back until the reload
/// handler is in place ([`release_hangup`]), resets signals someone
/// started the daemon with ignored, marks inherited descriptors
/// close-on-exec and raises the soft descriptor limit to the hard one.
pub fn prepare() {
    block_hangup(true);
    reset_ignored_signals();
    close_inherited_on_exec();
    tune_allocator();
    let limit = rustix::process::getrlimit(Resource::Nofile);
    if limit.maximum != limit.current
        && rustix::process::setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )
        .is_ok()
    {
        let _ = JOB_NOFILE.set(limit);
    }
}

/// Keeps the daemon's heap from holding on to memory after a burst. glibc
/// raises its mmap threshold each time it frees a large mmapped block,
/// after which buffers of that size (a run's 64-256 KiB line buffers) come
/// from the heap and leave it fragmented: a ten-minute chaos run ended
/// with 3.6 MB of heap for 1.1 MB in use. A fixed threshold keeps large
/// buffers in their own mappings, returned when freed, and a lower trim
/// threshold gives back a heap top that is free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: mallopt takes two integers and only changes malloc's tuning
    // parameters; it is called before the daemon starts any thread, and
    // an unsupported parameter is refused with a return value of 0, which
    // is harmless (the defaults stay).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// Lets a SIGHUP held back since [`prepare`] through (to the handler
/// installed since: it reloads).
pub fn release_hangup() {
    block_hangup(false);
}

#[allow(unsafe_code)]
fn block_hangup(block: bool) {
    // SAFETY: `set` is a local sigset_t initialised by sigemptyset before
    // use; pthread_sigmask only reads it, and a null old-set pointer is
    // allowed. No Rust state is involved.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        libc::sigaddset(&raw mut set, libc::SIGHUP);
        let how = if block {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        libc::pthread_sigmask(how, &raw const set, std::ptr::null_mut());
    }
}

/// A job must not inherit `SIG_IGN` for, say, SIGINT or SIGHUP because the
/// daemon was started from `nohup` or a shell's background. Dispositions
/// that are handlers reset themselves at exec; SIGPIPE (ignored by Rust's
/// runtime) is reset by the standard library in every child.
#[allow(unsafe_code)]
fn reset_ignored_signals() {
    for sig in 1..32 {
        if [libc::SIGKILL, libc::SIGSTOP, libc::SIGPIPE].contains(&sig) {
            continue;
        }
        // SAFETY: `old` is a zeroed local sigaction that the first call
        // fills in (a null new action only queries). The second call
        // installs SIG_DFL, which involves no handler code; this runs
        // before any thread or signal handler of the daemon exists.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &raw mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &raw const dfl, std::ptr::null_mut());
            }
        }
    }
}

/// Marks every descriptor above 2 the daemon inherited close-on-exec (its
/// own are opened so already).
#[allow(unsafe_code)]
fn close_inherited_on_exec() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: fcntl on a number that may not be (or no longer be) an
        // open descriptor fails with EBADF and changes nothing; F_SETFD
        // only sets the close-on-exec flag, which no Rust object relies on
        // being clear.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}
