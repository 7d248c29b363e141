//! A delegated cgroup v2 subtree for a test daemon, as systemd hands one to
//! a user unit with `Delegate=yes`: a fresh directory marked with the
//! `trusted.delegate` xattr. Needs root and a writable cgroup2 mount; a
//! test without them is skipped with a message (`JOBD_REQUIRE_CGROUP=1`
//! turns the skip into a failure).

use std::path::{Path, PathBuf};

pub struct Delegated {
    pub dir: PathBuf,
}

impl Delegated {
    /// A new delegated cgroup, or `None` (with the reason printed) where
    /// this machine cannot make one.
    pub fn create(test: &str) -> Option<Delegated> {
        match try_create(test) {
            Ok(d) => Some(d),
            Err(why) => {
                assert!(
                    std::env::var_os("JOBD_REQUIRE_CGROUP").is_none(),
                    "{test}: JOBD_REQUIRE_CGROUP is set but {why}"
                );
                eprintln!("{test}: skipped in cgroup mode: {why}");
                None
            }
        }
    }
}

fn try_create(test: &str) -> Result<Delegated, String> {
    if !rustix::process::geteuid().is_root() {
        return Err("not root".into());
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    let mount = info
        .lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
                .flatten()
        })
        .ok_or("no cgroup2 mount")?;
    let dir = mount.join(format!("jobd-test-{}-{test}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let d = Delegated { dir };
    rustix::fs::setxattr(
        &d.dir,
        "trusted.delegate",
        b"1",
        rustix::fs::XattrFlags::empty(),
    )
    .map_err(|e| format!("cannot mark {} delegated: {e}", d.dir.display()))?;
    Ok(d)
}

/// Kills what is left and removes the directories, deepest first.
fn remove(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove(&e.path());
            }
        }
    }
    let _ = std::fs::write(dir.join("cgroup.kill"), b"1");
    for _ in 0..100 {
        if std::fs::remove_dir(dir).is_ok() {
            return;
        }
        // cgroup.kill is asynchronous: wait for the last exits.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

impl Drop for Delegated {
    fn drop(&mut self) {
        remove(&self.dir);
    }
}
