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

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}
