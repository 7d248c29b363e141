//! A real `systemd-journald` in a private namespace for one test:
//! `/lib/systemd/systemd-journald NS` (root only), socket at
//! `/run/systemd/journal.NS/socket`, read back with
//! `journalctl --namespace=NS`. Its config (`/etc/systemd/journald@NS.conf`)
//! keeps entries in memory and turns rate limiting off, so bursts are
//! counted exactly. Without root or journald the test is skipped with a
//! message; `JOBD_REQUIRE_JOURNALD=1` (set by `.ci/run`) makes that a
//! failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const JOURNALD: &str = "/lib/systemd/systemd-journald";

pub struct Journald {
    pub ns: String,
    child: Option<Child>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Journald {
    /// A fresh journald, or `None` (with the reason printed) where this
    /// machine cannot run one.
    pub fn start(test: &str) -> Option<Journald> {
        Journald::start_with(test, "RateLimitBurst=0\n")
    }

    /// A fresh journald with these `[Journal]` settings (and volatile
    /// storage).
    pub fn start_with(test: &str, settings: &str) -> Option<Journald> {
        let why = if !rustix::process::geteuid().is_root() {
            Some("not root")
        } else if !std::path::Path::new(JOURNALD).exists() {
            Some("no /lib/systemd/systemd-journald (install systemd)")
        } else {
            None
        };
        if let Some(why) = why {
            assert!(
                std::env::var_os("JOBD_REQUIRE_JOURNALD").is_none(),
                "{test}: JOBD_REQUIRE_JOURNALD is set but {why}"
            );
            eprintln!("{test}: skipped: {why}");
            return None;
        }
        let ns = format!(
            "jobdt{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        std::fs::write(
            format!("/etc/systemd/journald@{ns}.conf"),
            format!("[Journal]\nStorage=volatile\nRuntimeMaxUse=1G\n{settings}"),
        )
        .expect("write journald config");
        let mut j = Journald { ns, child: None };
        j.spawn();
        Some(j)
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let child = Command::new(JOURNALD)
            .arg(&self.ns)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start systemd-journald");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        // journald binds its sockets before it serves them; the socket's
        // appearance is the event to wait for.
        while !self.socket().exists() {
            assert!(Instant::now() < deadline, "journald did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// journald's pid (to stop and continue it).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn socket(&self) -> PathBuf {
        PathBuf::from(format!("/run/systemd/journal.{}/socket", self.ns))
    }

    /// Kills journald (SIGKILL: whatever was queued is lost) and starts
    /// it again on the same namespace.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.spawn();
    }

    /// `journalctl --namespace=NS ARGS`, stdout.
    pub fn journalctl(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("journalctl")
            .arg(format!("--namespace={}", self.ns))
            .arg("--no-pager")
            .args(args)
            .output()
            .expect("run journalctl");
        out.stdout
    }

    /// Every entry matching `filters`, as JSON objects (all fields, big
    /// ones too).
    pub fn entries(&self, filters: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["-o", "json", "--all"];
        args.extend_from_slice(filters);
        String::from_utf8_lossy(&self.journalctl(&args))
            .lines()
            .map(|l| serde_json::from_str(l).expect("journalctl -o json"))
            .collect()
    }

    /// Follows the messages matching `filters` (`journalctl -f -o cat`)
    /// until `done` says so of one; returns all of them, in journal order.
    pub fn follow_until(
        &self,
        filters: &[&str],
        mut done: impl FnMut(&str) -> bool,
    ) -> Vec<String> {
        let mut child = Command::new("journalctl")
            .arg(format!("--namespace={}", self.ns))
            .args(["--no-pager", "-o", "cat", "--lines=all", "--follow"])
            .args(filters)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("journalctl -f");
        let rx = super::lines_of(child.stdout.take().expect("piped"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let stop = done(&line);
                    out.push(line);
                    if stop {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "awaited line not in the journal within 60 s; {} lines, last {:?}",
                        out.len(),
                        out.last()
                    );
                }
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        out
    }
}

impl Drop for Journald {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(format!("/etc/systemd/journald@{}.conf", self.ns));
        let _ = std::fs::remove_dir_all(format!("/run/systemd/journal.{}", self.ns));
        if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
            let _ = std::fs::remove_dir_all(format!("/run/log/journal/{}.{}", id.trim(), self.ns));
        }
    }
}
