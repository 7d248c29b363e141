//! Resource controls through the run's cgroup, and inhibitors: applied
//! where the machine can, said where it cannot, the job run either way.

use std::path::Path;
use std::time::Duration;

use crate::helper::cgroup::Delegated;
use crate::helper::daemon::{Daemon, with_config};

/// A delegated cgroup whose subtree offers `controllers`, or `None` with
/// the reason printed (this machine's cgroup2 may have them bound to v1).
fn delegated_with(test: &str, controllers: &[&str]) -> Option<Delegated> {
    let cg = Delegated::create(test)?;
    let offered = std::fs::read_to_string(cg.dir.join("cgroup.controllers")).unwrap_or_default();
    let missing: Vec<&&str> = controllers
        .iter()
        .filter(|c| !offered.split_whitespace().any(|o| o == **c))
        .collect();
    if missing.is_empty() {
        return Some(cg);
    }
    assert!(
        std::env::var_os("JOBD_REQUIRE_CGROUP_CONTROLLERS").is_none(),
        "{test}: JOBD_REQUIRE_CGROUP_CONTROLLERS is set but cgroup2 offers only {offered:?}"
    );
    eprintln!(
        "{test}: skipped: this machine's cgroup2 offers {:?}, not {missing:?} (bound to cgroup v1 here)",
        offered.trim()
    );
    None
}

#[test]
fn memory_max_ends_a_greedy_run_with_oom_kill() {
    let Some(cg) = delegated_with("memory_max", &["memory"]) else {
        return;
    };
    let mut d = Daemon::start_in_cgroup(
        "jobs:
  greedy:
    # tail keeps the whole newline-less input in memory.
    exec: ['sh', '-c', 'head -c 256M /dev/zero | tail -c 1 > /dev/null']
    memory_max: 32M
",
        &cg.dir,
    );
    let out = d.jobd(&["run-now", "greedy", "--wait"]);
    assert!(!out.status.success());
    d.wait_for("greedy: finished: result oom-kill");
    let job = d.job("greedy");
    assert_eq!(job["last_result"], "oom-kill", "{job}");
}

#[test]
fn pids_max_and_cpu_weight_are_the_run_cgroups() {
    let Some(cg) = delegated_with("pids_max", &["pids", "cpu"]) else {
        return;
    };
    let mut d = Daemon::start_in_cgroup(
        "jobs:
  forky:
    exec: ['sh', '-c', 'cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/pids.max; cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/cpu.weight; for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait']
    pids_max: 4
    cpu_weight: 20
",
        &cg.dir,
    );
    d.ok(&["run-now", "forky"]);
    d.wait_for("forky: finished");
    let log = d.log.join("\n");
    assert!(log.contains("forky[") && log.contains("]: 4"), "{log}");
    assert!(log.contains("]: 20"), "{log}");
    // The kernel refused the forks past 4 tasks.
    assert!(
        log.contains("fork") || log.contains("Resource temporarily unavailable"),
        "{log}"
    );
}

#[test]
fn controls_that_cannot_be_applied_are_said_and_the_job_runs() {
    // Process-group mode: no cgroup at all.
    let mut d = Daemon::start(
        "jobs:
  batch:
    exec: 'true'
    memory_max: 1G
    cpu_weight: 10
    nice: 5
",
    );
    let warn = d.wait_for("batch: runs without");
    assert!(
        warn.contains("memory_max: 1G") && warn.contains("cpu_weight: 10"),
        "{warn}"
    );
    assert!(warn.contains("no delegated cgroup"), "{warn}");
    d.ok(&["run-now", "batch", "--wait"]);
    let status = d.ok(&["status", "batch"]);
    assert!(status.contains("nice: 5 (applied)"), "{status}");
    assert!(
        status.contains("memory_max: 1G (not applied: jobd has no delegated cgroup"),
        "{status}"
    );
    let json = d.status("batch");
    let controls = json["controls"].as_array().expect("controls");
    assert_eq!(controls.len(), 3, "{json}");
    assert_eq!(controls[0]["control"], "nice: 5");
    assert_eq!(controls[0]["applied"], true);
    assert_eq!(controls[1]["control"], "cpu_weight: 10");
    assert_eq!(controls[1]["applied"], false);
    assert!(
        controls[1]["why_not"]
            .as_str()
            .is_some_and(|w| w.contains("no delegated cgroup")),
        "{json}"
    );
}

/// The inhibitor helper: started with the run, with logind's words for
/// what, who and why, and gone when the run ends. A stand-in
/// `systemd-inhibit` records its arguments: there is no logind here.
#[test]
fn inhibit_holds_a_helper_for_the_runs_length() {
    let dir = with_config("");
    let fifo = dir.path().join("fifo");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "jobs:\n  index:\n    exec: ['sh', '-c', 'echo running; read x < \"$0\"', '{}']\n    inhibit: [sleep, idle]\n",
            fifo.display()
        ),
    )
    .expect("config");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let record = dir.path().join("inhibit.args");
    let fake = bin.join("systemd-inhibit");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {}.tmp; echo $$ >> {}.tmp; mv {}.tmp {}\nexec sleep infinity\n",
            record.display(),
            record.display(),
            record.display(),
            record.display()
        ),
    )
    .expect("fake");
    let mut perms = std::fs::metadata(&fake).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).expect("chmod");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success())
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut d = Daemon::start_in_env(dir, &[("PATH", &path)]);
    d.ok(&["run-now", "index"]);
    d.wait_for("index[");
    let args = within(Duration::from_secs(5), || {
        std::fs::read_to_string(&record).ok()
    });
    let lines: Vec<&str> = args.lines().collect();
    assert_eq!(
        &lines[..6],
        [
            "--what=sleep:idle",
            "--who=jobd",
            "--why=index is running",
            "--mode=block",
            "sleep",
            "infinity"
        ],
        "{args}"
    );
    let helper: u32 = lines[6].parse().expect("pid");
    assert!(
        crate::helper::daemon::alive(helper),
        "held while the run goes"
    );
    let status = d.ok(&["status", "index"]);
    assert!(
        status.contains("inhibit: sleep, idle (applied)"),
        "{status}"
    );
    // The run ends: the helper goes.
    std::fs::write(&fifo, "go\n").expect("fifo");
    d.wait_for("index: finished: result success");
    within(Duration::from_secs(5), || {
        (!crate::helper::daemon::alive(helper)).then_some(())
    });
}

/// Without logind, the run goes on and says why it holds nothing.
#[test]
fn inhibit_without_logind_warns_and_runs() {
    let has_logind = std::process::Command::new("systemd-inhibit")
        .arg("--list")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_logind || !Path::new("/usr/bin/systemd-inhibit").exists() {
        eprintln!(
            "inhibit_without_logind: skipped: logind runs here, or systemd-inhibit is missing"
        );
        return;
    }
    let mut d = Daemon::start("jobs:\n  index:\n    exec: sleep 0.5\n    inhibit: [sleep]\n");
    d.ok(&["run-now", "index"]);
    let warn = d.wait_for("index: no inhibitor for this run");
    assert!(warn.contains("systemd-inhibit ended"), "{warn}");
    d.wait_for("index: finished: result success");
    let status = d.ok(&["status", "index"]);
    assert!(
        status.contains("inhibit: sleep (not applied: the last run's systemd-inhibit said"),
        "{status}"
    );
}

/// Polls `f` until it gives a value (bounded).
fn within<T>(limit: Duration, f: impl Fn() -> Option<T>) -> T {
    let until = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < until, "not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
