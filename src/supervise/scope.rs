//! Which processes belong to a run, and ending all of them.
//!
//! Two ways to keep hold of a job, chosen once at start-up:
//! - **cgroup v2**, when the daemon sits in a delegated subtree (a user
//!   unit with `Delegate=yes`: systemd marks the cgroup with the
//!   `trusted.delegate`/`user.delegate` xattr and hands it to the user).
//!   jobd moves itself into `<subtree>/daemon` (the "no internal
//!   processes" rule), enables the cpu, memory and pids controllers for the
//!   subtree where it can, and starts each run in `<subtree>/<name>.<invocation>.job`.
//!   Nothing escapes a cgroup: membership is `cgroup.procs`, the end is
//!   `cgroup.kill`, memory is `memory.current`, CPU is `cpu.stat`.
//! - **process groups plus subreaping** otherwise. A run is its process
//!   group, plus the main process's descendants that left it (`setsid`),
//!   plus the orphans re-parented to the daemon (double forks) that carry
//!   the run's `JOBD_INVOCATION` in their environment or its group id,
//!   plus their descendants. A process that both escapes the group and
//!   clears its environment after its parent died is beyond this mode's
//!   reach; the cgroup mode has no such gap.
//!
//! Membership is read from /proc when asked, never polled. The last
//! process of a run to die is always a child of the daemon at that moment
//! (its ancestors in the run are gone, so it was re-parented to the
//! subreaper), so SIGCHLD is the one event after which to look again.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::process::{Pid, Signal};

use crate::config::Limits;

/// How the daemon contains jobs.
#[derive(Clone, Debug)]
pub enum Containment {
    /// The delegated cgroup subtree jobd owns.
    Cgroup(PathBuf),
    ProcessGroup,
}

impl Containment {
    /// The word `status` shows.
    pub fn as_str(&self) -> &'static str {
        match self {
            Containment::Cgroup(_) => "cgroup",
            Containment::ProcessGroup => "process-group",
        }
    }

    /// Finds a delegated cgroup v2 subtree and takes it over; process
    /// groups if there is none (the reason comes back for the log).
    pub fn detect() -> (Containment, Option<String>) {
        match delegated_cgroup() {
            Ok(Some(dir)) => match take_over(&dir) {
                Ok(()) => (Containment::Cgroup(dir), None),
                Err(e) => (
                    Containment::ProcessGroup,
                    Some(format!(
                        "cannot use the delegated cgroup {} ({e}); using process groups",
                        dir.display()
                    )),
                ),
            },
            Ok(None) => (Containment::ProcessGroup, None),
            Err(e) => (
                Containment::ProcessGroup,
                Some(format!(
                    "cannot read the cgroup setup ({e}); using process groups"
                )),
            ),
        }
    }

    /// Why the cgroup files of `controller` cannot be written for runs,
    /// or `None` if they can.
    pub fn lacks(&self, controller: &str) -> Option<String> {
        let Containment::Cgroup(base) = self else {
            return Some(
                "jobd has no delegated cgroup (run it as the user unit, which has Delegate=yes)"
                    .to_owned(),
            );
        };
        lacking(base, "cgroup.subtree_control", controller).map(|offered| {
            format!(
                "jobd's cgroup {} has no {controller} controller; it offers: {offered}",
                base.display()
            )
        })
    }

    /// The cgroup run `invocation` of job `name` goes into, created if
    /// needed: one per run, so a run still stopping (a job removed and
    /// re-added, a restart) never shares `cgroup.kill` with the next.
    /// `limits` are written into it before anything joins it; those that
    /// cannot be written come back as warnings (the run goes on).
    pub fn prepare(
        &self,
        name: &str,
        invocation: &str,
        limits: &Limits,
    ) -> io::Result<(Option<PathBuf>, Vec<String>)> {
        let Containment::Cgroup(base) = self else {
            return Ok((None, Vec::new()));
        };
        let short = invocation.get(..12).unwrap_or(invocation);
        let dir = base.join(format!("{name}.{short}.job"));
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let mut warnings = Vec::new();
        for l in limits.files() {
            if self.lacks(l.controller).is_some() {
                continue; // said at start-up and in `status`
            }
            if let Err(e) = std::fs::write(dir.join(l.file), &l.value) {
                warnings.push(format!(
                    "cannot set {} ({} = {}): {e}",
                    l.key, l.file, l.value
                ));
            }
        }
        Ok((Some(dir), warnings))
    }

    /// Ends what a previous daemon on this subtree left running (it was
    /// killed before it could stop its runs) and removes the cgroups of
    /// runs that are over: the names of the run cgroups that still had
    /// processes. A job can then never run twice at once across a crash.
    pub fn end_leftovers(&self) -> Vec<String> {
        let Containment::Cgroup(base) = self else {
            return Vec::new();
        };
        let runs: Vec<PathBuf> = std::fs::read_dir(base)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        let runs: Vec<PathBuf> = runs
            .into_iter()
            .filter(|p| p.is_dir() && p.extension().is_some_and(|e| e == "job"))
            .collect();
        let mut ended = Vec::new();
        for dir in &runs {
            let killed = populated(dir)
                && (std::fs::write(dir.join("cgroup.kill"), b"1").is_ok() || kill_members(dir));
            if killed {
                ended.push(
                    dir.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
        // SIGKILL takes a moment; start-up waits for it, briefly.
        await_empty(
            &runs,
            std::time::Instant::now() + std::time::Duration::from_secs(1),
        );
        for dir in &runs {
            remove_tree(dir);
        }
        ended
    }
}

/// Waits, until `until` at the latest, for the cgroups `runs` to empty:
/// woken through inotify by their `cgroup.events`, which the kernel marks
/// modified when `populated` changes. Where there is no `cgroup.kill`,
/// what is left is SIGKILLed again at each turn, at least every 5 ms (a
/// fork makes no event).
fn await_empty(runs: &[PathBuf], until: std::time::Instant) {
    use rustix::event::{PollFd, PollFlags};
    use rustix::fs::inotify;
    const REKILL: std::time::Duration = std::time::Duration::from_millis(5);
    let watch = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).ok();
    if let Some(fd) = &watch {
        for dir in runs {
            let _ = inotify::add_watch(fd, dir.join("cgroup.events"), inotify::WatchFlags::MODIFY);
        }
    }
    let mut events = [0u8; 1024];
    loop {
        let left: Vec<&PathBuf> = runs.iter().filter(|d| populated(d)).collect();
        let now = std::time::Instant::now();
        if left.is_empty() || now >= until {
            return;
        }
        let mut wait = until - now;
        for dir in left {
            if !dir.join("cgroup.kill").exists() {
                kill_members(dir);
                wait = wait.min(REKILL);
            }
        }
        match (&watch, rustix::time::Timespec::try_from(wait)) {
            (Some(fd), Ok(timeout)) => {
                let _ = rustix::event::poll(&mut [PollFd::new(fd, PollFlags::IN)], Some(&timeout));
                while rustix::io::read(fd, &mut events).is_ok_and(|n| n > 0) {}
            }
            _ => std::thread::sleep(wait.min(REKILL)),
        }
    }
}

/// Whether process `pid` is in the cgroup `dir` (by its cgroup v2 path).
fn in_cgroup(pid: u32, dir: &Path) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
        })
        .is_some_and(|rel| dir.ends_with(rel.trim_start_matches('/')))
}

/// SIGKILL to each process in the cgroup `dir`, for kernels without
/// `cgroup.kill` (before 5.14): each through a pidfd opened first and
/// checked after (still in `dir`), so a reused number is never hit.
/// Whether there was any.
fn kill_members(dir: &Path) -> bool {
    let members = read_pids(&dir.join("cgroup.procs")).unwrap_or_default();
    for &raw in &members {
        let Some(p) = pid(raw) else {
            continue;
        };
        if let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())
            && in_cgroup(raw, dir)
        {
            let _ = rustix::process::pidfd_send_signal(&fd, Signal::KILL);
        }
    }
    !members.is_empty()
}

/// Whether any process is in the cgroup `dir` or below it.
fn populated(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .is_ok_and(|ev| ev.lines().any(|l| l == "populated 1"))
}

/// Removes an empty cgroup and the cgroups below it, deepest first.
fn remove_tree(dir: &Path) {
    if let Ok(d) = std::fs::read_dir(dir) {
        for e in d.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// The daemon's own cgroup if it is a delegated cgroup v2 directory.
fn delegated_cgroup() -> io::Result<Option<PathBuf>> {
    let own = std::fs::read_to_string("/proc/self/cgroup")?;
    let Some(rel) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
        return Ok(None);
    };
    // The root cgroup is never ours to arrange.
    if rel == "/" {
        return Ok(None);
    }
    let Some(mount) = cgroup2_mount()? else {
        return Ok(None);
    };
    let dir = mount.join(rel.trim_start_matches('/'));
    let marked = ["trusted.delegate", "user.delegate"].iter().any(|attr| {
        let mut buf = [0u8; 8];
        rustix::fs::getxattr(&dir, *attr, &mut buf[..]).is_ok_and(|n| buf[..n] == *b"1")
    });
    // systemd's user manager also hands delegated cgroups to the user.
    let owned = {
        use std::os::unix::fs::MetadataExt as _;
        let uid = rustix::process::geteuid().as_raw();
        uid != 0 && std::fs::metadata(&dir).is_ok_and(|m| m.uid() == uid)
    };
    Ok((marked || owned).then_some(dir))
}

/// Why this machine cannot give runs `controller`'s cgroup files at all
/// (its cgroup2 does not offer it), or `None` if it may: what `jobd
/// check` can know without the daemon's own cgroup.
pub fn machine_lacks(controller: &str) -> Option<String> {
    let Ok(Some(root)) = cgroup2_mount() else {
        return Some("this machine has no cgroup v2 mount".to_owned());
    };
    lacking(&root, "cgroup.controllers", controller).map(|offered| {
        format!(
            "this machine's cgroup v2 ({}) has no {controller} controller; it offers: {offered}",
            root.display()
        )
    })
}

/// `None` if the cgroup `dir` lists `controller` in `file`; otherwise
/// what it offers (`cgroup.controllers`), for the message.
fn lacking(dir: &Path, file: &str, controller: &str) -> Option<String> {
    let listed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    if listed.split_whitespace().any(|c| c == controller) {
        return None;
    }
    let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    Some(if offered.trim().is_empty() {
        "none".to_owned()
    } else {
        offered.trim().to_owned()
    })
}

/// Where cgroup2 is mounted, from /proc/self/mountinfo.
fn cgroup2_mount() -> io::Result<Option<PathBuf>> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        (right.split_whitespace().next()? == "cgroup2")
            .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
            .flatten()
    }))
}

/// Moves the daemon into `<dir>/daemon` and turns on the controllers that
/// give per-job memory figures and limits, where the subtree offers them.
fn take_over(dir: &Path) -> io::Result<()> {
    let own = dir.join("daemon");
    match std::fs::create_dir(&own) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    std::fs::write(own.join("cgroup.procs"), b"0")?;
    let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    for c in offered
        .split_whitespace()
        .filter(|c| ["cpu", "memory", "pids"].contains(c))
    {
        // Best effort: without them jobd sums RSS from /proc instead.
        let _ = std::fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
    }
    Ok(())
}

/// The processes of one run.
///
/// Never signals a stranger. A number is only ever signalled while it is
/// proven to be the run's: the main process through a pidfd opened while
/// it was the daemon's unreaped child; its process group with `kill(-pgid)`
/// only until the main process is reaped (until then that number, so that
/// group, cannot be handed to anyone else); every other process through a
/// pidfd opened first and checked after (its parent is the daemon or a
/// process of the run), so the pidfd holds exactly the process checked.
#[derive(Debug)]
pub struct Scope {
    /// The main process's pid, which is also the run's process group.
    pub pgid: u32,
    pub invocation: String,
    pub cgroup: Option<PathBuf>,
    /// The main process, pinned (`None` where the kernel has no pidfds).
    main: Option<OwnedFd>,
    /// The main process has been reaped: its number may be anyone's now.
    reaped: bool,
}

/// One process as /proc shows it.
#[derive(Clone, Debug)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub ticks: u64,
    pub rss_pages: u64,
    /// Exited, not yet reaped (or being torn down).
    pub zombie: bool,
}

impl Scope {
    /// The scope of a run whose main process `pid` was just started (and
    /// not yet reaped: this is when its pidfd is safe to open).
    pub fn new(pid: u32, invocation: &str, cgroup: Option<PathBuf>) -> Scope {
        let main = self::pid(pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        Scope {
            pgid: pid,
            invocation: invocation.to_owned(),
            cgroup,
            main,
            reaped: false,
        }
    }

    /// The daemon reaped the main process.
    pub fn main_reaped(&mut self) {
        self.reaped = true;
        self.main = None;
    }

    /// Every process of the run now, the main process first if alive.
    /// `known_main`: pids that are some run's main process (never an
    /// orphan of this one).
    pub fn pids(&self, known_main: &dyn Fn(u32) -> bool) -> Vec<u32> {
        if let Some(dir) = &self.cgroup {
            let mut out = read_pids(&dir.join("cgroup.procs")).unwrap_or_default();
            if let Some(k) = out.iter().position(|&p| p == self.pgid) {
                out.swap(0, k);
            }
            return out;
        }
        let mut roots = Vec::new();
        if !self.reaped && stat(self.pgid).is_some() {
            roots.push(self.pgid);
        }
        for child in children(std::process::id()).unwrap_or_default() {
            if child == self.pgid || known_main(child) {
                continue;
            }
            let ours = stat(child).is_some_and(|p| p.pgid == self.pgid)
                || has_invocation(child, &self.invocation);
            if ours {
                roots.push(child);
            }
        }
        let mut out = Vec::new();
        let mut stack: Vec<u32> = roots.into_iter().rev().collect();
        while let Some(pid) = stack.pop() {
            if out.contains(&pid) {
                continue;
            }
            out.push(pid);
            let mut kids = children(pid).unwrap_or_default();
            kids.reverse();
            stack.extend(kids);
        }
        out
    }

    /// Whether anything of the run is left, unreaped zombies included:
    /// a run is over only once the daemon has reaped all of it. What
    /// cannot be read (no descriptors left, /proc hidden) counts as left:
    /// a run is never declared over on a guess.
    pub fn alive(&self, known_main: &dyn Fn(u32) -> bool) -> bool {
        let Ok(kids) = children(std::process::id()) else {
            return true;
        };
        if kids.into_iter().any(|c| !known_main(c) && self.claims(c)) {
            return true;
        }
        if let Some(dir) = &self.cgroup {
            return match std::fs::read_to_string(dir.join("cgroup.events")) {
                Ok(ev) => ev.lines().any(|l| l == "populated 1"),
                Err(_) => read_pids(&dir.join("cgroup.procs")).is_none_or(|p| !p.is_empty()),
            };
        }
        // The orphans were just looked at. Once the main process is
        // reaped, every process left of the run is one of them or below
        // one (the daemon is the subreaper); before, the group and the
        // main process are the run's for sure.
        !self.reaped && (group_alive(self.pgid) || stat(self.pgid).is_some())
    }

    /// Whether the daemon's child `pid` (not a main process) may be this
    /// run's. A zombie or exiting orphan cannot show its environment, and
    /// leaves its cgroup's `cgroup.procs` before it is reaped, so it is
    /// claimed by every run: the SIGCHLD for it is already on its way, and
    /// the runs are looked at again after it is reaped.
    fn claims(&self, pid: u32) -> bool {
        let Some(proc) = stat(pid) else {
            return false;
        };
        if proc.zombie {
            return true;
        }
        match &self.cgroup {
            Some(dir) => in_cgroup(pid, dir),
            None => proc.pgid == self.pgid || has_invocation(pid, &self.invocation),
        }
    }

    /// Sends `signo` to the run's process group (while that is provably
    /// the run's) and to each of its processes outside it.
    pub fn signal(&self, signo: i32, known_main: &dyn Fn(u32) -> bool) {
        let Some(sig) = Signal::from_named_raw(signo) else {
            return;
        };
        let grouped = !self.reaped && signal_group(self.pgid, signo);
        // The main process, if the group signal did not reach it (it left
        // the group).
        let main_in_group = grouped && stat(self.pgid).is_some_and(|s| s.pgid == self.pgid);
        if let Some(main) = &self.main
            && !main_in_group
        {
            let _ = rustix::process::pidfd_send_signal(main, sig);
        }
        let members = self.pids(known_main);
        for &p in &members {
            if p == self.pgid && !self.reaped {
                continue;
            }
            let in_group = grouped && stat(p).is_some_and(|s| s.pgid == self.pgid);
            if !in_group {
                signal_checked(p, sig, &members);
            }
        }
    }

    /// SIGKILL to everything of the run (`cgroup.kill` where there is one:
    /// it also catches processes forking while it works).
    pub fn kill(&self, known_main: &dyn Fn(u32) -> bool) {
        if let Some(dir) = &self.cgroup
            && std::fs::write(dir.join("cgroup.kill"), b"1").is_ok()
        {
            return;
        }
        self.signal(9, known_main);
    }

    /// The kernel's OOM killer killed a process of the run (its cgroup's
    /// `memory.events` counts an `oom_kill`).
    pub fn oom_killed(&self) -> bool {
        let Some(dir) = &self.cgroup else {
            return false;
        };
        std::fs::read_to_string(dir.join("memory.events")).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .is_some_and(|n| n.trim().parse::<u64>().is_ok_and(|n| n > 0))
            })
        })
    }

    /// Removes the run's cgroup once it is empty (fails quietly while
    /// processes remain: the next run reuses it).
    pub fn remove(&self) {
        if let Some(dir) = &self.cgroup {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// The run's memory in bytes: the cgroup's `memory.current`, or the
    /// RSS of its processes.
    pub fn memory_bytes(&self, procs: &[Proc]) -> u64 {
        if let Some(m) = self
            .cgroup
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("memory.current")).ok())
            .and_then(|s| s.trim().parse().ok())
        {
            return m;
        }
        let page = rustix::param::page_size() as u64;
        procs.iter().map(|p| p.rss_pages * page).sum()
    }

    /// CPU time in µs: the cgroup's (which counts ended processes too),
    /// or that of the live processes.
    pub fn cpu_usec(&self, procs: &[Proc]) -> u64 {
        if let Some(u) = self
            .cgroup
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("cpu.stat")).ok())
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse().ok())
            })
        {
            return u;
        }
        // sysconf(_SC_CLK_TCK) is 100 on every Linux architecture jobd runs on.
        procs.iter().map(|p| p.ticks * 10_000).sum()
    }
}

fn read_pids(path: &Path) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect(),
    )
}

/// A process's children, over all its threads; an error if they cannot be
/// read (a process that is gone has none).
pub fn children(pid: u32) -> io::Result<Vec<u32>> {
    let mut out = Vec::new();
    let tasks = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for task in tasks {
        match std::fs::read_to_string(task?.path().join("children")) {
            Ok(c) => out.extend(c.split_whitespace().filter_map(|s| s.parse::<u32>().ok())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Signals `raw` through a pidfd, if — checked after the pidfd pinned it —
/// its parent is the daemon or one of `run` (the processes the run was
/// just seen to have): a number that was reused in between belongs to a
/// process whose parent is neither, and is left alone.
fn signal_checked(raw: u32, sig: Signal, run: &[u32]) {
    let Some(p) = pid(raw) else {
        return;
    };
    let Ok(fd) = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) else {
        return;
    };
    let own = std::process::id();
    if stat(raw).is_some_and(|s| s.ppid == own || run.contains(&s.ppid)) {
        let _ = rustix::process::pidfd_send_signal(&fd, sig);
    }
}

/// `/proc/PID/stat` and `statm`, or `None` if the process is gone.
pub fn stat(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold anything, parentheses included: fields start
    // after the last `)`. Then: state(0) ppid(1) pgrp(2) … utime(11) stime(12).
    let after = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok());
    let rss_pages = std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    Some(Proc {
        zombie: matches!(f.first(), Some(&("Z" | "X"))),
        pid,
        ppid: u32::try_from(num(1)?).ok()?,
        pgid: u32::try_from(num(2)?).ok()?,
        ticks: num(11).unwrap_or(0) + num(12).unwrap_or(0),
        rss_pages,
    })
}

/// Whether `pid` carries this run's `JOBD_INVOCATION`. A process that is
/// exiting has already given up its memory, environment included, but is
/// not a zombie yet: it cannot say, so it may be the run's.
fn has_invocation(pid: u32, invocation: &str) -> bool {
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    if env.is_empty() {
        // An empty environment of a live process (`env -i`) is not the
        // run's; no memory at all means the process is on its way out.
        return std::fs::read_to_string(format!("/proc/{pid}/status"))
            .is_ok_and(|s| !s.contains("\nVmSize:"));
    }
    let want = format!("JOBD_INVOCATION={invocation}");
    env.split(|&b| b == 0).any(|v| v == want.as_bytes())
}

pub(crate) fn pid(raw: u32) -> Option<Pid> {
    Pid::from_raw(i32::try_from(raw).ok()?)
}

/// Sends `signo` to the process group `pgid`; false if it is gone.
pub fn signal_group(pgid: u32, signo: i32) -> bool {
    let (Some(p), Some(sig)) = (pid(pgid), Signal::from_named_raw(signo)) else {
        return false;
    };
    rustix::process::kill_process_group(p, sig).is_ok()
}

/// Whether any process of group `pgid` is left.
pub fn group_alive(pgid: u32) -> bool {
    pid(pgid).is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Limit, Limits};

    /// The files a run's cgroup gets, in a directory that stands for the
    /// delegated subtree (the cgroup files are plain files there): this
    /// machine's cgroup2 may have no memory, pids or cpu controller, so
    /// the real kernel's answer is in the integration tests that run
    /// where it has them.
    #[test]
    fn limits_go_into_the_run_cgroup_where_the_controller_is_enabled() {
        let base = tempfile::tempdir().expect("tempdir");
        std::fs::write(base.path().join("cgroup.subtree_control"), "memory pids\n").expect("w");
        std::fs::write(base.path().join("cgroup.controllers"), "cpu memory pids\n").expect("w");
        let c = Containment::Cgroup(base.path().to_owned());
        let limits = Limits {
            cpu_weight: Some(20),
            memory_high: Some(Limit::At(24 << 20)),
            memory_max: Some(Limit::At(32 << 20)),
            pids_max: Some(Limit::Infinity),
        };
        let (dir, warnings) = c
            .prepare("nix-index", "0123456789abcdef", &limits)
            .expect("prepare");
        let dir = dir.expect("cgroup mode");
        assert_eq!(dir, base.path().join("nix-index.0123456789ab.job"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
        assert_eq!(read("memory.max").as_deref(), Some("33554432"));
        assert_eq!(read("memory.high").as_deref(), Some("25165824"));
        assert_eq!(read("pids.max").as_deref(), Some("max"));
        assert_eq!(read("cpu.weight"), None, "cpu is not enabled");
        let why = c.lacks("cpu").expect("cpu lacks");
        assert!(
            why.contains("no cpu controller") && why.contains("cpu memory pids"),
            "{why}"
        );
        assert_eq!(c.lacks("memory"), None);
        assert!(Containment::ProcessGroup.lacks("memory").is_some());
        // `memory.events` as the kernel writes it.
        let scope = Scope::new(u32::MAX, "0123", Some(dir.clone()));
        std::fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 3\nmax 9\noom 1\noom_kill 0\n",
        )
        .expect("w");
        assert!(!scope.oom_killed());
        std::fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 3\nmax 9\noom 1\noom_kill 1\n",
        )
        .expect("w");
        assert!(scope.oom_killed());
    }
}
