//! Processes: spawning a job (own process group, pipes), the one reaper,
//! signals to whole groups, and reading a running job's tree from /proc.
//!
//! The daemon is a child subreaper (`PR_SET_CHILD_SUBREAPER`): whatever a
//! job leaves behind is re-parented to it and reaped by [`reap`], the only
//! caller of `wait(2)` in the daemon. tokio's `process` feature is off and
//! `Child::wait` is never called, so no status is ever stolen from it.
//! Everything runs on the daemon's one thread: `spawn` (which waits for the
//! exec to succeed) and `reap` never interleave.

pub mod signal;

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::process::{Pid, Signal, WaitOptions};

use crate::config::Job;

/// A started job process and the read ends of its output pipes.
pub struct Spawned {
    pub pid: u32,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// Where `PATH` finds a job's command now (the job's `PATH` if its
/// `environment` sets one, else the daemon's). `None` for a command with a
/// `/`, or one not found. Looked up once per (re)load, as systemd does at
/// unit load, so each run saves the search (one failed `execve` per `PATH`
/// entry before the right one).
pub fn which(job: &Job) -> Option<PathBuf> {
    let name = job.argv.first()?;
    if name.contains('/') {
        return None;
    }
    let path = job
        .env_var("PATH")
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Starts a job's command in a new process group; `resolved` is
/// [`which`]'s answer from load time (if the file has gone since, `PATH`
/// is searched again). On failure, the reason in words (`start-failed`).
pub fn spawn(
    job: &Job,
    resolved: Option<&Path>,
    extra_env: &[(String, String)],
) -> Result<Spawned, String> {
    let Some((program, args)) = job.argv.split_first() else {
        return Err("exec is empty".into());
    };
    match std::fs::metadata(&job.working_directory) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "working directory {} is not a directory",
                job.working_directory.display()
            ));
        }
        Err(e) => {
            return Err(format!(
                "working directory {}: {e}",
                job.working_directory.display()
            ));
        }
    }
    let command = |exe: &std::ffi::OsStr| {
        let mut cmd = Command::new(exe);
        cmd.arg0(program)
            .args(args)
            .current_dir(&job.working_directory)
            .envs(job.environment.iter().map(|(k, v)| (k, v)))
            .envs(extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        cmd
    };
    let spawned = match resolved {
        Some(exe) => match command(exe.as_os_str()).spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => command(program.as_ref()).spawn(),
            other => other,
        },
        None => command(program.as_ref()).spawn(),
    };
    let mut child = spawned.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("executable {program:?} not found (not in PATH, or no such file)")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("permission denied executing {program:?} (is it executable?)")
        }
        _ => format!("cannot execute {program:?}: {e}"),
    })?;
    let pid = child.id();
    // Both were requested as pipes just above; `spawn` returns them.
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("output pipes missing".into());
    };
    // Dropping `child` neither waits nor kills: the reaper owns the pid.
    drop(child);
    Ok(Spawned {
        pid,
        stdout: stdout.into(),
        stderr: stderr.into(),
    })
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Collects every child that has ended (jobs and adopted orphans alike).
pub fn reap() -> Vec<(u32, Exit)> {
    let mut out = Vec::new();
    while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
        let pid = pid.as_raw_nonzero().get().unsigned_abs();
        let exit = if let Some(code) = status.exit_status() {
            Exit::Code(code)
        } else if let Some(sig) = status.terminating_signal() {
            Exit::Signal(sig)
        } else {
            continue;
        };
        out.push((pid, exit));
    }
    out
}

fn pid(raw: u32) -> Option<Pid> {
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

/// Makes this process the reaper of its descendants' orphans.
pub fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(rustix::process::getpid().into())
        .map_err(std::io::Error::from)
}

/// A running process tree, read from /proc: (pid, depth, command line),
/// main process first; memory (RSS bytes) and CPU time (µs) summed.
pub struct Tree {
    pub processes: Vec<(u32, u32, String)>,
    pub rss_bytes: u64,
    pub cpu_usec: u64,
}

/// Reads the tree under `root` (children via `/proc/PID/task/*/children`).
pub fn tree(root: u32) -> Tree {
    let mut t = Tree {
        processes: Vec::new(),
        rss_bytes: 0,
        cpu_usec: 0,
    };
    let page = rustix::param::page_size() as u64;
    // sysconf(_SC_CLK_TCK) is 100 on every Linux architecture jobd runs on.
    let tick_usec = 10_000;
    let mut stack = vec![(root, 0u32)];
    while let Some((pid, depth)) = stack.pop() {
        let base = format!("/proc/{pid}");
        let Ok(cmdline) = std::fs::read(format!("{base}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmdline)
            .trim_end_matches('\0')
            .replace('\0', " ");
        if let Ok(statm) = std::fs::read_to_string(format!("{base}/statm"))
            && let Some(rss) = statm
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse::<u64>().ok())
        {
            t.rss_bytes += rss * page;
        }
        if let Ok(stat) = std::fs::read_to_string(format!("{base}/stat"))
            && let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..])
        {
            // Fields after the command: state is field 3, utime 14, stime 15.
            let fields: Vec<&str> = after.split_whitespace().collect();
            let ticks: u64 = [11, 12]
                .iter()
                .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
                .sum();
            t.cpu_usec += ticks * tick_usec;
        }
        t.processes.push((pid, depth, cmd));
        let mut children = Vec::new();
        if let Ok(tasks) = std::fs::read_dir(format!("{base}/task")) {
            for task in tasks.flatten() {
                if let Ok(c) = std::fs::read_to_string(task.path().join("children")) {
                    children.extend(c.split_whitespace().filter_map(|s| s.parse::<u32>().ok()));
                }
            }
        }
        for c in children.into_iter().rev() {
            stack.push((c, depth + 1));
        }
    }
    t
}
