//! Processes: spawning a job (own process group, pipes), the one reaper,
//! signals to whole groups, and reading a running job's tree from /proc.
//! What to do with them is decided in [`crate::lifecycle`]; this module
//! only carries it out.
//!
//! The daemon is a child subreaper (`PR_SET_CHILD_SUBREAPER`): whatever a
//! job leaves behind is re-parented to it and reaped by [`reap`], the only
//! caller of `wait(2)` in the daemon. tokio's `process` feature is off and
//! `Child::wait` is never called, so no status is ever stolen from it.
//! Everything runs on the daemon's one thread: `spawn` (which waits for the
//! exec to succeed) and `reap` never interleave.

pub mod hygiene;
pub mod memory;
pub mod scope;

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::process::WaitOptions;

use crate::config::Job;
use crate::run::Exit;

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
pub fn which(job: &Job, manager_path: Option<&str>) -> Option<PathBuf> {
    let name = job.argv.first()?;
    if name.contains('/') {
        return None;
    }
    let path = job
        .env_var("PATH")
        .or(manager_path)
        .map(std::ffi::OsString::from)
        .or_else(|| std::env::var_os("PATH"))?;
    search(name, &path)
}

/// The executable `name` in the daemon's own `PATH` (a helper such as
/// `systemd-inhibit`).
pub fn helper(name: &str) -> Option<PathBuf> {
    search(name, &std::env::var_os("PATH")?)
}

/// The executable `name` in the directories of `path` (a `PATH` value).
pub fn search(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Starts a job's command in a new process group; `resolved` is
/// [`which`]'s answer from load time (if the file has gone since, `PATH`
/// is searched again). The environment is the daemon's, then `base_env`
/// (`set-environment`), the job's `environment`, then `extra_env` (its
/// `environment_file`, `JOBD_*`). On failure, the reason in words
/// (`start-failed`).
pub fn spawn(
    job: &Job,
    resolved: Option<&Path>,
    base_env: &[(String, String)],
    extra_env: &[(String, String)],
    cgroup: Option<&Path>,
) -> Result<Spawned, String> {
    let Some((program, args)) = job.argv.split_first() else {
        return Err("exec is empty".into());
    };
    check_working_directory(job)?;
    // Opened here, before the fork, so the child only has to write(2).
    let procs = match cgroup {
        Some(dir) => Some(std::sync::Arc::new(
            std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
                .map_err(|e| format!("cannot use the job's cgroup {}: {e}", dir.display()))?,
        )),
        None => None,
    };
    // Only when there is something to do in the child: without a pre-exec
    // step the standard library can use posix_spawn, which reports a file
    // that is not a program as an exec failure (`start-failed`); the fork
    // path's execvp would hand it to /bin/sh instead (exit 127).
    let nofile = hygiene::job_nofile();
    let priority = Priority {
        nice: job.nice,
        io: job.io.map(crate::config::IoPriority::raw),
    };
    let needs_pre_exec =
        procs.is_some() || nofile.is_some() || priority.nice.is_some() || priority.io.is_some();
    let command = |exe: &std::ffi::OsStr| {
        let mut cmd = Command::new(exe);
        if needs_pre_exec {
            in_child(&mut cmd, procs.clone(), nofile, priority);
        }
        for var in hygiene::MANAGER_ENV {
            cmd.env_remove(var);
        }
        cmd.arg0(program)
            .args(args)
            .current_dir(&job.working_directory)
            .envs(base_env.iter().map(|(k, v)| (k, v)))
            .envs(job.environment.iter().map(|(k, v)| (k, v)))
            .envs(extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        cmd
    };
    if needs_pre_exec {
        let exe = resolved.map_or_else(|| job.working_directory.join(program), Path::to_path_buf);
        not_a_program(&exe).map_or(Ok(()), Err)?;
    }
    let spawned = match resolved {
        Some(exe) => match command(exe.as_os_str()).spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => command(program.as_ref()).spawn(),
            other => other,
        },
        None => command(program.as_ref()).spawn(),
    };
    let prioritized = priority.nice.is_some() || priority.io.is_some();
    let mut child = spawned.map_err(|e| {
        let path = run_path(&[extra_env, &job.environment, base_env]);
        exec_error(program, &e, prioritized, &path)
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

/// The `PATH` a run searches: the topmost layer of its environment that
/// sets one, or the daemon's.
fn run_path(layers: &[&[(String, String)]]) -> String {
    layers
        .iter()
        .find_map(|vars| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| v.clone())
        })
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default()
}

/// A run's CPU and I/O scheduling (`nice`, `io_class`/`io_priority`, the
/// latter as `ioprio_set` takes it).
#[derive(Clone, Copy)]
struct Priority {
    nice: Option<i32>,
    io: Option<i32>,
}

/// What the child does between fork and exec: join the run's cgroup
/// (`procs`, its `cgroup.procs` opened before the fork), take back the
/// descriptor limit the daemon was started with, and take the job's
/// scheduling priorities (so that whatever it forks inherits them).
fn in_child(
    cmd: &mut Command,
    procs: Option<std::sync::Arc<std::fs::File>>,
    nofile: Option<rustix::process::Rlimit>,
    priority: Priority,
) {
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec. It makes
    // at most four system calls — write(2) on a descriptor opened before
    // the fork, setrlimit(2), setpriority(2) and ioprio_set(2) with values
    // copied in — all async-signal-safe, with no allocation and no lock; a
    // failure becomes an `io::Error` from the raw errno, which does not
    // allocate either. Writing "0" to `cgroup.procs` moves the calling
    // process, so the job starts inside its cgroup and nothing it forks
    // can be outside.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(procs) = &procs {
                rustix::io::write(&**procs, b"0").map_err(std::io::Error::from)?;
            }
            if let Some(limit) = nofile {
                let _ = rustix::process::setrlimit(rustix::process::Resource::Nofile, limit);
            }
            if let Some(n) = priority.nice
                && libc::setpriority(libc::PRIO_PROCESS, 0, n) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(io) = priority.io
                && libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, io) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `ioprio_set(2)`'s "this process" (linux/ioprio.h).
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

/// The fork path's execvp hands a file the kernel will not run (ENOEXEC)
/// to /bin/sh; posix_spawn reports it. Where jobd needs the fork path, it
/// looks at the file first, as the kernel would, and reports the same
/// (`None`: a `#!` script, an ELF file, or nothing readable there — exec
/// will say why).
fn not_a_program(exe: &Path) -> Option<String> {
    use std::io::Read as _;
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(exe).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let n = f.read(&mut head).ok()?;
    let ok = head[..n].starts_with(b"#!") || head[..n] == *b"\x7fELF";
    (!ok).then(|| {
        format!(
            "cannot execute {}: Exec format error (os error 8)",
            exe.display()
        )
    })
}

/// Why the working directory will not do, in words.
fn check_working_directory(job: &Job) -> Result<(), String> {
    let dir = job.working_directory.display();
    match std::fs::metadata(&job.working_directory) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("working directory {dir} is not a directory")),
        Err(e) => Err(format!("working directory {dir}: {e}")),
    }
}

/// Why `program` could not be executed, in words (`prioritized`: the
/// child also had to take a `nice` or `io_class`, which can be refused).
fn exec_error(program: &str, e: &std::io::Error, prioritized: bool, path: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound if program.contains('/') => {
            format!("executable {program:?} not found (no such file)")
        }
        std::io::ErrorKind::NotFound => format!(
            "executable {program:?} not found in PATH={path}; give its absolute path, \
             set the job's environment: {{PATH: …}}, or run `jobd import-environment PATH` \
             to give jobs your shell's PATH"
        ),
        std::io::ErrorKind::PermissionDenied if prioritized => format!(
            "permission denied executing {program:?} or giving it its priority \
             (a nice below the daemon's, or io_class: realtime, needs privileges)"
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("permission denied executing {program:?} (is it executable?)")
        }
        _ => format!("cannot execute {program:?}: {e}"),
    }
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

/// SIGKILL to each of the daemon's children still running; how many
/// children (running or zombie) it has. Safe by construction: a child's
/// PID cannot be reused before the daemon reaps it.
pub fn kill_children() -> std::io::Result<usize> {
    let kids = scope::children(std::process::id())?;
    for &k in &kids {
        if let Some(p) = scope::stat(k).filter(|p| !p.zombie).and(scope::pid(k)) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }
    Ok(kids.len())
}

/// Makes this process the reaper of its descendants' orphans.
pub fn become_subreaper() -> std::io::Result<()> {
    rustix::process::set_child_subreaper(rustix::process::getpid().into())
        .map_err(std::io::Error::from)
}

/// A run's processes as `status` shows them: (pid, depth, command line)
/// in tree order, main process first, and their /proc figures.
pub struct Tree {
    pub processes: Vec<(u32, u32, String)>,
    pub procs: Vec<scope::Proc>,
}

/// Orders `pids` (one run's processes) as a tree by parent.
pub fn tree(pids: &[u32]) -> Tree {
    let procs: Vec<scope::Proc> = pids.iter().filter_map(|&p| scope::stat(p)).collect();
    let is_member = |p: u32| procs.iter().any(|q| q.pid == p);
    let mut processes = Vec::new();
    // Roots keep the order given (main process first).
    let mut stack: Vec<(u32, u32)> = procs
        .iter()
        .filter(|p| !is_member(p.ppid))
        .map(|p| (p.pid, 0))
        .rev()
        .collect();
    while let Some((pid, depth)) = stack.pop() {
        if processes.iter().any(|(p, _, _)| *p == pid) {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .trim_end_matches('\0')
                    .replace('\0', " ")
            })
            .unwrap_or_default();
        processes.push((pid, depth, cmd));
        let mut kids: Vec<u32> = procs
            .iter()
            .filter(|q| q.ppid == pid)
            .map(|q| q.pid)
            .collect();
        kids.sort_unstable();
        stack.extend(kids.into_iter().rev().map(|k| (k, depth + 1)));
    }
    Tree { processes, procs }
}
