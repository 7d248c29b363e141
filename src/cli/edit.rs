//! `jobd edit`: `crontab -e`/`visudo` for the config file. The editor
//! works on a copy next to the file; a copy that does not pass the checks
//! never replaces the file (its errors are shown and the editor offered
//! again); one that does replaces it atomically and a running daemon
//! reloads it.

use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Outcome, PathArgs};
use crate::config::{self, Env};
use crate::tzdb::SystemZones;

pub fn run(paths: &PathArgs) -> Outcome {
    let path = paths.config();
    let original = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::from("jobs:\n"),
        Err(e) => {
            eprintln!("jobd: cannot read {}: {e}", path.display());
            return Outcome::Failed;
        }
    };
    let copy = copy_path(&path);
    if let Err(e) = std::fs::write(&copy, &original) {
        eprintln!("jobd: cannot write {}: {e}", copy.display());
        return Outcome::Failed;
    }
    let outcome = edit_loop(paths, &path, &copy, &original);
    let _ = std::fs::remove_file(&copy);
    outcome
}

/// `.NAME.jobd-edit-PID` beside the file: same filesystem, so the rename
/// that replaces the file is atomic.
fn copy_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "jobd.yaml".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.jobd-edit-{}", std::process::id()))
}

fn edit_loop(paths: &PathArgs, path: &Path, copy: &Path, original: &str) -> Outcome {
    let zones = SystemZones::from_env();
    loop {
        if let Err(e) = open_editor(copy) {
            eprintln!("jobd: {e}; {} is unchanged", path.display());
            return Outcome::Failed;
        }
        let text = match std::fs::read_to_string(copy) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("jobd: cannot read the edited copy: {e}");
                return Outcome::Failed;
            }
        };
        if text == original {
            println!("No changes: {} is as it was.", path.display());
            return Outcome::Success;
        }
        match config::from_str(&text, path, &zones, &Env::from_process()) {
            Ok(c) => return save(paths, path, copy, c.jobs.len()),
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("{e}");
                }
                if !again() {
                    eprintln!("jobd: not saved; {} is unchanged", path.display());
                    return Outcome::Failed;
                }
            }
        }
    }
}

/// `$VISUAL`, `$EDITOR` or `vi` on `copy`, through `sh` so the variable
/// may hold arguments (`code --wait`), as git and crontab allow.
// The CLI waits for its own child; the ban on `wait` is the daemon's.
#[allow(clippy::disallowed_methods)]
fn open_editor(copy: &Path) -> Result<(), String> {
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| "vi".to_owned());
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(copy)
        .status()
        .map_err(|e| format!("cannot run the editor {editor:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the editor {editor:?} failed ({status})"))
    }
}

/// Asks whether to edit again; anything but "n" (or the end of input)
/// is yes.
fn again() -> bool {
    eprint!("Edit again? [Y/n] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => false,
        Ok(_) => !line.trim().eq_ignore_ascii_case("n"),
    }
}

/// Replaces the file with the checked copy (its mode kept), then reloads
/// a running daemon.
fn save(paths: &PathArgs, path: &Path, copy: &Path, jobs: usize) -> Outcome {
    let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode());
    let _ = std::fs::set_permissions(copy, std::fs::Permissions::from_mode(mode));
    if let Err(e) = std::fs::rename(copy, path) {
        eprintln!("jobd: cannot replace {}: {e}", path.display());
        return Outcome::Failed;
    }
    println!("Saved {} ({jobs} jobs).", path.display());
    if paths.connect().is_err() {
        println!(
            "No daemon running at {}; it reads the file when it starts.",
            paths.socket().display()
        );
        return Outcome::Success;
    }
    super::control::reload(paths)
}
