//! Supervision with real processes: restart policies against real exits,
//! signals and timeouts, back-off on the clock, the start limit, whole
//! process trees (double forks, `setsid`) ended without strays or zombies
//! in both containment modes, and an `inotifywait` watcher end to end.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::helper::cgroup::Delegated;
use crate::helper::daemon::{Daemon, alive};

fn now_ns() -> i128 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i128::try_from(d.as_nanos()).expect("fits")
}

/// Lines of a file of `date +%s%N` stamps, in ns.
fn stamps(path: &Path) -> Vec<i128> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("a stamp"))
        .collect()
}

fn ms(ns: i128) -> f64 {
    ns as f64 / 1e6
}

fn kill9(pid: u32) {
    crate::helper::daemon::send(pid, "KILL");
}

/// The pids `status --json` lists for a run, in its order (main first).
fn run_pids(status: &serde_json::Value) -> Vec<u32> {
    status["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| u32::try_from(p["pid"].as_u64().expect("pid")).expect("pid"))
        .collect()
}

fn pid_of(d: &Daemon, name: &str) -> u32 {
    let v = d.job(name)["pid"]
        .as_u64()
        .expect("a running job has a pid");
    u32::try_from(v).expect("pid")
}

#[test]
fn killed_daemon_is_back_within_restart_sec() {
    let mut d = Daemon::start(
        "jobs:
  srv:
    exec: ['sh', '-c', 'date +%s%N >> starts; echo up; exec sleep 1000']
    restart: always
    restart_sec: 200ms
",
    );
    d.wait_for("]: up");
    let old = pid_of(&d, "srv");
    let killed = now_ns();
    kill9(old);
    d.wait_for("srv: restarting in 200ms (restart 1)");
    d.wait_for_nth("]: up", 2);
    let back = stamps(&d.path("starts"))[1];
    let gap = ms(back - killed);
    assert!(
        (200.0..250.0).contains(&gap),
        "back {gap:.1} ms after SIGKILL (restart_sec 200ms + 50 ms allowed)"
    );
    let job = d.job("srv");
    assert_eq!(job["state"], "running");
    assert_eq!(job["restarts"], 1);
    assert_ne!(pid_of(&d, "srv"), old);
    assert_eq!(job["last_result"], "signal");
    assert_eq!(job["exit_status"], "SIGKILL");
    let h = d.history("srv");
    assert_eq!(h[0]["trigger"], "restart");
    // Stopped by hand: never restarted, whatever the policy says.
    let pid = pid_of(&d, "srv");
    d.ok(&["stop", "srv"]);
    assert!(!alive(pid));
    let job = d.job("srv");
    assert_eq!(job["state"], "stopped");
    assert!(job["pid"].is_null());
    assert_eq!(job["restarts"], 1);
    assert!(
        !d.log.iter().any(|l| l.contains("(restart 2)")),
        "{}",
        d.log.join("\n")
    );
}

#[test]
fn each_policy_against_each_way_of_ending() {
    // (name, how the first run ends, extra keys)
    let outcomes = [
        ("clean", "exit 0", ""),
        ("code", "exit 1", ""),
        ("kill", "kill -KILL $$$$", ""),
        ("timeout", "exec sleep 1000", "\n    timeout: 300ms"),
    ];
    let policies = ["no", "on-success", "on-failure", "on-abnormal", "always"];
    // systemd.service(5)'s table, row per outcome, column per policy.
    let want = [
        [false, true, false, false, true],
        [false, false, true, false, true],
        [false, false, true, true, true],
        [false, false, true, true, true],
    ];
    let mut config = String::from("jobs:\n");
    for (o, how, extra) in outcomes {
        for p in policies {
            // The first run ends as the row says; a restarted run marks
            // itself and stays up.
            config.push_str(&format!(
                "  {o}-{p}:
    exec: ['sh', '-c', 'if [ -e ran-{o}-{p} ]; then echo again > again-{o}-{p}; exec sleep 1000; fi; touch ran-{o}-{p}; {how}']
    type: simple
    restart: {p}{extra}
"
            ));
        }
    }
    let mut d = Daemon::start(&config);
    // Every first run ends (the timeouts last 300 ms).
    d.wait_for_nth(": finished", 20);
    for (row, (o, _, _)) in outcomes.iter().enumerate() {
        for (col, p) in policies.iter().enumerate() {
            let name = format!("{o}-{p}");
            if want[row][col] {
                d.wait_for(&format!("{name}: started (pid"));
                d.wait_for_nth(&format!("{name}: started (pid"), 2);
            } else {
                // Decided at the exit: a restart would show as
                // `restarting` (or `running`) now.
                let job = d.job(&name);
                assert!(
                    job["state"] == "idle" || job["state"] == "failed",
                    "{name} should not restart: {job}"
                );
                assert_eq!(job["restarts"], 0, "{name}: {job}");
            }
        }
    }
    for (row, (o, _, _)) in outcomes.iter().enumerate() {
        for (col, p) in policies.iter().enumerate() {
            let name = format!("{o}-{p}");
            if want[row][col] {
                let job = d.job(&name);
                assert!(job["restarts"].as_u64() >= Some(1), "{name}: {job}");
                assert_eq!(
                    d.history(&name).last().expect("a first run")["result"],
                    ["success", "exit-code", "signal", "timeout"][row],
                    "{name}"
                );
            } else {
                assert!(!d.path(&format!("again-{name}")).exists(), "{name}");
            }
        }
    }
}

#[test]
fn failed_oneshot_is_retried() {
    let mut d = Daemon::start(
        "jobs:
  flaky:
    exec: ['sh', '-c', 'if [ -e tried ]; then exit 0; fi; touch tried; exit 2']
    type: oneshot
    restart: on-failure
    restart_sec: 50ms
",
    );
    d.ok(&["run-now", "flaky"]);
    d.wait_for("flaky: restarting in 50ms (restart 1)");
    d.wait_for("flaky: finished: result success");
    let h = d.history("flaky");
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[1]["result"], "exit-code");
    assert_eq!(h[0]["result"], "success");
    assert_eq!(h[0]["trigger"], "restart");
    let job = d.job("flaky");
    assert_eq!(job["state"], "idle");
    assert_eq!(job["restarts"], 1);
}

#[test]
fn backoff_doubles_caps_and_resets_after_a_stable_run() {
    // Starts stamp `starts`, exits stamp `ends`. The sixth run stays up
    // 1 s (longer than restart_max_sec) before failing.
    let mut d = Daemon::start(
        "jobs:
  crash:
    exec: ['sh', '-c', 'date +%s%N >> starts; n=$(wc -l < starts); if [ $n -eq 6 ]; then sleep 1; fi; date +%s%N >> ends; exit 1']
    restart: always
    restart_sec: 100ms
    restart_max_sec: 800ms
    start_limit_burst: 0
",
    );
    // Seven runs have written both stamps.
    d.wait_for_nth("crash: finished", 7);
    d.ok(&["stop", "crash"]);
    let starts = stamps(&d.path("starts"));
    let ends = stamps(&d.path("ends"));
    assert!(starts.len() >= 7 && ends.len() >= 6, "{starts:?} {ends:?}");
    let want = [100.0, 200.0, 400.0, 800.0, 800.0, 100.0];
    for (k, w) in want.iter().enumerate() {
        // Delay = next start − this run's end (sh and date take a few ms
        // on either side, counted against the allowance).
        let got = ms(starts[k + 1] - ends[k]);
        assert!(
            *w - 5.0 <= got && got <= w + 60.0,
            "restart {}: waited {got:.1} ms, expected {w} ms; gaps so far: {:?}",
            k + 1,
            (0..=k)
                .map(|j| format!("{:.0}", ms(starts[j + 1] - ends[j])))
                .collect::<Vec<_>>()
        );
    }
    // The log names the delays and counts the restarts.
    for line in [
        "crash: restarting in 100ms (restart 1)",
        "crash: restarting in 200ms (restart 2)",
        "crash: restarting in 400ms (restart 3)",
        "crash: restarting in 800ms (restart 4)",
        "crash: restarting in 800ms (restart 5)",
        "crash: restarting in 100ms (restart 6)",
    ] {
        d.wait_for(line);
    }
}

#[test]
fn start_limit_fails_a_crash_loop_and_start_revives_it() {
    let mut d = Daemon::start(
        "jobs:
  loop:
    exec: ['sh', '-c', 'if [ -e crash ]; then exit 1; fi; echo up; exec sleep 1000']
    restart: on-failure
    restart_sec: 10ms
",
    );
    // Not crashing at first: make it crash from now on.
    d.wait_for("]: up");
    std::fs::write(d.path("crash"), "").expect("crash flag");
    kill9(pid_of(&d, "loop"));
    d.wait_for("loop: start limit hit (5 starts within 10s)");
    let job = d.job("loop");
    assert_eq!(job["state"], "failed");
    assert_eq!(job["restarts"], 4);
    assert_eq!(d.history("loop").len(), 5);
    let status = d.status("loop");
    assert_eq!(status["start_limit_hit"], true);
    let text = d.ok(&["status", "loop"]);
    assert!(
        text.contains("State: failed (start limit hit; `jobd start loop` to try again)"),
        "{text}"
    );
    // No restart is pending: the job stays failed until started by hand.
    assert!(d.job("loop")["pid"].is_null());
    std::fs::remove_file(d.path("crash")).expect("remove flag");
    d.ok(&["start", "loop"]);
    let job = d.job("loop");
    assert_eq!(job["state"], "running");
    assert_eq!(job["restarts"], 0);
}

#[test]
fn on_failure_fires_once_per_failure_streak() {
    let mut d = Daemon::start(
        "jobs:
  crasher:
    exec: sh -c 'exit 3'
    restart: always
    restart_sec: 10ms
    on_failure: [report]
  report:
    exec: ['sh', '-c', 'echo \"$JOBD_FAILED_JOB $JOBD_RESULT\" >> report']
    type: oneshot
    on_calendar: yearly
",
    );
    d.wait_for("crasher: start limit hit");
    d.wait_for("report: finished");
    let report = std::fs::read_to_string(d.path("report")).expect("report ran");
    assert_eq!(report, "crasher exit-code\n", "five failures, one streak");
    // A start by hand opens a new streak: reported again, once.
    d.ok(&["start", "crasher"]);
    d.wait_for_nth("crasher: start limit hit", 2);
    d.wait_for_nth("report: finished", 2);
    let report = std::fs::read_to_string(d.path("report")).expect("report ran");
    assert_eq!(report, "crasher exit-code\ncrasher exit-code\n");
    let h = d.history("report");
    assert!(h.iter().all(|r| r["trigger"] == "on-failure"), "{h:?}");
}

/// A job whose main process has a child in its group, a child that left
/// the group (`setsid`), and a double-forked grandchild re-parented to the
/// daemon. Each prints `member PID` (forwarded by the daemon) and execs
/// into `sleep`. (`$$$$` is the shell's `$$`: jobd turns `$$` into `$`.)
const TREE: &str = "jobs:
  tree:
    exec: ['sh', '-c', 'echo member $$$$; sh -c \"echo member \\$\\$; exec sleep 1001\" & setsid sh -c \"echo member \\$\\$; exec sleep 1002\" & (setsid sh -c \"echo member \\$\\$; exec sleep 1003\" &); exec sleep 1000']
    stop_timeout: 2s
";

/// The pids of the tree's four processes, main first.
fn tree_pids(d: &mut Daemon) -> Vec<u32> {
    d.wait_for("tree: started");
    let main = pid_of(d, "tree");
    // Lines of this run only: they carry its main pid.
    let tag = format!("tree[{main}]: member ");
    d.wait_for_nth(&tag, 4);
    let mut pids: Vec<u32> = d
        .log
        .iter()
        .filter_map(|l| l.split_once(&tag)?.1.trim().parse().ok())
        .collect();
    pids.sort_by_key(|&p| p != main);
    assert_eq!(pids.len(), 4, "{pids:?}\n{}", d.log.join("\n"));
    assert_eq!(pids[0], main);
    pids
}

/// Neither running nor a zombie: the pid is gone from /proc.
fn assert_gone(pids: &[u32], when: &str) {
    for p in pids {
        assert!(
            !Path::new(&format!("/proc/{p}")).exists(),
            "{when}: process {p} is left ({})",
            if alive(*p) { "running" } else { "zombie" }
        );
    }
}

fn no_strays(start: impl Fn(&str) -> Daemon, mode: &str) {
    // 1. `jobd stop` returns once every process of the run is gone.
    let mut d = start(TREE);
    let pids = tree_pids(&mut d);
    let status = d.status("tree");
    assert_eq!(status["containment"], mode);
    let listed = run_pids(&status);
    for p in &pids {
        assert!(listed.contains(p), "{p} not in {listed:?}");
    }
    assert_eq!(listed[0], pids[0], "main process first");
    assert!(status["memory_bytes"].as_u64() > Some(0));
    d.ok(&["stop", "tree"]);
    assert_gone(&pids, "after stop");
    assert_eq!(d.job("tree")["state"], "stopped");

    // 2. The main process crashes: the rest is ended too.
    d.log.clear();
    d.ok(&["start", "tree"]);
    let pids = tree_pids(&mut d);
    let status = d.status("tree");
    let invocation = status["invocation"]
        .as_str()
        .expect("invocation")
        .to_owned();
    kill9(pids[0]);
    d.wait_for(&format!("tree: the rest of run {invocation} has ended"));
    assert_gone(&pids, "after the main process crashed");

    // 3. The daemon shuts down: nothing is left behind.
    d.log.clear();
    d.ok(&["start", "tree"]);
    let pids = tree_pids(&mut d);
    let _ = d.stop();
    assert_gone(&pids, "after daemon shutdown");
}

#[test]
fn no_stray_and_no_zombie_with_process_groups() {
    no_strays(Daemon::start, "process-group");
}

#[test]
fn no_stray_and_no_zombie_with_cgroups() {
    let Some(cg) = Delegated::create("no_strays") else {
        return;
    };
    no_strays(|c| Daemon::start_in_cgroup(c, &cg.dir), "cgroup");
    // The daemon moved itself into a leaf; each job had its own cgroup.
    assert!(cg.dir.join("daemon").is_dir());
}

#[test]
fn nice_and_io_class_are_the_jobs_and_its_childrens() {
    let mut d = Daemon::start(
        "jobs:\n  batch:\n    exec: ['sh', '-c', 'sleep 1000 & echo up; exec sleep 1001']\n    nice: 10\n    io_class: idle\n  normal:\n    exec: ['sh', '-c', 'echo up; exec sleep 1002']\n    io_class: best-effort\n    io_priority: 6\n",
    );
    d.wait_for_nth("]: up", 2);
    let nice_of = |pid: u32| -> i64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        let rest = stat.rsplit_once(')').expect("comm").1;
        // Field 19 of proc(5); the first after the command is field 3.
        rest.split_whitespace()
            .nth(16)
            .expect("nice")
            .parse()
            .expect("number")
    };
    let ionice = |pid: u32| -> String {
        let out = std::process::Command::new("ionice")
            .arg("-p")
            .arg(pid.to_string())
            .output()
            .expect("ionice (util-linux)");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let batch = run_pids(&d.status("batch"));
    assert_eq!(batch.len(), 2, "{batch:?}");
    for &p in &batch {
        assert_eq!(nice_of(p), 10, "process {p}");
        assert_eq!(ionice(p), "idle", "process {p}");
    }
    for p in run_pids(&d.status("normal")) {
        assert_eq!(nice_of(p), 0);
        assert_eq!(ionice(p), "best-effort: prio 6");
    }
}

#[test]
fn at_shutdown_every_finished_comes_before_jobd_stopped() {
    // The setsid child keeps the run's pipes open until it is killed, so
    // the run's output ends only after its processes are gone.
    let config: String = (0..5).fold("jobs:\n".into(), |c, k| {
        c + &format!(
            "  w{k}:\n    exec: ['sh', '-c', 'setsid sleep 1000 & echo up; exec sleep 1001']\n    stop_timeout: 1s\n"
        )
    });
    let mut d = Daemon::start(&config);
    d.wait_for_nth("]: up", 5);
    d.signal("TERM");
    // Lines are read in order: what is read up to `jobd stopped` came
    // before it.
    d.wait_for("jobd stopped");
    let finished = d.log.iter().filter(|l| l.contains(": finished:")).count();
    assert_eq!(finished, 5, "{}", d.log.join("\n"));
    assert!(d.wait_exit().success());
}

/// The run cgroups under the delegated subtree `dir`.
fn run_cgroups(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the subtree")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".job"))
        .collect()
}

#[test]
fn runs_a_killed_daemon_left_are_ended_by_the_next_one() {
    let Some(cg) = Delegated::create("leftovers") else {
        return;
    };
    let mut d = Daemon::start_in_cgroup(
        "jobs:\n  w:\n    exec: ['sh', '-c', 'setsid sleep 1000 & echo up; exec sleep 1001']\n",
        &cg.dir,
    );
    d.wait_for("]: up");
    let pids = run_pids(&d.status("w"));
    assert_eq!(pids.len(), 2, "{pids:?}");
    let old = run_cgroups(&cg.dir);
    assert_eq!(old.len(), 1, "{old:?}");
    let dir = d.kill9();
    assert!(
        pids.iter().all(|&p| alive(p)),
        "SIGKILL to jobd leaves its run"
    );
    // The next daemon on the subtree ends that run before it starts any.
    let mut d = Daemon::start_in_with_cgroup(dir, &cg.dir);
    d.wait_for(&format!(
        "killed what a previous jobd left running in 1 run cgroup(s): {}",
        old[0]
    ));
    for p in &pids {
        assert!(!alive(*p), "process {p} of the old run is left");
    }
    d.wait_for("]: up");
    let now = run_cgroups(&cg.dir);
    assert_eq!(now.len(), 1, "only the new run's cgroup: {now:?}");
    assert_ne!(now, old);
}

#[test]
fn cgroup_status_names_the_cgroup_and_reads_its_figures() {
    let Some(cg) = Delegated::create("status") else {
        return;
    };
    let mut d = Daemon::start_in_cgroup(
        "jobs:\n  w:\n    exec: ['sh', '-c', 'sleep 1000 & echo up; exec sleep 1001']\n",
        &cg.dir,
    );
    // After `up` both processes exist: the background sleep and the shell
    // (soon the second sleep).
    d.wait_for("]: up");
    // One cgroup per run: `w.<first 12 hex digits of the invocation>.job`.
    let inv = d.status("w")["invocation"].as_str().map(str::to_owned);
    let dir = std::fs::read_dir(&cg.dir)
        .expect("the subtree")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("w.") && n.ends_with(".job")
            })
        })
        .expect("the run's cgroup");
    if let Some(inv) = inv {
        assert!(
            dir.to_string_lossy().contains(&inv[..12]),
            "{}",
            dir.display()
        );
    }
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).expect("the run's cgroup");
    assert_eq!(procs.lines().count(), 2, "{procs}");
    let text = d.ok(&["status", "w"]);
    assert!(
        text.contains(&format!("CGroup: {}", dir.display())),
        "{text}"
    );
    assert!(text.contains("Tasks: 2"), "{text}");
    d.ok(&["stop", "w"]);
    assert!(!dir.exists(), "the run's cgroup is removed when it ends");
}

#[test]
fn job_ignoring_sigterm_is_killed_after_stop_timeout() {
    let mut d = Daemon::start(
        "jobs:
  stubborn:
    exec: ['sh', '-c', 'trap \"\" TERM; exec sleep 1000']
    stop_timeout: 400ms
",
    );
    d.wait_for("stubborn: started");
    let pid = pid_of(&d, "stubborn");
    let t = Instant::now();
    d.ok(&["stop", "stubborn"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "stop took {took:?}"
    );
    d.wait_for("stubborn: processes still there 400ms after the stop signal; sending SIGKILL");
    assert_gone(&[pid], "after SIGKILL");
    let h = d.history("stubborn");
    assert_eq!(h[0]["result"], "timeout", "systemd's result for it");
    assert_eq!(h[0]["exit_status"], "SIGKILL");
}

const WATCHER: &str = r#"#!/bin/bash
# watchintake, in the shape of the seed: a supervisor-friendly script that
# owns an `inotifywait -m` child and copies each file dropped in $1 to $2.
in=$1 out=$2
coproc inotifywait -m -e close_write -e moved_to --format '%f' "$in"
while read -r f <&"${COPROC[0]}"; do
    cp -- "$in/$f" "$out/$f" && echo "copied $f"
done
echo "inotifywait ended" >&2
exit 1
"#;

#[test]
fn inotify_watcher_is_supervised_end_to_end() {
    if which("inotifywait").is_none() || which("bash").is_none() {
        assert!(
            std::env::var_os("JOBD_REQUIRE_INOTIFY").is_none(),
            "JOBD_REQUIRE_INOTIFY is set but inotifywait (inotify-tools) is missing"
        );
        eprintln!("inotify_watcher: skipped: install inotify-tools");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("watch.sh"), WATCHER).expect("script");
    std::fs::create_dir(dir.path().join("intake")).expect("intake");
    std::fs::create_dir(dir.path().join("out")).expect("out");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        "jobs:
  watchintake:
    exec: ['bash', '~/watch.sh', '~/intake', '~/out']
    restart: on-failure
    restart_sec: 100ms
",
    )
    .expect("config");
    let mut d = Daemon::start_in(dir);
    d.wait_for("Watches established.");
    std::fs::write(d.path("intake/a.mkv"), "first").expect("drop a");
    d.wait_for("copied a.mkv");
    assert_eq!(
        std::fs::read_to_string(d.path("out/a.mkv")).expect("a"),
        "first"
    );
    // Kill the watcher's inotifywait: the script fails and is restarted.
    let status = d.status("watchintake");
    let procs = status["processes"].as_array().expect("processes").clone();
    let inotify = procs
        .iter()
        .find(|p| {
            p["cmdline"]
                .as_str()
                .is_some_and(|c| c.starts_with("inotifywait"))
        })
        .unwrap_or_else(|| panic!("no inotifywait in {procs:?}"));
    let first: Vec<u32> = procs
        .iter()
        .map(|p| u32::try_from(p["pid"].as_u64().expect("pid")).expect("pid"))
        .collect();
    kill9(u32::try_from(inotify["pid"].as_u64().expect("pid")).expect("pid"));
    d.wait_for("inotifywait ended");
    d.wait_for("watchintake: finished: result exit-code, status=1");
    d.wait_for("watchintake: restarting in 100ms (restart 1)");
    d.wait_for_nth("Watches established.", 2);
    std::fs::write(d.path("intake/b.mkv"), "second").expect("drop b");
    d.wait_for("copied b.mkv");
    assert_eq!(
        std::fs::read_to_string(d.path("out/b.mkv")).expect("b"),
        "second"
    );
    assert_eq!(d.job("watchintake")["restarts"], 1);
    assert_gone(&first, "the first watcher after its crash");
    let status = d.status("watchintake");
    let second = run_pids(&status);
    assert!(second.len() >= 2, "{status}");
    d.ok(&["stop", "watchintake"]);
    assert_gone(&second, "after stop");
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(cmd))
        .find(|p| p.is_file())
}

#[test]
fn on_failure_cycle_of_jobs_that_cannot_start_ends() {
    let mut d = Daemon::start(
        "jobs:
  a:
    exec: /nonexistent/a
    type: oneshot
    on_failure: [b]
  b:
    exec: /nonexistent/b
    type: oneshot
    on_failure: [a]
",
    );
    let out = d.jobd(&["run-now", "a"]);
    assert!(!out.status.success() || !out.stdout.is_empty(), "{out:?}");
    d.wait_for("b: on_failure jobs not started: b itself was started by on_failure");
    // Still serving, both failed once each.
    assert_eq!(d.history("a").len(), 1);
    assert_eq!(d.history("b").len(), 1);
    assert_eq!(d.job("b")["last_result"], "start-failed");
}

#[test]
fn shutdown_starts_no_on_failure_job() {
    let mut d = Daemon::start(
        "jobs:
  stubborn:
    exec: ['sh', '-c', 'trap \"\" TERM; echo up; exec sleep 1000']
    stop_timeout: 200ms
    on_failure: [report]
  report:
    exec: ['sh', '-c', 'touch reported']
    type: oneshot
    on_calendar: yearly
",
    );
    d.wait_for("]: up");
    d.signal("TERM");
    assert!(d.wait_exit().success());
    // The SIGKILLed run failed (`timeout`), but nothing starts any more.
    assert!(
        d.log
            .iter()
            .any(|l| l.contains("report: not started: jobd is shutting down")),
        "{}",
        d.log.join("\n")
    );
    assert!(!d.path("reported").exists());
}
