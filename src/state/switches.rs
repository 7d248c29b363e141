//! `jobd disable`/`enable`: the names of the jobs switched off, one per
//! line in `STATE_DIR/disabled`, so the switch survives daemon restarts
//! and reloads. Rewritten whole (temporary file, fsync, rename) at each
//! change: a crash leaves the old list or the new one, never half.

use std::collections::BTreeSet;
use std::path::Path;

const FILE: &str = "disabled";

/// The jobs switched off; an unreadable file counts as none (with the
/// reason for the log).
pub fn load(dir: &Path) -> (BTreeSet<String>, Option<String>) {
    match std::fs::read_to_string(dir.join(FILE)) {
        Ok(t) => (
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            None,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeSet::new(), None),
        Err(e) => (
            BTreeSet::new(),
            Some(format!(
                "cannot read {}: {e}; every job is as its file says",
                dir.join(FILE).display()
            )),
        ),
    }
}

/// Writes the list; the old one stays if this fails.
pub fn save(dir: &Path, names: &BTreeSet<String>) -> std::io::Result<()> {
    let text: String = names.iter().map(|n| format!("{n}\n")).collect();
    super::write_atomic(&dir.join(FILE), text.as_bytes(), 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let d = tempfile::tempdir().expect("tempdir");
        assert!(load(d.path()).0.is_empty());
        let names: BTreeSet<String> = ["b", "a"].map(String::from).into();
        save(d.path(), &names).expect("save");
        assert_eq!(load(d.path()).0, names);
        assert!(!d.path().join(".disabled.jobd-tmp").exists());
    }
}
