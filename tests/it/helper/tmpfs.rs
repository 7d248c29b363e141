//! A small tmpfs mounted on a directory for one test (root only), to fill
//! a disk to its last byte; unmounted when dropped.

use std::path::{Path, PathBuf};

pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `256k`) on `dir`, or says why not.
    pub fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("needs root to mount a tmpfs".into());
        }
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            Ok(Tmpfs(dir.to_owned()))
        } else {
            Err("cannot mount a tmpfs here".into())
        }
    }
}

/// A test directory whose `state/` is a tmpfs of `size` holding `config`
/// as `jobd.yaml`, or `None` (the reason printed; a failure where
/// `JOBD_REQUIRE_JOURNALD` says this machine must be able to).
pub fn small_state(
    test: &str,
    size: &str,
    config: &str,
) -> Option<(tempfile::TempDir, PathBuf, Tmpfs)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("mkdir");
    std::fs::write(dir.path().join("jobd.yaml"), config).expect("config");
    match Tmpfs::mount(&state, size) {
        Ok(t) => Some((dir, state, t)),
        Err(why) => {
            assert!(
                std::env::var_os("JOBD_REQUIRE_JOURNALD").is_none(),
                "{test}: {why}"
            );
            eprintln!("{test}: skipped: {why}");
            None
        }
    }
}

/// Fills the file system of `dir` to its last byte with `dir/filler`,
/// whose path comes back (remove it to free the space).
pub fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    while f.write_all(&chunk[..1]).is_ok() {}
    filler
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}
