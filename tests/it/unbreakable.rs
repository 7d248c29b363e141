//! A hostile or unlucky environment: clients that abandon the daemon or
//! flood it, reused PIDs, a hung journald and its rate limit, a full disk,
//! a stderr nobody reads, a second daemon, a dirty inheritance. Each test
//! failed against the daemon before these were fixed.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helper::daemon::{Daemon, cli, send};
use crate::helper::journald::Journald;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Polls `f` every 10 ms until it holds or `limit` passes.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `jobd daemon` in `dir` with its stderr a pipe the caller holds (no
/// NOTIFY_SOCKET: the caller waits for the socket itself).
fn raw_daemon(dir: &Path) -> std::process::Child {
    cli(dir)
        .arg("daemon")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobd daemon")
}

fn request(d: &Daemon, line: &str) -> UnixStream {
    let mut s = UnixStream::connect(d.socket()).expect("connect");
    s.write_all(line.as_bytes()).expect("write");
    s
}

#[test]
fn abandoned_waiters_cost_nothing_and_a_flood_is_refused_with_a_reason() {
    let mut d = Daemon::start(
        "jobs:
  long: {exec: ['sleep', '1000'], type: oneshot}
  tick: {exec: ['echo', 'tick'], on_calendar: '*:*:*'}
",
    );
    d.ok(&["run-now", "long"]);
    let pid = d.pid();
    d.wait_for("tick[");
    let baseline = open_fds(pid);
    for _ in 0..1000 {
        drop(request(
            &d,
            "{\"v\":1,\"req\":{\"cmd\":\"run-now\",\"name\":\"long\",\"wait\":true}}\n",
        ));
    }
    for _ in 0..100 {
        drop(request(
            &d,
            "{\"v\":1,\"req\":{\"cmd\":\"stop\",\"name\":\"tick\"}}\n",
        ));
    }
    // `stop` answered at once; the `--wait`s would wait for ever.
    assert!(
        within(Duration::from_secs(1), || open_fds(pid) <= baseline + 2),
        "descriptors: {} against a baseline of {baseline}",
        open_fds(pid)
    );
    d.ok(&["start", "tick"]);
    // 2,000 at once: the ones over the cap are told why.
    let mut held = Vec::new();
    let mut busy = 0;
    for _ in 0..2000 {
        let Ok(s) = UnixStream::connect(d.socket()) else {
            busy += 1;
            continue;
        };
        held.push(s);
    }
    for s in &held {
        s.set_nonblocking(true).expect("nonblocking");
    }
    // The accepted ones wait for a request; the others are told and closed.
    let mut answered = vec![false; held.len()];
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && busy < 2000 - 1100 {
        for (k, s) in held.iter_mut().enumerate() {
            if answered[k] {
                continue;
            }
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(0) => answered[k] = true,
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    assert!(text.contains("\"busy\""), "{text}");
                    busy += 1;
                    answered[k] = true;
                }
                Err(_) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(busy >= 900, "only {busy} of 2000 refused");
    // A scheduled job still starts and logs meanwhile.
    let n = d.log.iter().filter(|l| l.contains("tick[")).count();
    d.wait_for_nth("tick[", n + 1);
    drop(held);
    assert!(within(Duration::from_secs(1), || open_fds(pid) <= baseline + 2));
    assert_eq!(d.list().len(), 2);
}

#[test]
fn a_job_file_is_open_only_while_a_run_writes_it() {
    // No journal: every line goes to the jobs' files.
    let config: String = (0..20).fold("jobs:\n".into(), |c, k| {
        c + &format!("  j{k}: {{exec: ['echo', 'hello'], type: oneshot}}\n")
    });
    let mut d = Daemon::start(&config);
    let before = open_fds(d.pid());
    for k in 0..20 {
        d.ok(&["run-now", &format!("j{k}")]);
        d.wait_for(&format!("j{k}: finished"));
    }
    assert!(d.path("state/logs/j19.log").exists());
    // The last run's pipes and pidfd go with its end, just after `finished`.
    assert!(
        within(Duration::from_secs(1), || open_fds(d.pid()) <= before),
        "20 jobs wrote their files, none is running: {} descriptors, {before} before",
        open_fds(d.pid())
    );
}

#[test]
fn state_is_private_whatever_the_umask() {
    // The test process's umask is the usual 022; the daemon inherits it.
    let mut d = Daemon::start("jobs:\n  say: {exec: ['echo', 'hi'], type: oneshot}\n");
    d.ok(&["run-now", "say", "--wait"]);
    d.wait_for("say: finished");
    let state = d.path("state");
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("logs")), 0o700);
    for f in ["runs.jsonl", "lock", "logs/say.log"] {
        assert_eq!(mode(&state.join(f)), 0o600, "{f}");
    }
}

#[test]
fn a_second_daemon_on_the_same_state_directory_refuses_whatever_its_socket() {
    let d = Daemon::start("jobs: {}\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jobd"))
        .arg("--config")
        .arg(d.path("jobd.yaml"))
        .arg("--socket")
        .arg(d.path("other.sock"))
        .arg("--state-dir")
        .arg(d.path("state"))
        .arg("daemon")
        .env("JOBD_LOG_NAMESPACE", "jobd-tests-no-journal")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("(pid {})", d.pid())) && err.contains("state directory"),
        "{err}"
    );
    assert!(!d.path("other.sock").exists());
}

#[test]
fn a_64_kib_unknown_name_against_1000_jobs_is_answered_at_once() {
    let mut config = String::from("jobs:\n");
    for k in 0..1000 {
        config.push_str(&format!("  job-{k}: {{exec: ['true'], type: oneshot}}\n"));
    }
    let d = Daemon::start(&config);
    let name = "x".repeat(65_000);
    let line = format!("{{\"v\":1,\"req\":{{\"cmd\":\"status\",\"name\":\"{name}\"}}}}\n");
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let mut s = UnixStream::connect(d.socket()).expect("connect");
        let t0 = Instant::now();
        s.write_all(line.as_bytes()).expect("write");
        let mut reply = String::new();
        BufReader::new(&s).read_line(&mut reply).expect("reply");
        best = best.min(t0.elapsed());
        assert!(reply.contains("unknown-job"), "{reply}");
    }
    assert!(best < Duration::from_millis(10), "took {best:?}");
}

#[test]
fn jobs_inherit_nothing_of_the_daemons_manager() {
    let mut d = Daemon::start_wrapped(
        "jobs:
  look:
    exec: ['sh', '-c', 'env | sort; ls /proc/self/fd | tr \"\\n\" \" \"; echo; grep -E \"^Sig(Ign|Blk)\" /proc/self/status']
    type: oneshot
",
        // A manager's variables, a descriptor without close-on-exec, an
        // ignored SIGINT and SIGHUP (as `nohup` or a shell's `&` leave).
        &[
            "sh".into(),
            "-c".into(),
            "exec 7</dev/null; trap '' INT HUP; exec \"$@\"".into(),
            "sh".into(),
        ],
        &[
            ("INVOCATION_ID", "0123"),
            ("WATCHDOG_USEC", "1"),
            ("WATCHDOG_PID", "1"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_PID", "1"),
            ("JOURNAL_STREAM", "1:2"),
            ("MANAGERPID", "1"),
        ],
    );
    d.ok(&["run-now", "look", "--wait"]);
    d.wait_for("look: finished");
    let out: Vec<&String> = d.log.iter().filter(|l| l.starts_with("look[")).collect();
    let text = out
        .iter()
        .map(|l| l.split_once("]: ").map_or("", |x| x.1))
        .collect::<Vec<_>>()
        .join("\n");
    for var in [
        "NOTIFY_SOCKET=",
        "INVOCATION_ID=",
        "WATCHDOG_",
        "LISTEN_",
        "JOURNAL_STREAM=",
        "MANAGERPID=",
    ] {
        assert!(
            !text.lines().any(|l| l.starts_with(var)),
            "{var} leaked:\n{text}"
        );
    }
    assert!(text.contains("JOBD_INVOCATION="), "{text}");
    // 0, 1, 2 and the directory `ls` reads.
    let fds = text
        .lines()
        .find(|l| l.trim_start().starts_with("0 1 2"))
        .unwrap_or_else(|| panic!("no fd line:\n{text}"));
    assert_eq!(fds.split_whitespace().count(), 4, "descriptors: {fds}");
    // Standard signals only: 32 and 33 belong to the C library's threads.
    let mask = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            & 0x7fff_ffff
    };
    assert_eq!(mask("SigIgn:"), 0, "ignored signals inherited");
    assert_eq!(mask("SigBlk:"), 0, "blocked signals inherited");
}

#[test]
fn sighup_during_start_up_does_not_kill_the_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = String::from("jobs:\n");
    for k in 0..2000 {
        config.push_str(&format!("  j{k}: {{exec: ['true'], on_calendar: daily}}\n"));
    }
    std::fs::write(dir.path().join("jobd.yaml"), config).expect("config");
    let mut child = raw_daemon(dir.path());
    let pid = child.id();
    // From its first line (the process is set up by then) until it
    // listens, SIGHUP it every millisecond.
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("first line");
    let sock = dir.path().join("run/jobd.sock");
    let mut sent = 0;
    while !sock.exists() && sent < 5000 {
        send(pid, "HUP");
        sent += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    assert!(crate::helper::daemon::alive(pid), "killed by SIGHUP");
    assert!(
        within(Duration::from_secs(10), || cli(dir.path())
            .arg("list")
            .output()
            .is_ok_and(|o| o.status.success())),
        "not serving after {sent} SIGHUPs"
    );
    send(pid, "TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_stderr_nobody_reads_or_closes_blocks_and_kills_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        "jobs:
  chatty:
    exec: ['sh', '-c', 'echo a line for the mirror; exit 1']
    restart: always
    restart_sec: 10ms
    start_limit_burst: 0
",
    )
    .expect("config");
    let mut child = raw_daemon(dir.path());
    let pid = child.id();
    // The pipe is held, never read.
    let pipe = child.stderr.take().expect("stderr");
    let sock = dir.path().join("run/jobd.sock");
    // One `list` request on the socket, timed from connect to reply: the
    // job's restart count, if answered.
    let list = || {
        let t0 = Instant::now();
        let restarts = UnixStream::connect(&sock).ok().and_then(|mut s| {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reply = String::new();
            s.write_all(b"{\"v\":1,\"req\":{\"cmd\":\"list\"}}\n")
                .ok()?;
            BufReader::new(&s).read_line(&mut reply).ok()?;
            let v: serde_json::Value = serde_json::from_str(&reply).ok()?;
            v["ok"][0]["restarts"].as_u64()
        });
        (restarts, t0.elapsed())
    };
    assert!(
        within(Duration::from_secs(10), || list().0.is_some()),
        "never served"
    );
    // Wait for the pipe to be full (within a line of its 64 KiB).
    assert!(
        within(Duration::from_secs(10), || {
            rustix::io::ioctl_fionread(&pipe).is_ok_and(|n| n >= 60 * 1024)
        }),
        "stderr never filled"
    );
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        let (restarts, took) = list();
        assert!(restarts.is_some(), "list failed");
        worst = worst.max(took);
    }
    assert!(worst < Duration::from_millis(100), "list took {worst:?}");
    drop(pipe);
    // Three more runs, each writing to the closed pipe.
    let before = list().0.unwrap_or(0);
    assert!(
        within(Duration::from_secs(10), || list()
            .0
            .is_some_and(|r| r >= before + 3)),
        "the daemon died with its stderr"
    );
    send(pid, "TERM");
    assert!(child.wait().expect("wait").success());
}

#[test]
fn history_survives_a_full_disk_and_loses_no_acknowledged_run() {
    let Some((dir, state, _tmpfs)) = crate::helper::tmpfs::small_state(
        "history_survives_a_full_disk",
        "256k",
        "jobs:\n  r: {exec: ['true'], type: oneshot}\n",
    ) else {
        return;
    };
    let d = Daemon::start_in(dir);
    d.ok(&["run-now", "r", "--wait"]);
    let filler = crate::helper::tmpfs::fill(&state);
    for _ in 0..5 {
        d.ok(&["run-now", "r", "--wait"]);
    }
    let shown = d.history("r");
    assert_eq!(shown.len(), 6, "{shown:?}");
    std::fs::remove_file(&filler).expect("free space");
    d.ok(&["run-now", "r", "--wait"]);
    let shown = d.history("r");
    let dir = d.stop();
    let text = std::fs::read_to_string(state.join("runs.jsonl")).expect("history");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    }
    let leftovers: Vec<_> = std::fs::read_dir(&state)
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let d = Daemon::start_in(dir);
    assert_eq!(d.history("r"), shown);
}

#[test]
fn pid_reuse_never_signals_a_stranger() {
    if !is_root() || !Path::new("/usr/bin/unshare").exists() {
        assert!(
            std::env::var_os("JOBD_REQUIRE_JOURNALD").is_none(),
            "needs root and unshare"
        );
        eprintln!("pid_reuse_never_signals_a_stranger: skipped: needs root and unshare");
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path().display();
    // `a` leaves a process (own session, deaf to SIGTERM) and exits: the
    // daemon stops the leftover (SIGTERM, SIGKILL after 3 s). Meanwhile
    // `b` makes its own child take the number `a`'s main process had.
    std::fs::write(
        work.path().join("a.sh"),
        format!("setsid sh -c 'trap \"\" TERM; exec sleep 1000' &\necho $$ > {w}/a.pid\n"),
    )
    .expect("a.sh");
    std::fs::write(
        work.path().join("b.sh"),
        format!(
            "while [ ! -s {w}/a.pid ]; do sleep 0.05; done
sleep 0.5
X=$(cat {w}/a.pid)
echo $((X-1)) > /proc/sys/kernel/ns_last_pid
sleep 1000 & S=$!
echo stranger $S for $X
sleep 5
if kill -0 $S; then echo stranger-alive; else echo stranger-dead; fi
kill $S
"
        ),
    )
    .expect("b.sh");
    let config = format!(
        "jobs:
  a: {{exec: ['sh', '{w}/a.sh'], type: oneshot, stop_timeout: 3s}}
  b: {{exec: ['sh', '{w}/b.sh'], type: oneshot}}
"
    );
    let wrap: Vec<OsString> = ["unshare", "--pid", "--fork", "--mount-proc", "--"]
        .into_iter()
        .map(OsString::from)
        .collect();
    let mut d = Daemon::start_wrapped(&config, &wrap, &[]);
    d.ok(&["run-now", "b"]);
    d.ok(&["run-now", "a"]);
    let line = d.wait_for("]: stranger ");
    let words: Vec<&str> = line.split_whitespace().collect();
    let n = words.len();
    assert_eq!(
        words[n - 3],
        words[n - 1],
        "the stranger did not get the number: {line}"
    );
    let verdict = d.wait_for("]: stranger-");
    assert!(verdict.ends_with("stranger-alive"), "{verdict}");
}

#[test]
fn a_job_removed_and_re_added_does_not_share_its_old_runs_cgroup() {
    let Some(cg) = crate::helper::cgroup::Delegated::create("readd") else {
        return;
    };
    let job = "jobs:
  w:
    exec: ['sh', '-c', 'trap \"\" TERM; echo up; while :; do sleep 1; done']
    stop_timeout: 1s
";
    let mut d = Daemon::start_in_cgroup(job, &cg.dir);
    d.wait_for("]: up");
    let old = d.status("w")["invocation"]
        .as_str()
        .expect("a running invocation")
        .to_owned();
    d.write_config("jobs: {}\n");
    d.ok(&["reload"]);
    d.write_config(job);
    d.ok(&["reload"]);
    d.wait_for_nth("]: up", 2);
    let pid = d.status("w")["pid"].clone();
    // The old run is SIGKILLed a second after the first reload; its
    // `finished` line ends with its invocation.
    d.wait_for(&format!("(invocation {old})"));
    let s = d.status("w");
    assert_eq!(s["state"], "running", "{s}");
    assert_eq!(s["pid"], pid, "the new run was killed with the old: {s}");
}

#[test]
fn a_hung_journald_holds_up_no_job_and_loses_no_line() {
    let Some(j) = Journald::start("hung") else {
        return;
    };
    let mut d = Daemon::start_env(
        "jobs:\n  flood: {exec: ['seq', '100000'], type: oneshot}\n",
        &[("JOBD_LOG_NAMESPACE", &j.ns), ("JOBD_MIRROR_OUTPUT", "0")],
    );
    send(j.pid(), "STOP");
    let t0 = Instant::now();
    d.ok(&["run-now", "flood", "--wait"]);
    let took = t0.elapsed();
    let rss = rss_kib(d.pid());
    // A line of the daemon's own that journald will not take either: it
    // is on stderr once, never twice.
    d.ok(&["reload"]);
    send(j.pid(), "CONT");
    assert!(took < Duration::from_secs(8), "the job took {took:?}");
    assert!(rss < 64 * 1024, "daemon RSS {rss} KiB");
    // Back to the journal.
    d.ok(&["run-now", "flood", "--wait"]);
    let inv2 = d.status("flood")["last_run"]["invocation"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(within(Duration::from_secs(20), || {
        j.entries(&[
            &format!("JOBD_INVOCATION={inv2}"),
            "SYSLOG_IDENTIFIER=flood",
        ])
        .len()
            == 100_000
    }));
    // The first run: every line once, journal and file together, in order.
    let inv1 = d.history("flood")[1]["invocation"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let out = d.ok(&["logs", "flood", "--invocation", &inv1]);
    let numbers: Vec<u64> = out
        .lines()
        .filter(|l| l.contains("flood["))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 100_000, "lines in journal and file");
    assert!(
        numbers.iter().enumerate().all(|(k, &n)| n == k as u64 + 1),
        "out of order"
    );
    assert!(d.status("flood")["log_to_file"].as_u64().unwrap_or(0) > 0);
    // The daemon's entries go out in order: once run 2's `started` is in
    // the journal, the reload's entry has been dealt with; a second
    // reload's line then comes after anything the first one printed.
    assert!(within(Duration::from_secs(20), || {
        !j.entries(&["SYSLOG_IDENTIFIER=jobd", &format!("JOBD_INVOCATION={inv2}")])
            .is_empty()
    }));
    d.signal("HUP");
    d.wait_for("reloaded on SIGHUP");
    let reloads = d.log.iter().filter(|l| l.contains("reloaded")).count();
    assert_eq!(reloads, 2, "{}", d.log.join("\n"));
}

#[test]
fn journalds_rate_limit_suppresses_nothing() {
    let Some(j) = Journald::start_with(
        "ratelimit",
        "RateLimitBurst=400\nRateLimitIntervalSec=1min\n",
    ) else {
        return;
    };
    let d = Daemon::start_env(
        "jobs:\n  loud: {exec: ['seq', '5000'], type: oneshot}\n",
        &[("JOBD_LOG_NAMESPACE", &j.ns), ("JOBD_MIRROR_OUTPUT", "0")],
    );
    d.ok(&["run-now", "loud", "--wait"]);
    let inv = d.status("loud")["last_run"]["invocation"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let finished = || {
        j.entries(&[
            "SYSLOG_IDENTIFIER=jobd",
            &format!("JOBD_INVOCATION={inv}"),
            "MESSAGE_ID=e33ddc80151c7732c44c65bc7b4c9ceb",
        ])
    };
    assert!(
        within(Duration::from_secs(10), || finished().len() == 1),
        "the finished entry is not in the journal"
    );
    let in_journal = j
        .entries(&[&format!("JOBD_INVOCATION={inv}"), "SYSLOG_IDENTIFIER=loud"])
        .len();
    assert!(in_journal <= 200, "{in_journal} lines sent past the limit");
    let note = j.entries(&[
        &format!("JOBD_INVOCATION={inv}"),
        "MESSAGE_ID=5b0a3c7e91d24f6c8e2d7a41c9f05b13",
    ]);
    let to_file: usize = note
        .iter()
        .filter_map(|e| e["JOBD_TO_FILE"].as_str()?.parse::<usize>().ok())
        .sum();
    assert_eq!(in_journal + to_file, 5000, "{note:?}");
    let out = d.ok(&["logs", "loud"]);
    let numbers: Vec<u64> = out
        .lines()
        .filter(|l| l.contains("loud["))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(numbers, (1..=5000).collect::<Vec<u64>>());
    assert_eq!(
        d.status("loud")["log_to_file"].as_u64(),
        Some(to_file as u64)
    );
}

#[test]
fn the_daemons_first_and_last_lines_reach_the_journal() {
    let Some(j) = Journald::start("firstlast") else {
        return;
    };
    let d = Daemon::start_env("jobs: {}\n", &[("JOBD_LOG_NAMESPACE", &j.ns)]);
    let pid = d.pid();
    d.stop();
    let lines: Vec<String> = j
        .entries(&["SYSLOG_IDENTIFIER=jobd", &format!("_PID={pid}")])
        .iter()
        .filter_map(|e| e["MESSAGE"].as_str().map(str::to_owned))
        .collect();
    // Logged before the journal was opened: how jobs are contained.
    assert!(
        lines.first().is_some_and(|l| l.contains("cgroup")),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("jobd stopped"),
        "{lines:?}"
    );
}
