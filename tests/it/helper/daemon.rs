//! A real `jobd daemon` process in a temporary directory of its own
//! (config, socket, state), driven through the real CLI.
//!
//! Readiness is awaited through `NOTIFY_SOCKET` (the daemon sends
//! `READY=1` once it listens), and the daemon's stderr is read by a thread
//! into a channel, so tests wait for events, not for time.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any single awaited event may take before the test fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// The daemon's `NOTIFY_SOCKET`, kept to see RELOADING/STOPPING.
    notify: UnixDatagram,
    /// Every stderr line seen so far.
    pub log: Vec<String>,
}

impl Daemon {
    /// Writes `config` and starts a daemon on it; waits for READY=1.
    pub fn start(config: &str) -> Daemon {
        Daemon::start_in(with_config(config))
    }

    /// Starts a daemon on the files already in `dir`.
    pub fn start_in(dir: tempfile::TempDir) -> Daemon {
        Daemon::launch(dir, &[], &[])
    }

    /// Starts a daemon on the files already in `dir`, with these extra
    /// environment variables.
    pub fn start_in_env(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Daemon {
        Daemon::launch(dir, &[], env)
    }

    /// Writes `config` and starts a daemon with these extra environment
    /// variables.
    pub fn start_env(config: &str, env: &[(&str, &str)]) -> Daemon {
        Daemon::launch(with_config(config), &[], env)
    }

    /// Writes `config` and starts a daemon inside the cgroup `cgroup`
    /// (moved there before it execs, as systemd starts a unit).
    pub fn start_in_cgroup(config: &str, cgroup: &Path) -> Daemon {
        Daemon::launch(with_config(config), &cgroup_wrap(Some(cgroup)), &[])
    }

    /// Starts a daemon on the files already in `dir`, inside `cgroup`.
    pub fn start_in_with_cgroup(dir: tempfile::TempDir, cgroup: &Path) -> Daemon {
        Daemon::launch(dir, &cgroup_wrap(Some(cgroup)), &[])
    }

    /// Writes `config` and starts `jobd daemon` under the command `wrap`.
    pub fn start_wrapped(
        config: &str,
        wrap: &[std::ffi::OsString],
        env: &[(&str, &str)],
    ) -> Daemon {
        Daemon::launch(with_config(config), wrap, env)
    }

    /// Starts a daemon on the files already in `dir`, under `wrap`.
    pub fn start_in_wrapped(dir: tempfile::TempDir, wrap: &[std::ffi::OsString]) -> Daemon {
        Daemon::launch(dir, wrap, &[])
    }

    fn launch(dir: tempfile::TempDir, wrap: &[std::ffi::OsString], env: &[(&str, &str)]) -> Daemon {
        let (child, lines, notify) = spawn_wrapped(dir.path(), wrap, env)
            .unwrap_or_else(|log| panic!("daemon did not start:\n{log}"));
        Daemon {
            dir,
            child: Some(child),
            lines,
            notify,
            log: Vec::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn socket(&self) -> PathBuf {
        self.path("run/jobd.sock")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon running").id()
    }

    /// Runs `jobd ARGS` against this daemon.
    pub fn jobd(&self, args: &[&str]) -> Output {
        cli(self.dir.path()).args(args).output().expect("run jobd")
    }

    /// Runs `jobd ARGS`, asserts exit 0, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.jobd(args);
        assert!(
            out.status.success(),
            "jobd {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `jobd list --json`, as JSON.
    pub fn list(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["list", "--json"])).expect("list --json is JSON")
    }

    /// The `list --json` object of one job.
    pub fn job(&self, name: &str) -> serde_json::Value {
        self.list()
            .into_iter()
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("job {name} not listed"))
    }

    /// `jobd status NAME --json`.
    pub fn status(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", name, "--json"])).expect("status --json is JSON")
    }

    /// `jobd history NAME --json`, newest first.
    pub fn history(&self, name: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["history", name, "--json", "-n", "1000"]))
            .expect("history --json is JSON")
    }

    /// Waits for a stderr line containing `needle`; returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        if let Some(l) = self.log.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no daemon line containing {needle:?} within {EVENT_TIMEOUT:?}; log:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits until `n` lines containing `needle` have been seen.
    pub fn wait_for_nth(&mut self, needle: &str, n: usize) {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        while self.log.iter().filter(|l| l.contains(needle)).count() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.log.push(line),
                Err(_) => panic!(
                    "fewer than {n} daemon lines containing {needle:?} within {EVENT_TIMEOUT:?}; log:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits for the next `sd_notify` message; returns its text.
    pub fn next_notification(&self) -> String {
        self.notify
            .set_read_timeout(Some(EVENT_TIMEOUT))
            .expect("timeout");
        let mut buf = [0u8; 4096];
        let n = self.notify.recv(&mut buf).expect("an sd_notify message");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// Sends `sig` (`TERM`, `KILL`, `HUP`, `INT`) to the daemon.
    pub fn signal(&self, sig: &str) {
        send(self.pid(), sig);
    }

    /// Waits for the daemon process to exit; returns its exit status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let child = self.child.take().expect("daemon running");
        let status = wait_child(child, EVENT_TIMEOUT);
        // The stderr reader ends at EOF: collect everything it read.
        while let Ok(line) = self.lines.recv_timeout(EVENT_TIMEOUT) {
            self.log.push(line);
        }
        status.unwrap_or_else(|| panic!("daemon did not exit; log:\n{}", self.log.join("\n")))
    }

    /// SIGTERM, wait, and give back the directory (for a restart).
    pub fn stop(mut self) -> tempfile::TempDir {
        self.signal("TERM");
        let status = self.wait_exit();
        assert!(status.success(), "daemon exit status {status:?}");
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    /// SIGKILL, wait, and give back the directory.
    pub fn kill9(mut self) -> tempfile::TempDir {
        self.signal("KILL");
        let _ = self.wait_exit();
        std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"))
    }

    /// Replaces the config file.
    pub fn write_config(&self, config: &str) {
        std::fs::write(self.path("jobd.yaml"), config).expect("write config");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            send(child.id(), "TERM");
            let _ = wait_child(child, EVENT_TIMEOUT);
        }
    }
}

/// `jobd` with this directory's config, socket and state.
pub fn cli(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jobd"));
    c.arg("--config")
        .arg(dir.join("jobd.yaml"))
        .arg("--socket")
        .arg(dir.join("run/jobd.sock"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env("TZ", "UTC")
        .env("HOME", dir)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOBD_CONFIG")
        .env_remove("JOBD_SOCKET")
        .env_remove("JOBD_STATE_DIR")
        // Never the machine's own journal: a namespace nobody serves, so
        // job output goes to the state directory's files unless a test
        // starts its own journald. Job lines are also copied to the
        // daemon's stderr, where tests wait for them.
        .env("JOBD_LOG_NAMESPACE", "jobd-tests-no-journal")
        .env("JOBD_MIRROR_OUTPUT", "1");
    c
}

/// A fresh directory holding `config` as `jobd.yaml`.
pub fn with_config(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobd.yaml"), config).expect("write config");
    dir
}

/// `sh` joins the cgroup, then becomes jobd: the daemon is in it from its
/// first instruction.
fn cgroup_wrap(cgroup: Option<&Path>) -> Vec<std::ffi::OsString> {
    match cgroup {
        Some(cg) => vec![
            "sh".into(),
            "-c".into(),
            "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"".into(),
            cg.into(),
        ],
        None => Vec::new(),
    }
}

/// Starts `jobd daemon` in `dir` and waits for READY=1 (or its exit); on
/// failure, what it printed. With `wrap`, as the last arguments of that
/// command (e.g. `unshare …`, or `sh -c '…; exec "$@"' sh`).
pub fn spawn_wrapped(
    dir: &Path,
    wrap: &[std::ffi::OsString],
    env: &[(&str, &str)],
) -> Result<(Child, mpsc::Receiver<String>, UnixDatagram), String> {
    let notify_path = dir.join(format!("notify-{}", std::process::id()));
    let _ = std::fs::remove_file(&notify_path);
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let mut cmd = cli(dir);
    cmd.envs(env.iter().copied());
    if let Some((first, rest)) = wrap.split_first() {
        let jobd = cmd.get_program().to_owned();
        let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
        let mut wrapped = Command::new(first);
        wrapped.args(rest).arg(jobd).args(args);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        cmd = wrapped;
    }
    let mut child = cmd
        .arg("daemon")
        .env("NOTIFY_SOCKET", &notify_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobd daemon");
    let rx = super::lines_of(child.stderr.take().expect("stderr piped"));
    let deadline = Instant::now() + EVENT_TIMEOUT;
    let mut buf = [0u8; 4096];
    loop {
        if let Ok(n) = notify.recv(&mut buf)
            && String::from_utf8_lossy(&buf[..n])
                .lines()
                .any(|l| l == "READY=1")
        {
            return Ok((child, rx, notify));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log: Vec<String> = rx.try_iter().collect();
            let _ = std::fs::remove_file(&notify_path);
            return Err(format!("exited with {status:?}:\n{}", log.join("\n")));
        }
        assert!(
            Instant::now() < deadline,
            "daemon not ready within {EVENT_TIMEOUT:?}"
        );
    }
}

/// Sends a signal to a process (no `kill` binary needed).
pub fn send(pid: u32, sig: &str) {
    use rustix::process::{Pid, Signal, kill_process};
    let sig = match sig {
        "TERM" => Signal::TERM,
        "KILL" => Signal::KILL,
        "HUP" => Signal::HUP,
        "INT" => Signal::INT,
        "STOP" => Signal::STOP,
        "CONT" => Signal::CONT,
        other => panic!("no such signal in tests: {other}"),
    };
    let pid = Pid::from_raw(i32::try_from(pid).expect("pid")).expect("nonzero pid");
    let _ = kill_process(pid, sig);
}

/// Waits for `child` to exit, at most `timeout`; after that, SIGKILLs it
/// and returns `None`.
pub fn wait_child(mut child: Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(status)) => Some(status),
        _ => {
            send(pid, "KILL");
            None
        }
    }
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}
