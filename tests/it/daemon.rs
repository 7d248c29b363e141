//! The daemon as users drive it: a real `jobd daemon` process per test in
//! its own directory, controlled only through the CLI (and, for protocol
//! abuse, the raw socket).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::helper::daemon::{Daemon, alive, cli};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn calendar_job_fires_on_even_seconds() {
    let mut d = Daemon::start(
        "jobs:\n  even:\n    exec: ['sh', '-c', 'date +%s.%N >> stamps']\n    on_calendar: '*:*:0/2'\n",
    );
    d.wait_for("even: finished");
    d.wait_for_nth("even: finished", 2);
    let stamps = std::fs::read_to_string(d.path("stamps")).expect("stamps");
    let stamps: Vec<f64> = stamps
        .lines()
        .map(|l| l.parse().expect("a timestamp"))
        .collect();
    assert!(stamps.len() >= 2, "{stamps:?}");
    for s in &stamps {
        let whole = s.trunc() as i64;
        assert_eq!(whole % 2, 0, "fired at {s}, not on an even second");
        assert!(s.fract() < 0.5, "fired {:.3} s late", s.fract());
    }
    let job = d.job("even");
    assert_eq!(job["type"], "oneshot");
    assert_eq!(job["last_result"], "success");
    assert_eq!(job["schedule"], serde_json::json!(["*:*:0/2"]));
    let next = job["next_run"].as_str().expect("next_run");
    assert!(next.ends_with("+00:00"), "{next}");
    let history = d.history("even");
    assert!(
        history.iter().all(|r| r["trigger"] == "calendar"),
        "{history:?}"
    );
}

#[test]
fn run_now_wait_reports_every_result() {
    let d = Daemon::start(
        "jobs:
  ok:
    exec: ['true']
  code:
    exec: sh -c 'exit 3'
  sig:
    exec: sh -c 'kill -USR1 $$'
  slow:
    exec: sleep 30
    timeout: 300ms
    stop_timeout: 2s
  stubborn:
    exec: ['sh', '-c', 'trap \"\" TERM; sleep 30 & wait; sleep 30']
    timeout: 200ms
    stop_timeout: 300ms
  missing:
    exec: /nonexistent/jobd-test-binary
  baddir:
    exec: ['true']
    working_directory: /nonexistent/dir
  noperm:
    exec: ./not-executable
    working_directory: ~/
",
    );
    std::fs::write(d.path("not-executable"), "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(
        d.path("not-executable"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let cases = [
        ("ok", 0, "result success, status 0"),
        ("code", 1, "result exit-code, status 3"),
        ("sig", 1, "result signal, status SIGUSR1"),
        ("slow", 1, "result timeout, status SIGTERM"),
        ("stubborn", 1, "result timeout, status SIGKILL"),
        (
            "missing",
            1,
            "result start-failed (executable \"/nonexistent/jobd-test-binary\" not found",
        ),
        (
            "baddir",
            1,
            "result start-failed (working directory /nonexistent/dir",
        ),
        (
            "noperm",
            1,
            "result start-failed (permission denied executing \"./not-executable\"",
        ),
    ];
    for (job, code, want) in cases {
        let out = d.jobd(&["run-now", job, "--wait"]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{job}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stdout(&out).contains(want),
            "{job}: want {want:?} in:\n{}",
            stdout(&out)
        );
    }
    let list = d.list();
    let by_name = |n: &str| {
        list.iter()
            .find(|j| j["name"] == n)
            .cloned()
            .expect("listed")
    };
    assert_eq!(by_name("code")["exit_status"], 3);
    assert_eq!(by_name("code")["last_result"], "exit-code");
    assert_eq!(by_name("code")["state"], "failed");
    assert_eq!(by_name("sig")["exit_status"], "SIGUSR1");
    assert_eq!(by_name("slow")["last_result"], "timeout");
    assert_eq!(by_name("missing")["last_result"], "start-failed");
    assert_eq!(by_name("ok")["state"], "idle");
    let h = d.history("missing");
    assert_eq!(h[0]["result"], "start-failed");
    assert_eq!(h[0]["trigger"], "manual");
    // The stubborn job's group got SIGKILL too: no sleep survives it.
    let status: serde_json::Value = d.status("stubborn");
    assert!(
        status["processes"].as_array().is_some_and(Vec::is_empty),
        "{status}"
    );
}

#[test]
fn run_now_prints_started_and_refuses_a_second_start() {
    let d = Daemon::start("jobs:\n  long:\n    exec: sleep 30\n");
    // No schedule key: a `simple` job, started with the daemon.
    let out = d.jobd(&["run-now", "long"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("long is already running (pid "),
        "{}",
        stdout(&out)
    );
    let stopped = d.ok(&["stop", "long"]);
    assert!(stopped.contains("Stopped long"), "{stopped}");
    assert_eq!(d.job("long")["state"], "stopped");
    assert_eq!(d.job("long")["next_run"], serde_json::Value::Null);
    let out = d.ok(&["run-now", "long"]);
    assert!(out.starts_with("Started long (pid "), "{out}");
    assert!(out.contains(", invocation "), "{out}");
    let inv = out
        .trim_end()
        .trim_end_matches(')')
        .rsplit(' ')
        .next()
        .expect("invocation");
    assert_eq!(inv.len(), 32);
    assert!(
        inv.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // Unknown job: usage error, exit 2, with a suggestion.
    let out = d.jobd(&["status", "lnog"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "jobd: unknown job `lnog`; did you mean `long`? (see `jobd list`)\n"
    );
}

#[test]
fn overlapping_elapse_is_skipped_and_logged() {
    let mut d = Daemon::start(
        "jobs:\n  busy:\n    exec: ['sh', '-c', 'date +%s.%N >> starts; sleep 2.5']\n    on_calendar: '*:*:*'\n",
    );
    d.wait_for("busy: elapse of");
    let line = d.wait_for("skipped: the previous run");
    assert!(line.contains("is still going"), "{line}");
    d.wait_for("busy: finished");
    let starts: Vec<f64> = std::fs::read_to_string(d.path("starts"))
        .expect("starts")
        .lines()
        .map(|l| l.parse().expect("stamp"))
        .collect();
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= 2.4, "runs overlapped: {starts:?}");
    }
}

#[test]
fn persistent_job_catches_up_after_a_restart() {
    // One elapse, a few seconds from now, that falls while jobd is down.
    const SEC: i64 = 1_000_000;
    let at_usec = (jobd::tzdb::now_usec() / SEC + 3) * SEC;
    // `Wed 2026-11-25 14:00:05 UTC`: systemd's timestamp form is also a
    // valid calendar expression.
    let at = jobd::calendar::timestamp::format_utc(at_usec);
    let config = format!(
        "jobs:\n  p:\n    exec: ['true']\n    on_calendar: '{at}'\n    persistent: true\n  np:\n    exec: ['true']\n    on_calendar: '{at}'\n"
    );
    let d = Daemon::start(&config);
    d.ok(&["run-now", "p", "--wait"]);
    d.ok(&["run-now", "np", "--wait"]);
    let dir = d.stop();
    // Time must pass here: the elapse has to fall while no daemon runs.
    let left = at_usec + SEC / 5 - jobd::tzdb::now_usec();
    assert!(
        left > SEC / 5,
        "the elapse passed while the first daemon ran"
    );
    std::thread::sleep(Duration::from_micros(left.unsigned_abs()));
    let mut d = Daemon::start_in(dir);
    d.wait_for("p: finished");
    let p = d.history("p");
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0]["trigger"], "persistent");
    let np = d.history("np");
    assert_eq!(np.len(), 1, "np must not catch up: {np:?}");
    assert_eq!(np[0]["trigger"], "manual");
    assert_eq!(
        d.job("p")["next_run"],
        serde_json::Value::Null,
        "the one elapse is past"
    );
}

#[test]
fn reload_adds_removes_changes_and_keeps_the_old_config_on_error() {
    let mut d = Daemon::start(
        "jobs:\n  a:\n    exec: sleep 30\n  b:\n    exec: ['true']\n    on_calendar: daily\n",
    );
    d.wait_for("a: started");
    d.write_config(
        "jobs:\n  b:\n    exec: ['true']\n    on_calendar: hourly\n  c:\n    exec: sleep 30\n",
    );
    let out = d.ok(&["reload"]);
    assert_eq!(out, "added: c\nremoved: a\nchanged: b\n");
    d.wait_for("a: finished");
    d.wait_for("c: started");
    let names: Vec<String> = d
        .list()
        .iter()
        .map(|j| j["name"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(d.job("b")["schedule"], serde_json::json!(["hourly"]));
    // A broken file: refused with its location, the running config kept.
    d.write_config(
        "jobs:\n  b:\n    exec: ['true']\n    on_calendar: hourly\n  c:\n    exce: sleep 30\n",
    );
    let out = d.jobd(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("jobd.yaml:6:5: unknown job key `exce`; did you mean `exec`?"),
        "{err}"
    );
    assert!(
        err.starts_with("jobd: reload refused; the running config is kept:\n"),
        "{err}"
    );
    assert_eq!(
        err.matches("unknown job key").count(),
        1,
        "each error once: {err}"
    );
    assert_eq!(d.job("c")["state"], "running");
    // SIGHUP reloads as well.
    d.write_config("jobs:\n  b:\n    exec: ['true']\n    on_calendar: hourly\n");
    d.signal("HUP");
    d.wait_for("reloaded on SIGHUP: removed c");
    d.wait_for("c: finished");
    assert_eq!(d.list().len(), 1);
    // Removing an idle job shifts the others: a changed job after it must
    // still be found.
    d.write_config("jobs:\n  x:\n    exec: ['true']\n    on_calendar: daily\n  b:\n    exec: ['true']\n    on_calendar: hourly\n");
    assert_eq!(d.ok(&["reload"]), "added: x\n");
    d.write_config("jobs:\n  b:\n    exec: ['true']\n    on_calendar: weekly\n");
    assert_eq!(d.ok(&["reload"]), "removed: x\nchanged: b\n");
    assert_eq!(d.job("b")["schedule"], serde_json::json!(["weekly"]));
}

#[test]
fn state_survives_kill_9_and_the_socket_is_taken_over() {
    let d = Daemon::start("jobs:\n  j:\n    exec: sh -c 'exit 7'\n    type: oneshot\n");
    let out = d.jobd(&["run-now", "j", "--wait"]);
    assert_eq!(out.status.code(), Some(1));
    let before = d.history("j");
    let dir = d.kill9();
    assert!(
        dir.path().join("run/jobd.sock").exists(),
        "the killed daemon leaves its socket"
    );
    let d = Daemon::start_in(dir);
    assert_eq!(d.history("j"), before);
    let j = d.job("j");
    assert_eq!(j["last_result"], "exit-code");
    assert_eq!(j["exit_status"], 7);
    assert!(
        j["last_start"].is_string() && j["last_exit"].is_string(),
        "{j}"
    );
}

#[test]
fn a_second_daemon_on_the_same_socket_refuses_to_start() {
    let d = Daemon::start("jobs: {}\n");
    let out = cli(d.dir.path()).arg("daemon").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "another jobd daemon (pid {}) is already using the state directory",
            d.pid()
        )),
        "{err}"
    );
    // The first one still serves.
    assert!(d.list().is_empty());
}

#[test]
fn socket_is_private_and_other_users_are_refused() {
    let d = Daemon::start("jobs: {}\n");
    let sock = d.socket();
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&sock), 0o600);
    assert_eq!(mode(sock.parent().expect("dir")), 0o700);
    if !is_root() {
        eprintln!(
            "socket_is_private_and_other_users_are_refused: SKIPPED the other-uid half (not root)"
        );
        return;
    }
    // Open the modes up so only SO_PEERCRED stands in the way, then
    // connect as nobody with a copy of jobd nobody may run.
    std::fs::set_permissions(
        sock.parent().expect("dir"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let bin_dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let bin = bin_dir.path().join("jobd");
    std::fs::copy(env!("CARGO_BIN_EXE_jobd"), &bin).expect("copy jobd");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .arg("--socket")
        .arg(&sock)
        .arg("list")
        .output()
        .expect("run setpriv (util-linux)");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("permission denied: uid 65534 may not control"),
        "{}",
        stderr(&out)
    );
    assert!(d.list().is_empty(), "the daemon keeps serving its owner");
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn garbage_and_oversized_requests_get_errors_and_the_daemon_keeps_serving() {
    let d = Daemon::start("jobs:\n  a:\n    exec: ['true']\n    on_calendar: daily\n");
    let stream = UnixStream::connect(d.socket()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut w = stream;
    let mut ask = |line: &[u8]| -> serde_json::Value {
        w.write_all(line).expect("write");
        let mut reply = String::new();
        reader.read_line(&mut reply).expect("read reply");
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?}: {e}"))
    };
    let r = ask(b"this is not json\n");
    assert_eq!(r["err"]["code"], "bad-request", "{r}");
    let r = ask(b"{\"v\":1,\"req\":{\"cmd\":\"explode\"}}\n");
    assert_eq!(r["err"]["code"], "bad-request", "{r}");
    let r = ask(b"{\"v\":2,\"req\":{\"cmd\":\"list\"}}\n");
    assert_eq!(r["err"]["code"], "version", "{r}");
    let r = ask(b"\xff\xfe\x00\n");
    assert_eq!(r["err"]["code"], "bad-request", "{r}");
    // The same connection still works after bad lines.
    let r = ask(b"{\"v\":1,\"req\":{\"cmd\":\"list\"}}\n");
    assert_eq!(r["ok"][0]["name"], "a", "{r}");
    // 1 MiB without a newline: refused, connection closed.
    let mut big = UnixStream::connect(d.socket()).expect("connect");
    big.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = big.write_all(&vec![b'x'; 1 << 20]);
    let mut reply = String::new();
    let _ = big.read_to_string(&mut reply);
    let r: serde_json::Value = serde_json::from_str(reply.trim()).expect("one JSON reply");
    assert_eq!(r["err"]["code"], "too-large", "{r}");
    assert_eq!(d.list().len(), 1);
}

#[test]
fn sigterm_stops_every_job_and_leaves_no_process_behind() {
    let mut d = Daemon::start(
        "jobs:
  tree:
    exec: ['sh', '-c', 'sleep 300 & sleep 300 & wait']
  deaf:
    exec: ['sh', '-c', 'trap \"\" TERM; sleep 300 & wait; sleep 300']
    stop_timeout: 500ms
  once:
    exec: sleep 300
    on_calendar: yearly
",
    );
    d.ok(&["run-now", "once"]);
    let mut pids = Vec::new();
    for job in ["tree", "deaf", "once"] {
        let s: serde_json::Value = d.status(job);
        let procs = s["processes"].as_array().expect("processes").clone();
        assert!(!procs.is_empty(), "{job} is running: {s}");
        pids.extend(procs.iter().filter_map(|p| p["pid"].as_u64()));
    }
    // The shells' sleeps are up when the tree shows them.
    assert!(pids.len() >= 6, "{pids:?}");
    d.signal("TERM");
    let status = d.wait_exit();
    assert!(status.success(), "{status:?}");
    for pid in pids {
        let pid = u32::try_from(pid).expect("pid");
        assert!(!alive(pid), "pid {pid} survived the daemon");
    }
    assert!(d.log.iter().any(|l| l.contains("jobd stopped")));
}

#[test]
fn client_without_daemon_says_so_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(dir.path()).arg("list").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "jobd: daemon not running at {}",
            dir.path().join("run/jobd.sock").display()
        )),
        "{err}"
    );
}

#[test]
fn on_active_repeats_after_each_start_and_disabled_jobs_wait() {
    let mut d = Daemon::start(
        "jobs:\n  rep:\n    exec: ['true']\n    on_active: 500ms\n    on_startup: 100ms\n  off:\n    exec: ['true']\n    on_calendar: '*:*:*'\n    enabled: false\n",
    );
    d.wait_for_nth("rep: finished", 3);
    let h = d.history("rep");
    assert_eq!(h.last().expect("runs")["trigger"], "startup");
    assert_eq!(h[0]["trigger"], "active");
    let off = d.job("off");
    assert_eq!(off["next_run"], serde_json::Value::Null);
    assert_eq!(off["enabled"], false);
    assert!(d.history("off").is_empty());
    d.ok(&["run-now", "off", "--wait"]);
    assert_eq!(d.history("off").len(), 1);
}

#[test]
fn on_failure_jobs_get_the_failed_job_and_result() {
    let mut d = Daemon::start(
        "jobs:\n  bad:\n    exec: sh -c 'exit 4'\n    type: oneshot\n    on_failure: [report]\n  report:\n    exec: ['sh', '-c', 'echo \"$JOBD_FAILED_JOB $JOBD_RESULT\" > report']\n    type: oneshot\n    on_calendar: yearly\n",
    );
    d.jobd(&["run-now", "bad", "--wait"]);
    d.wait_for("report: finished");
    assert_eq!(
        std::fs::read_to_string(d.path("report")).expect("report"),
        "bad exit-code\n"
    );
    assert_eq!(d.history("report")[0]["trigger"], "on-failure");
}

#[test]
fn list_table_uses_systemd_times() {
    let d =
        Daemon::start("jobs:\n  nightly:\n    exec: ['true']\n    on_calendar: '*-*-* 04:00:00'\n");
    d.ok(&["run-now", "nightly", "--wait"]);
    let out = d.ok(&["list"]);
    let mut lines = out.lines();
    let header = lines.next().expect("header");
    assert!(header.starts_with("NAME     TYPE     STATE  NEXT"), "{out}");
    let row = lines.next().expect("row");
    assert!(row.starts_with("nightly  oneshot  idle   "), "{out}");
    assert!(row.contains(" 04:00:00 UTC  "), "{out}");
    assert!(row.contains(" left  "), "{out}");
    assert!(row.ends_with(" ago  success"), "{out}");
    assert!(out.ends_with("\n1 jobs listed.\n"), "{out}");
}

#[test]
fn sd_notify_ready_reloading_stopping() {
    let mut d = Daemon::start("jobs: {}\n");
    // READY=1 was awaited by the helper; a reload is bracketed.
    d.ok(&["reload"]);
    let reloading = d.next_notification();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading:?}"
    );
    assert_eq!(d.next_notification(), "READY=1\n");
    // A refused reload also ends with READY=1.
    d.write_config("jobs: [\n");
    assert_eq!(d.jobd(&["reload"]).status.code(), Some(1));
    assert!(d.next_notification().starts_with("RELOADING=1"));
    assert_eq!(d.next_notification(), "READY=1\n");
    d.signal("TERM");
    assert_eq!(d.next_notification(), "STOPPING=1\n");
    assert!(d.wait_exit().success());
}

#[test]
fn a_clock_step_is_noticed_and_schedules_replanned() {
    if !is_root() {
        eprintln!(
            "a_clock_step_is_noticed_and_schedules_replanned: SKIPPED (setting the clock needs root)"
        );
        return;
    }
    let mut d =
        Daemon::start("jobs:\n  nightly:\n    exec: ['true']\n    on_calendar: '*-*-* 04:00:00'\n");
    let before = d.job("nightly")["next_run"].clone();
    // Set the clock to what it reads: a step of a few microseconds, which
    // the kernel reports to every cancel-on-set timer all the same.
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    rustix::time::clock_settime(rustix::time::ClockId::Realtime, now)
        .expect("clock_settime as root");
    d.wait_for("the system clock changed");
    assert_eq!(d.job("nightly")["next_run"], before);
    assert!(d.list().len() == 1, "the daemon keeps serving");
}

#[test]
fn randomized_delay_spreads_each_elapse() {
    let mut d = Daemon::start(
        "jobs:\n  r:\n    exec: ['sh', '-c', 'date +%s.%N >> stamps']\n    on_calendar: '*:*:0/2'\n    randomized_delay: 1500ms\n",
    );
    d.wait_for_nth("r: finished", 3);
    let stamps: Vec<f64> = std::fs::read_to_string(d.path("stamps"))
        .expect("stamps")
        .lines()
        .map(|l| l.parse().expect("stamp"))
        .collect();
    // Each run lies within [elapse, elapse + 1.5 s] of an even second…
    let offsets: Vec<f64> = stamps.iter().map(|s| s - (s / 2.0).floor() * 2.0).collect();
    assert!(offsets.iter().all(|o| *o < 1.6), "{offsets:?}");
    // …and three draws all under 50 ms would have odds of 1 in 27,000.
    assert!(offsets.iter().any(|o| *o > 0.05), "{offsets:?}");
}

#[test]
fn commands_are_found_in_path_even_when_installed_or_moved_later() {
    let d = Daemon::start("jobs: {}\n");
    let home = d.dir.path().display().to_string();
    d.write_config(&format!(
        "jobs:\n  late:\n    exec: jobd-test-late\n    type: oneshot\n    environment:\n      PATH: {home}/a:{home}/b:/usr/bin:/bin\n"
    ));
    d.ok(&["reload"]);
    let out = d.jobd(&["run-now", "late", "--wait"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("result start-failed (executable \"jobd-test-late\" not found"),
        "{}",
        stdout(&out)
    );
    let install = |dir: &str| {
        std::fs::create_dir_all(d.path(dir)).expect("mkdir");
        let f = d.path(&format!("{dir}/jobd-test-late"));
        std::fs::write(&f, format!("#!/bin/sh\necho {dir} > where\n")).expect("write");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    // Installed after the daemon read its config: found without a reload.
    install("b");
    d.ok(&["run-now", "late", "--wait"]);
    assert_eq!(
        std::fs::read_to_string(d.path("where")).expect("where"),
        "b\n"
    );
    // Found at load, then moved to another PATH entry: found there.
    d.ok(&["reload"]);
    std::fs::remove_file(d.path("b/jobd-test-late")).expect("rm");
    install("a");
    d.ok(&["run-now", "late", "--wait"]);
    assert_eq!(
        std::fs::read_to_string(d.path("where")).expect("where"),
        "a\n"
    );
}

#[test]
fn status_shows_the_last_ten_lines() {
    let mut d = Daemon::start(
        "jobs:\n  talk:\n    description: Count to twelve.\n    exec: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $i; done']\n    type: oneshot\n",
    );
    d.ok(&["run-now", "talk", "--wait"]);
    d.wait_for("]: line 12");
    let out = d.ok(&["status", "talk"]);
    assert!(out.starts_with("○ talk - Count to twelve.\n"), "{out}");
    assert!(out.contains("   Last run: "), "{out}");
    assert!(
        out.contains("; result success (status 0); trigger manual"),
        "{out}"
    );
    let log: Vec<&str> = out.lines().filter(|l| l.starts_with("talk[")).collect();
    assert_eq!(log.len(), 10, "{out}");
    assert!(!out.contains("]: line 2\n"), "{out}");
    assert!(out.contains("]: line 12\n"), "{out}");
}

#[test]
fn stop_start_and_restart() {
    let mut d = Daemon::start(
        "jobs:\n  srv:\n    exec: sleep 300\n  tick:\n    exec: ['true']\n    on_calendar: hourly\n",
    );
    let first = d.job("srv")["pid"].clone();
    assert!(first.is_u64(), "{first}");
    let out = d.ok(&["restart", "srv"]);
    assert!(out.starts_with("Restarting srv"), "{out}");
    d.wait_for_nth("srv: started", 2);
    let second = d.job("srv")["pid"].clone();
    assert!(second.is_u64() && second != first, "{first} -> {second}");
    assert_eq!(d.job("srv")["state"], "running");
    // A stopped scheduled job has no next run; start runs it and brings
    // the schedule back.
    d.ok(&["stop", "tick"]);
    assert_eq!(d.job("tick")["state"], "stopped");
    assert!(d.job("tick")["next_run"].is_null());
    let out = d.ok(&["start", "tick"]);
    assert!(out.starts_with("Started tick (pid "), "{out}");
    d.wait_for("tick: finished");
    let tick = d.job("tick");
    assert!(tick["next_run"].is_string(), "{tick}");
    assert_eq!(tick["last_result"], "success");
    assert_eq!(d.history("tick")[0]["trigger"], "manual");
}
