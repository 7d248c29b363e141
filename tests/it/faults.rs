//! What breaks other daemons, done to jobd: `kill -9` in the middle of
//! runs, restarts and reloads; a thousand clients at once and clients that
//! stall half-way; a job that forks 500 children; a job that closes its
//! output and keeps running; a job flooding 100 MB while another's lines
//! must still get through; a full state directory.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::helper::daemon::{Daemon, alive, cli};

/// Each line of the state log parses (a torn last line is the one
/// allowed exception: the next daemon cuts it off).
fn state_lines(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("state/runs.jsonl")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (k, l) in lines.iter().enumerate() {
        match serde_json::from_str(l) {
            Ok(v) => out.push(v),
            Err(e) => assert!(
                k + 1 == lines.len() && !text.ends_with('\n'),
                "state line {} does not parse ({e}): {l}",
                k + 1
            ),
        }
    }
    out
}

#[test]
fn kill_9_in_the_middle_of_everything_loses_nothing_and_runs_nothing_twice() {
    let config = "jobs:
  tick:
    exec: ['sh', '-c', 'echo $$JOBD_INVOCATION >> ticks']
    on_calendar: '*:*:*'
  crash:
    exec: sh -c 'exit 1'
    restart: always
    restart_sec: 20ms
    start_limit_burst: 0
  slow:
    exec: sleep 0.3
    on_calendar: '*:*:*'
";
    let mut dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobd.yaml"), config).expect("config");
    // A varying moment each round (where time must pass, it is bounded).
    for round in 0..6u64 {
        let mut d = Daemon::start_in(dir);
        d.wait_for("tick: started");
        if round % 2 == 1 {
            d.signal("HUP");
        }
        std::thread::sleep(Duration::from_millis(150 + 173 * round % 700));
        dir = d.kill9();
        state_lines(dir.path());
    }
    // A new daemon reads it all back.
    let d = Daemon::start_in(dir);
    let history = d.history("tick");
    assert!(history.len() >= 6, "{history:?}");
    // One run per elapse: no two calendar runs in the same second.
    let mut seconds: Vec<i64> = history
        .iter()
        .filter(|r| r["trigger"] == "calendar")
        .map(|r| r["start_usec"].as_i64().expect("start") / 1_000_000)
        .collect();
    let n = seconds.len();
    seconds.sort_unstable();
    seconds.dedup();
    assert_eq!(seconds.len(), n, "an elapse ran twice");
    // Every run that reported a start left one line.
    let ticks = std::fs::read_to_string(d.path("ticks")).unwrap_or_default();
    for inv in ticks.lines() {
        assert_eq!(
            ticks.lines().filter(|l| *l == inv).count(),
            1,
            "{inv} twice"
        );
    }
}

/// Raises this process's open-file limit as far as allowed (the daemon
/// inherits it); how many clients fit.
fn more_files() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    l.current = Some(l.maximum.map_or(4096, |m| m.min(4096)));
    let _ = setrlimit(Resource::Nofile, l);
    let now = getrlimit(Resource::Nofile).current.unwrap_or(1024);
    usize::try_from(now)
        .unwrap_or(1024)
        .saturating_sub(200)
        // With the 50 stalled ones, a thousand: below the daemon's cap.
        .min(950)
}

#[test]
fn a_thousand_clients_and_stalled_ones_are_all_served() {
    let n = more_files();
    assert!(n >= 800, "only {n} files may be open here");
    let d = Daemon::start("jobs:\n  a:\n    exec: ['true']\n    type: oneshot\n");
    // Clients that send half a request and stall.
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut s = UnixStream::connect(d.socket()).expect("connect");
        s.write_all(b"{\"v\":1,\"req\":{\"cmd\":\"li")
            .expect("write");
        stalled.push(s);
    }
    // A thousand connected at once, then all asking, then all reading.
    let t0 = Instant::now();
    let mut clients: Vec<UnixStream> = (0..n)
        .map(|_| UnixStream::connect(d.socket()).expect("connect"))
        .collect();
    for c in &mut clients {
        c.write_all(b"{\"v\":1,\"req\":{\"cmd\":\"list\"}}\n")
            .expect("write");
    }
    for c in clients {
        c.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut line = String::new();
        BufReader::new(c).read_line(&mut line).expect("a reply");
        assert!(line.contains("\"ok\"") && line.contains("\"a\""), "{line}");
    }
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(20), "1000 clients took {took:?}");
    // The stalled ones are still open and the daemon still answers.
    assert_eq!(d.list().len(), 1);
    drop(stalled);
    assert_eq!(d.list().len(), 1);
}

#[test]
fn random_bytes_truncated_json_and_10_mib_requests() {
    let d = Daemon::start("jobs:\n  a:\n    exec: ['true']\n    type: oneshot\n");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20 {
        let mut junk = Vec::new();
        for _ in 0..512 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push(seed as u8);
        }
        junk.push(b'\n');
        let mut s = UnixStream::connect(d.socket()).expect("connect");
        let _ = s.write_all(&junk);
        drop(s);
    }
    // Truncated JSON, then the connection closed.
    for cut in [1, 7, 15, 25] {
        let mut s = UnixStream::connect(d.socket()).expect("connect");
        let _ = s.write_all(&b"{\"v\":1,\"req\":{\"cmd\":\"run-now\",\"name\":\"a\"}}"[..cut]);
    }
    // 10 MiB without a newline: refused as too large, connection closed.
    let mut s = UnixStream::connect(d.socket()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let big = vec![b'x'; 10 << 20];
    let _ = s.write_all(&big);
    let mut reply = String::new();
    let _ = BufReader::new(&s).read_line(&mut reply);
    assert!(reply.contains("too-large"), "{reply}");
    // Nothing of it ran a job or stopped the daemon.
    assert_eq!(d.list().len(), 1);
    assert!(d.history("a").is_empty());
}

#[test]
fn a_job_forking_500_children_is_stopped_whole() {
    let mut d = Daemon::start(
        "jobs:
  forky:
    exec: ['sh', '-c', 'i=0; while [ $$i -lt 500 ]; do sleep 1000 & i=$$((i+1)); done; echo forked; wait']
    stop_timeout: 5s
",
    );
    d.wait_for("]: forked");
    let status = d.status("forky");
    let pids: Vec<u32> = status["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| u32::try_from(p["pid"].as_u64().expect("pid")).expect("pid"))
        .collect();
    assert_eq!(pids.len(), 501, "the shell and its 500 children");
    let t = Instant::now();
    d.ok(&["stop", "forky"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    for p in pids {
        assert!(!Path::new(&format!("/proc/{p}")).exists(), "{p} left");
    }
}

#[test]
fn a_job_that_closes_its_output_keeps_running() {
    let mut d = Daemon::start(
        "jobs:
  quiet:
    exec: ['sh', '-c', 'echo bye; exec >&- 2>&-; exec sleep 1000']
",
    );
    d.wait_for("]: bye");
    let pid = u32::try_from(d.job("quiet")["pid"].as_u64().expect("pid")).expect("pid");
    // Its pipes are closed; it is still running, and still a job.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.starts_with("sleep"))
    {
        assert!(Instant::now() < deadline, "never became sleep");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(d.job("quiet")["state"], "running");
    assert!(!d.log.iter().any(|l| l.contains("quiet: finished")));
    d.ok(&["stop", "quiet"]);
    d.wait_for("quiet: finished");
    assert!(!alive(pid));
}

#[test]
fn a_100_mb_flood_does_not_hold_up_another_jobs_lines() {
    let mut d = Daemon::start_env(
        "jobs:
  flood:
    exec: ['sh', '-c', 'head -c 100000000 /dev/zero | tr \"\\\\0\" x | fold -w 99']
    type: oneshot
  steady:
    exec: ['sh', '-c', 'for i in 1 2 3 4 5; do echo steady $$i; sleep 0.05; done']
    type: oneshot
",
        // Not through the test's stderr: 100 MB of it.
        &[("JOBD_MIRROR_OUTPUT", "0")],
    );
    d.ok(&["run-now", "flood"]);
    let t0 = Instant::now();
    d.ok(&["run-now", "steady"]);
    d.wait_for("steady: finished");
    let steady = t0.elapsed();
    let out = d.ok(&["logs", "steady"]);
    for i in 1..=5 {
        assert!(out.contains(&format!("]: steady {i}")), "{out}");
    }
    // The steady job's five lines took about their own 0.25 s, not the
    // flood's time.
    assert!(steady < Duration::from_secs(5), "{steady:?}");
    d.wait_for("flood: finished");
    assert!(d.path("state/logs/flood.log").exists());
}

#[test]
fn a_full_state_directory_is_reported_and_survived() {
    let Some((dir, state, _tmpfs)) = crate::helper::tmpfs::small_state(
        "full_state_directory",
        "256k",
        "jobs:\n  j:\n    exec: ['sh', '-c', 'echo hello']\n    type: oneshot\n",
    ) else {
        return;
    };
    let mut d = Daemon::start_in(dir);
    let filler = crate::helper::tmpfs::fill(&state);
    for _ in 0..3 {
        d.ok(&["run-now", "j", "--wait"]);
    }
    d.wait_for("cannot record in the state store");
    // Still serving, still running jobs.
    assert_eq!(d.job("j")["state"], "idle");
    let out = cli(d.dir.path())
        .args(["run-now", "j", "--wait"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    // Space again: what was held is written within a second, with nothing
    // else happening; the failure was said once.
    std::fs::remove_file(&filler).expect("rm");
    d.wait_for("has taken every record it held");
    let said = d
        .log
        .iter()
        .filter(|l| l.contains("cannot record in the state store"))
        .count();
    assert_eq!(said, 1, "{}", d.log.join("\n"));
    // A new daemon reads back all four runs.
    let d = Daemon::start_in(d.stop());
    assert_eq!(d.history("j").len(), 4);
}

#[test]
fn output_waits_for_a_full_disk_and_is_written_once_when_there_is_room() {
    let Some((dir, state, _tmpfs)) = crate::helper::tmpfs::small_state(
        "output_waits_for_a_full_disk",
        "1m",
        "jobs:\n  j:\n    exec: ['seq', '3000']\n    type: oneshot\n",
    ) else {
        return;
    };
    let mut d = Daemon::start_in(dir);
    // No journal here: job lines go to the job's file, on a disk filled
    // to the last byte.
    let filler = crate::helper::tmpfs::fill(&state);
    d.ok(&["run-now", "j"]);
    d.wait_for(
        "cannot write the log of j: No space left on device (os error 28); its output waits",
    );
    // The daemon goes on serving meanwhile.
    assert_eq!(d.job("j")["name"], "j");
    std::fs::remove_file(&filler).expect("free space");
    d.wait_for("the log of j is written again");
    d.wait_for("j: finished");
    let out = d.ok(&["logs", "j", "-n", "10000"]);
    let got: Vec<u32> = out
        .lines()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    assert_eq!(got, (1..=3000).collect::<Vec<u32>>(), "{out}");
}

#[test]
fn a_disk_that_stays_full_drops_and_counts_lines_after_ten_seconds() {
    let Some((dir, state, _tmpfs)) = crate::helper::tmpfs::small_state(
        "a_disk_that_stays_full",
        "4m",
        "jobs:\n  j:\n    exec: ['seq', '20000']\n    type: oneshot\n",
    ) else {
        return;
    };
    // 40,000 job lines on the test's stderr would crowd out the daemon's.
    let mut d = Daemon::start_in_env(dir, &[("JOBD_MIRROR_OUTPUT", "0")]);
    let filler = crate::helper::tmpfs::fill(&state);
    let t0 = Instant::now();
    d.ok(&["run-now", "j"]);
    // The job waits for ten seconds, then goes on without its file.
    d.wait_for("cannot write the log of j for 10s: No space left on device (os error 28); its lines are dropped");
    assert!(t0.elapsed() >= Duration::from_secs(10));
    d.wait_for("j: finished: result success");
    std::fs::remove_file(&filler).expect("free space");
    d.ok(&["run-now", "j"]);
    d.wait_for("the log of j is written again; 20000 line(s) were dropped while it could not be");
    d.wait_for_nth("j: finished: result success", 2);
    let out = d.ok(&["logs", "j", "-n", "100000"]);
    let got: Vec<u32> = out
        .lines()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .collect();
    assert!(
        got.len() == 20000 && got.iter().zip(1..).all(|(&a, b)| a == b),
        "the second run, whole: {} lines, first {:?}, last {:?}",
        got.len(),
        got.first(),
        got.last()
    );
}

#[test]
fn exec_failures_of_every_kind_are_start_failed_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    let exe = |name: &str, body: &[u8]| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::write(p.join(name), body).expect("write");
        std::fs::set_permissions(p.join(name), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    };
    exe("garbage", b"\x00\x01\x02 not a program\n");
    exe("badinterp", b"#!/nonexistent/interpreter\n");
    std::os::unix::fs::symlink("/nonexistent/target", p.join("dangling")).expect("symlink");
    std::fs::create_dir(p.join("adir")).expect("mkdir");
    std::fs::write(
        p.join("jobd.yaml"),
        "jobs:
  garbage: {exec: ./garbage, working_directory: '~', type: oneshot}
  badinterp: {exec: ./badinterp, working_directory: '~', type: oneshot}
  dangling: {exec: ./dangling, working_directory: '~', type: oneshot}
  adir: {exec: ./adir, working_directory: '~', type: oneshot}
  nopath: {exec: no-such-command-jobd, type: oneshot, environment: {PATH: /nonexistent}}
",
    )
    .expect("config");
    let d = Daemon::start_in(dir);
    for job in ["garbage", "badinterp", "dangling", "adir", "nopath"] {
        let out = d.jobd(&["run-now", job, "--wait"]);
        assert_eq!(out.status.code(), Some(1), "{job}: {out:?}");
        let h = d.history(job);
        assert_eq!(h[0]["result"], "start-failed", "{job}: {h:?}");
        let reason = h[0]["reason"].as_str().unwrap_or_default();
        assert!(!reason.is_empty(), "{job}: no reason");
    }
    assert_eq!(d.list().len(), 5);
}

#[test]
fn mangled_config_files_are_refused_on_reload_and_the_daemon_keeps_its_own() {
    let good = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/jobd.yaml"))
        .expect("example config");
    let d = Daemon::start(&good);
    let before = d.list().len();
    let bytes = good.as_bytes();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for _ in 0..40 {
        // A few deletions, duplications and byte flips at random places.
        let mut m = bytes.to_vec();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % m.len().max(1);
            match next() % 3 {
                0 => {
                    m.remove(at);
                }
                1 => {
                    let b = m[at];
                    m.insert(at, b);
                }
                _ => m[at] = b" :-[]{}#'\"\n\t\xff"[(next() % 13) as usize],
            }
        }
        d.write_config(&String::from_utf8_lossy(&m));
        let out = d.jobd(&["reload"]);
        if !out.status.success() {
            refused += 1;
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.lines().all(|l| !l.trim().is_empty()), "{err}");
        }
        // Whatever the file, the daemon answers.
        assert!(!d.list().is_empty() || before == 0);
    }
    assert!(refused > 0, "no mangled file was refused?");
    // Back to the good file: accepted.
    d.write_config(&good);
    d.ok(&["reload"]);
    assert_eq!(d.list().len(), before);
}
