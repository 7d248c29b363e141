//! When to look at `wait_for` conditions again: kernel events only.
//!
//! - links, addresses and routes: an rtnetlink socket bound to the link,
//!   address and route groups (IPv4 and IPv6);
//! - power supplies: the kernel's uevent socket (`NETLINK_KOBJECT_UEVENT`),
//!   which announces every change of a `power_supply` device;
//! - mounts: `/proc/self/mountinfo`, which polls "priority" when the
//!   daemon's mount table changes;
//! - paths: inotify on the deepest existing directory above each path.
//!
//! Each source is opened only while some job waits for its kind of
//! condition, and wakes the daemon only when the kernel says something
//! changed: an idle daemon with waiting jobs makes no wake-ups. The
//! messages are not parsed: a wake-up means "read the facts again"
//! ([`Facts::read`]), which is cheap and cannot misread a message.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::inotify::{self, WatchFlags};
use rustix::net::{AddressFamily, SocketFlags, SocketType, netlink};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::conditions::{Facts, Roots, Wanted};

/// rtnetlink multicast groups (`RTMGRP_*` in `<linux/rtnetlink.h>`).
const RTMGRP_LINK: u32 = 0x1;
const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV4_ROUTE: u32 = 0x40;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;
const RTMGRP_IPV6_ROUTE: u32 = 0x400;

/// The kernel's event sources for the conditions jobs wait for.
pub struct Watch {
    roots: Roots,
    wanted: Wanted,
    /// What the conditions read, as of the last event.
    pub facts: Facts,
    route: Option<AsyncFd<OwnedFd>>,
    uevent: Option<AsyncFd<OwnedFd>>,
    mounts: Option<AsyncFd<OwnedFd>>,
    paths: Option<AsyncFd<OwnedFd>>,
}

impl Watch {
    pub fn new(roots: Roots) -> Watch {
        Watch {
            roots,
            wanted: Wanted::default(),
            facts: Facts::default(),
            route: None,
            uevent: None,
            mounts: None,
            paths: None,
        }
    }

    /// Opens the sources `wanted` needs and closes the others; reads the
    /// facts. What could not be opened comes back as warnings: those
    /// conditions are then looked at only when something else happens.
    pub fn configure(&mut self, wanted: Wanted) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut open = |on: bool,
                        slot: &mut Option<AsyncFd<OwnedFd>>,
                        what: &str,
                        f: fn() -> std::io::Result<OwnedFd>| {
            if !on {
                *slot = None;
            } else if slot.is_none() {
                match f().and_then(|fd| register(fd, Interest::READABLE)) {
                    Ok(fd) => *slot = Some(fd),
                    Err(e) => warnings.push(format!(
                        "cannot watch {what} ({e}); waiting jobs notice its changes only when something else happens"
                    )),
                }
            }
        };
        open(wanted.network, &mut self.route, "the network", route_socket);
        open(wanted.ac, &mut self.uevent, "power supplies", uevent_socket);
        open(!wanted.paths.is_empty(), &mut self.paths, "paths", || {
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
                .map_err(Into::into)
        });
        if !wanted.mounts {
            self.mounts = None;
        } else if self.mounts.is_none() {
            let opened = File::open(self.roots.proc.join("self/mountinfo"))
                .and_then(|f| register(OwnedFd::from(f), Interest::PRIORITY));
            match opened {
                Ok(f) => self.mounts = Some(f),
                Err(e) => warnings.push(format!(
                    "cannot watch the mount table ({e}); waiting jobs notice mounts only when something else happens"
                )),
            }
        }
        self.wanted = wanted;
        self.refresh();
        warnings
    }

    /// Reads the facts again, and points the path watches at where the
    /// paths are (or would appear) now.
    pub fn refresh(&mut self) {
        self.facts = Facts::read(&self.roots, &self.wanted);
        if let Some(fd) = &self.paths {
            for dir in watched_dirs(&self.wanted.paths) {
                // Adding a watch again for the same directory changes
                // nothing; directories that are gone drop their watch.
                let _ = inotify::add_watch(fd.get_ref(), &dir, path_events());
            }
        }
    }

    /// Waits until the kernel says a condition may have changed, and
    /// takes its messages. Never returns while nothing is watched.
    pub async fn changed(&mut self) {
        tokio::select! {
            () = drained(self.route.as_ref()), if self.route.is_some() => {}
            () = drained(self.uevent.as_ref()), if self.uevent.is_some() => {}
            () = drained(self.paths.as_ref()), if self.paths.is_some() => {}
            () = mounts_changed(self.mounts.as_ref()), if self.mounts.is_some() => {}
            else => std::future::pending().await,
        }
    }
}

fn path_events() -> WatchFlags {
    WatchFlags::CREATE
        | WatchFlags::MOVED_TO
        | WatchFlags::MOVED_FROM
        | WatchFlags::DELETE
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::ONLYDIR
}

/// For each path, the deepest directory above it that exists: where its
/// next missing part (or the path itself) appears or goes.
fn watched_dirs(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in paths {
        let mut dir = p.parent();
        while let Some(d) = dir {
            if d.is_dir() {
                break;
            }
            dir = d.parent();
        }
        if let Some(d) = dir.map(Path::to_path_buf)
            && !dirs.contains(&d)
        {
            dirs.push(d);
        }
    }
    dirs
}

fn register(fd: OwnedFd, interest: Interest) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: `register` needs the descriptor to stay open and be the
    // same one for the AsyncFd's whole life. The AsyncFd owns the
    // `OwnedFd` (nothing else can close it), and `OwnedFd::as_raw_fd`
    // always returns the descriptor it was created with.
    #[allow(unsafe_code)]
    let fd =
        unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(std::io::Error::from)?;
    Ok(fd)
}

fn route_socket() -> std::io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None, // NETLINK_ROUTE is protocol 0
    )?;
    let groups = RTMGRP_LINK
        | RTMGRP_IPV4_IFADDR
        | RTMGRP_IPV4_ROUTE
        | RTMGRP_IPV6_IFADDR
        | RTMGRP_IPV6_ROUTE;
    rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, groups))?;
    Ok(fd)
}

fn uevent_socket() -> std::io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        Some(netlink::KOBJECT_UEVENT),
    )?;
    // Group 1: the kernel's own uevents (udev re-broadcasts on group 2).
    rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, 1))?;
    Ok(fd)
}

/// Waits until `fd` is readable, then reads everything queued on it (an
/// overflow, `ENOBUFS`, is one more reason to look again).
async fn drained(fd: Option<&AsyncFd<OwnedFd>>) {
    let Some(fd) = fd else {
        return std::future::pending().await;
    };
    let Ok(mut guard) = fd.readable().await else {
        return std::future::pending().await;
    };
    let mut buf = [0u8; 8192];
    loop {
        match rustix::io::read(fd.get_ref().as_fd(), &mut buf) {
            Ok(n) if n > 0 => {}
            Err(rustix::io::Errno::NOBUFS | rustix::io::Errno::INTR) => {}
            _ => break,
        }
    }
    guard.clear_ready();
}

/// Waits until the mount table changes.
async fn mounts_changed(fd: Option<&AsyncFd<OwnedFd>>) {
    let Some(fd) = fd else {
        return std::future::pending().await;
    };
    match fd.ready(Interest::PRIORITY).await {
        Ok(mut guard) => guard.clear_ready(),
        Err(_) => std::future::pending().await,
    }
}
