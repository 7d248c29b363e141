//! `jobd logs NAME [-n N] [-f] [--invocation ID|last]`: the job's lines,
//! across runs like `journalctl -u`, from the journal (by running
//! `journalctl` filtered on `JOBD_JOB` and the user's `_UID`, so no other
//! user's process can forge a line into it) or from the fallback files.
//! With a journal, lines journald would not take (its rate limit, a hung
//! journald) are in the job's file: then both are read and merged in time
//! order.

use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::time::Duration;

use super::{Outcome, PathArgs, failed};
use crate::ipc::{LogKind, LogSource, Request};
use crate::journal::files;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job.
    name: String,
    /// Show only the last N lines.
    #[arg(short = 'n', long = "lines", value_name = "N")]
    n: Option<usize>,
    /// Keep printing new lines until interrupted.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Only this run's lines: an invocation id, or `last` for the running
    /// or most recent run.
    #[arg(long, value_name = "ID")]
    invocation: Option<String>,
}

pub fn run(paths: &PathArgs, args: &Args) -> Outcome {
    let req = Request::LogSource {
        name: args.name.clone(),
    };
    let src: LogSource = match paths.connect().and_then(|mut c| c.call(req)) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let invocation = match args.invocation.as_deref() {
        Some("last") => match &src.last_invocation {
            Some(i) => Some(i.clone()),
            None => {
                eprintln!("jobd: {} has not run yet; no last invocation", args.name);
                return Outcome::Failed;
            }
        },
        Some(id) => Some(id.to_ascii_lowercase()),
        None => None,
    };
    if src.kind == LogKind::Journal {
        journalctl(&src, &args.name, invocation.as_deref(), args)
    } else {
        from_files(&src, &args.name, invocation.as_deref(), args)
    }
}

/// `journalctl` with the right namespace and filters.
fn journalctl_cmd(src: &LogSource, name: &str, invocation: Option<&str>) -> std::process::Command {
    let mut cmd = std::process::Command::new("journalctl");
    if let Some(ns) = &src.namespace {
        cmd.arg(format!("--namespace={ns}"));
    }
    cmd.arg("--no-pager")
        .arg(format!("JOBD_JOB={name}"))
        .arg(format!("_UID={}", rustix::process::getuid().as_raw()));
    if let Some(inv) = invocation {
        cmd.arg(format!("JOBD_INVOCATION={inv}"));
    }
    cmd
}

/// Becomes `journalctl` (so Ctrl-C, paging and colours are journalctl's
/// own) — unless some of the job's lines are in its file, which are then
/// merged in.
fn journalctl(src: &LogSource, name: &str, invocation: Option<&str>, args: &Args) -> Outcome {
    let wanted = |e: &files::Entry| invocation.is_none_or(|i| e.invocation == i);
    let in_files = read_files(src, &wanted);
    let mut cmd = journalctl_cmd(src, name, invocation);
    if !in_files.is_empty() {
        match merged(cmd, in_files, name, args) {
            Some(outcome) if !args.follow => return outcome,
            Some(_) => {}
            None => return Outcome::Failed,
        }
        // Following: new entries from here on.
        cmd = journalctl_cmd(src, name, invocation);
        cmd.arg("--lines=0");
    } else if let Some(n) = args.n {
        cmd.arg(format!("--lines={n}"));
    }
    cmd.arg("--output=short-precise");
    if args.follow {
        cmd.arg("--follow");
    }
    if let Some(hint) = journal_hint(src) {
        eprintln!("jobd: {hint}");
    }
    let e = cmd.exec();
    eprintln!("jobd: cannot run journalctl ({e}); is systemd's journalctl installed?");
    Outcome::Failed
}

/// The journal's entries and the file's, in time order (journal entries
/// by when jobd sent them: `_SOURCE_REALTIME_TIMESTAMP`).
fn merged(
    mut cmd: std::process::Command,
    mut entries: Vec<files::Entry>,
    name: &str,
    args: &Args,
) -> Option<Outcome> {
    // `jobd logs` is a client process, not the daemon: it has no reaper,
    // and journalctl is its only child.
    #[allow(clippy::disallowed_methods)]
    let out = match cmd.arg("--output=json").output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("jobd: cannot run journalctl ({e}); is systemd's journalctl installed?");
            return None;
        }
    };
    let mut keyed: Vec<(i64, files::Entry)> = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n') {
        if let Some(e) = from_json(line) {
            keyed.push(e);
        }
    }
    for e in entries.drain(..) {
        let t = e
            .timestamp
            .parse::<jiff::Timestamp>()
            .map_or(0, |t| t.as_microsecond());
        keyed.push((t, e));
    }
    keyed.sort_by_key(|(t, _)| *t);
    let skip = args.n.map_or(0, |n| keyed.len().saturating_sub(n));
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    for (_, e) in &keyed[skip..] {
        if print(&mut w, name, e).is_err() {
            break;
        }
    }
    let _ = w.flush();
    Some(Outcome::Success)
}

/// One `journalctl -o json` line as a file entry, with its sort key.
fn from_json(line: &[u8]) -> Option<(i64, files::Entry)> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let field = |k: &str| -> Option<Vec<u8>> {
        match v.get(k)? {
            serde_json::Value::String(s) => Some(s.clone().into_bytes()),
            // journalctl writes non-UTF-8 values as arrays of bytes.
            serde_json::Value::Array(a) => a
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect(),
            _ => None,
        }
    };
    let num = |k: &str| -> Option<i64> { String::from_utf8(field(k)?).ok()?.parse().ok() };
    let t = num("_SOURCE_REALTIME_TIMESTAMP").or_else(|| num("__REALTIME_TIMESTAMP"))?;
    let ident = field("SYSLOG_IDENTIFIER").unwrap_or_default();
    let entry = files::Entry {
        timestamp: files::timestamp(t),
        invocation: String::from_utf8(field("JOBD_INVOCATION").unwrap_or_default()).ok()?,
        stream: if ident == b"jobd" { "jobd" } else { "stdout" }.to_owned(),
        priority: 6,
        pid: num("SYSLOG_PID").or_else(|| num("_PID")).unwrap_or(0) as u32,
        message: field("MESSAGE").unwrap_or_default(),
    };
    Some((t, entry))
}

/// The job's file entries that `wanted` keeps, oldest first.
fn read_files(src: &LogSource, wanted: &dyn Fn(&files::Entry) -> bool) -> Vec<files::Entry> {
    let mut entries = Vec::new();
    for path in &src.files {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        entries.extend(
            data.split(|&b| b == b'\n')
                .filter_map(files::parse)
                .filter(|e| wanted(e)),
        );
    }
    entries
}

fn print(out: &mut impl std::io::Write, name: &str, e: &files::Entry) -> std::io::Result<()> {
    let who = if e.stream == "jobd" { "jobd" } else { name };
    write!(out, "{} {who}[{}]: ", e.timestamp, e.pid)?;
    out.write_all(&e.message)?;
    out.write_all(b"\n")
}

fn from_files(src: &LogSource, name: &str, invocation: Option<&str>, args: &Args) -> Outcome {
    let wanted = |e: &files::Entry| invocation.is_none_or(|i| e.invocation == i);
    let entries = read_files(src, &wanted);
    let skip = args.n.map_or(0, |n| entries.len().saturating_sub(n));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for e in &entries[skip..] {
        if print(&mut out, name, e).is_err() {
            return Outcome::Success;
        }
    }
    let _ = out.flush();
    if !args.follow {
        return Outcome::Success;
    }
    // Follow the current file: new lines as they are appended, and the
    // new file after a rotation.
    let Some(current) = src.current_file.as_ref().map(PathBuf::from) else {
        return Outcome::Success;
    };
    follow(&current, &mut out, name, &wanted)
}

fn follow(
    path: &std::path::Path,
    out: &mut impl std::io::Write,
    name: &str,
    wanted: &dyn Fn(&files::Entry) -> bool,
) -> Outcome {
    let mut pos = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut partial = Vec::new();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(mut f) = std::fs::File::open(path) else {
            continue;
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < pos {
            // Rotated: the file is new.
            pos = 0;
            partial.clear();
        }
        if len == pos || f.seek(std::io::SeekFrom::Start(pos)).is_err() {
            continue;
        }
        let mut data = Vec::new();
        if f.read_to_end(&mut data).is_err() {
            continue;
        }
        pos += data.len() as u64;
        partial.extend_from_slice(&data);
        let Some(last_nl) = partial.iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        let complete: Vec<u8> = partial.drain(..=last_nl).collect();
        for e in complete
            .split(|&b| b == b'\n')
            .filter_map(files::parse)
            .filter(|e| wanted(e))
        {
            if print(out, name, &e).is_err() {
                return Outcome::Success;
            }
        }
        if out.flush().is_err() {
            return Outcome::Success;
        }
    }
}

/// Why journalctl will show a normal user nothing, if it will: a journal
/// kept in memory only (no `/var/log/journal`) has no per-user files, and
/// only root and the `systemd-journal`/`adm` groups read the system's.
fn journal_hint(src: &LogSource) -> Option<String> {
    if src.namespace.is_some() || rustix::process::geteuid().is_root() {
        return None;
    }
    // journald writes a user's own file (user-UID.journal) only to a
    // persistent journal: /var/log/journal/MACHINE-ID/.
    let uid = rustix::process::geteuid().as_raw();
    let own_file = std::fs::read_dir("/var/log/journal")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| std::fs::read_dir(d.path()).ok())
        .flatten()
        .flatten()
        .any(|f| {
            f.file_name()
                .to_string_lossy()
                .starts_with(&format!("user-{uid}"))
        });
    if own_file {
        return None;
    }
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let readers: Vec<u32> = groups
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3 && matches!(f[0], "systemd-journal" | "adm"))
                .then(|| f[2].parse().ok())
                .flatten()
        })
        .collect();
    let mine: Vec<u32> = rustix::process::getgroups()
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.as_raw())
        .chain([rustix::process::getegid().as_raw()])
        .collect();
    if readers.iter().any(|g| mine.contains(g)) {
        return None;
    }
    Some(
        "this machine's journal has no file of yours (it is kept in memory only, or not under \
         /var/log/journal), and journalctl shows a normal user nothing else; make it persistent (`sudo mkdir -p /var/log/journal` and \
         restart systemd-journald, or Storage=persistent in journald.conf), or join the \
         systemd-journal group"
            .to_owned(),
    )
}
