//! `jobd logs NAME [-n N] [-f] [--invocation ID|last]`: the job's lines,
//! across runs like `journalctl -u`, from the journal (by running
//! `journalctl` filtered on `JOBD_JOB`) or from the fallback files.

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

/// Becomes `journalctl` with the right namespace and filters (so Ctrl-C,
/// paging and colours are journalctl's own).
fn journalctl(src: &LogSource, name: &str, invocation: Option<&str>, args: &Args) -> Outcome {
    let mut cmd = std::process::Command::new("journalctl");
    if let Some(ns) = &src.namespace {
        cmd.arg(format!("--namespace={ns}"));
    }
    cmd.arg("--no-pager")
        .arg("--output=short-precise")
        .arg(format!("JOBD_JOB={name}"));
    if let Some(inv) = invocation {
        cmd.arg(format!("JOBD_INVOCATION={inv}"));
    }
    if let Some(n) = args.n {
        cmd.arg(format!("--lines={n}"));
    }
    if args.follow {
        cmd.arg("--follow");
    }
    let e = cmd.exec();
    eprintln!("jobd: cannot run journalctl ({e}); is systemd's journalctl installed?");
    Outcome::Failed
}

fn print(out: &mut impl std::io::Write, name: &str, e: &files::Entry) -> std::io::Result<()> {
    let who = if e.stream == "jobd" { "jobd" } else { name };
    write!(out, "{} {who}[{}]: ", e.timestamp, e.pid)?;
    out.write_all(&e.message)?;
    out.write_all(b"\n")
}

fn from_files(src: &LogSource, name: &str, invocation: Option<&str>, args: &Args) -> Outcome {
    let wanted = |e: &files::Entry| invocation.is_none_or(|i| e.invocation == i);
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
