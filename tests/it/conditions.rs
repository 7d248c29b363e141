//! `wait_for`, `max_wait` and `max_concurrent` against real kernel
//! objects: a private network namespace with a veth pair, a private mount
//! namespace with a tmpfs, files that appear later, a daemon downtime.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::helper::daemon::{Daemon, with_config};

/// Root, and `unshare` with the namespaces; otherwise the reason.
fn namespaces(test: &str) -> bool {
    let ok = rustix::process::geteuid().is_root()
        && Command::new("unshare")
            .args(["-n", "-m", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("JOBD_REQUIRE_NAMESPACES").is_none(),
            "{test}: JOBD_REQUIRE_NAMESPACES is set but namespaces cannot be made here"
        );
        eprintln!("{test}: skipped: needs root and unshare(1) with network and mount namespaces");
    }
    ok
}

/// Runs a command in the daemon's namespaces (`-n` network, `-m` mount).
fn nsenter(pid: u32, ns: &str, cmd: &str) {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), ns, "sh", "-c", cmd])
        .output()
        .expect("nsenter");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Context switches of every thread of `pid` so far.
fn switches(pid: u32) -> u64 {
    let mut n = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let status =
            std::fs::read_to_string(task.expect("task").path().join("status")).unwrap_or_default();
        n += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    n
}

/// The context switches of `pid` once it has settled (its start-up's
/// last steps done): the count when two looks 100 ms apart agree.
fn quiet(pid: u32) -> u64 {
    let mut last = switches(pid);
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = switches(pid);
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

fn state(d: &Daemon, job: &str) -> (String, String) {
    let j = d.job(job);
    (
        j["state"].as_str().unwrap_or_default().to_owned(),
        j["state_reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn network_online_waits_for_a_default_route_in_a_private_namespace() {
    if !namespaces("network_online") {
        return;
    }
    let mut d = Daemon::start_wrapped(
        "jobs:
  backup:
    exec: echo the network is up
    on_startup: 0
    wait_for: {network: online}
",
        &["unshare".into(), "-n".into(), "--".into()],
        &[],
    );
    d.wait_for("backup: deferred: network not online");
    // Waiting costs nothing: no wake-up while nothing changes.
    let pid = d.pid();
    let before = quiet(pid);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(switches(pid), before, "the daemon woke while waiting");
    assert_eq!(
        state(&d, "backup"),
        ("waiting".into(), "network not online".into())
    );
    let status = d.ok(&["status", "backup"]);
    assert!(
        status.contains("network: online (does not hold)"),
        "{status}"
    );
    let json = d.status("backup");
    assert_eq!(json["conditions"][0]["condition"], "network: online");
    assert_eq!(json["conditions"][0]["holds"], false, "{json}");
    assert!(json["held_since_usec"].is_i64(), "{json}");
    // Loopback up is not online; a veth with an address is not either,
    // until a default route goes through it.
    nsenter(pid, "-n", "ip link set lo up");
    nsenter(
        pid,
        "-n",
        "ip link add v0 type veth peer name v1 && ip link set v1 up && ip link set v0 up \
         && ip addr add 10.77.0.1/24 dev v0",
    );
    assert_eq!(state(&d, "backup").0, "waiting");
    nsenter(pid, "-n", "ip route add default via 10.77.0.2");
    let routed = Instant::now();
    d.wait_for("backup: started");
    let took = routed.elapsed();
    assert!(
        took < Duration::from_millis(100),
        "started {took:?} after the route"
    );
    d.wait_for("backup[");
    assert!(d.log.iter().any(|l| l.contains("the network is up")));
}

#[test]
fn mounted_waits_for_a_mount_in_a_private_namespace() {
    if !namespaces("mounted") {
        return;
    }
    let dir = with_config("");
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).expect("mkdir");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "jobs:
  btrbk:
    exec: ls {disk}
    on_startup: 0
    wait_for: {{mounted: {disk}}}
",
            disk = disk.display()
        ),
    )
    .expect("config");
    let mut d = Daemon::start_in_wrapped(
        dir,
        &[
            "unshare".into(),
            "-m".into(),
            "--propagation".into(),
            "private".into(),
            "--".into(),
        ],
    );
    d.wait_for("btrbk: deferred:");
    assert!(
        d.log.iter().any(|l| l.contains("not mounted")),
        "{:?}",
        d.log
    );
    let before = quiet(d.pid());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(switches(d.pid()), before, "the daemon woke while waiting");
    nsenter(
        d.pid(),
        "-m",
        &format!("mount -t tmpfs jobdtest {}", disk.display()),
    );
    d.wait_for("btrbk: started");
    d.wait_for("btrbk: finished: result success");
    // The test's own namespace never saw the mount.
    assert!(!mounted_here(&disk));
}

fn mounted_here(p: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == p.to_str())
}

#[test]
fn path_exists_waits_for_a_file_in_a_directory_made_later() {
    let dir = with_config("");
    let flag = dir.path().join("a/b/ready");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "jobs:
  import:
    exec: cat {flag}
    on_startup: 0
    wait_for: {{path_exists: {flag}}}
",
            flag = flag.display()
        ),
    )
    .expect("config");
    let mut d = Daemon::start_in(dir);
    d.wait_for("import: deferred:");
    assert_eq!(
        state(&d, "import"),
        (
            "waiting".into(),
            format!("{} does not exist", flag.display())
        )
    );
    // The parts appear one by one; only the last makes it hold.
    std::fs::create_dir(d.path("a")).expect("mkdir a");
    std::fs::create_dir(d.path("a/b")).expect("mkdir b");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(state(&d, "import").0, "waiting");
    std::fs::write(&flag, "here\n").expect("flag");
    d.wait_for("import: started");
    d.wait_for("import: finished: result success");
}

#[test]
fn max_wait_skips_the_elapse_and_the_next_one_waits_again() {
    let dir = with_config("");
    let flag = dir.path().join("flag");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "jobs:
  sync:
    exec: 'true'
    on_calendar: '*:*:*'
    max_wait: 300ms
    wait_for: {{path_exists: {flag}}}
",
            flag = flag.display()
        ),
    )
    .expect("config");
    let mut d = Daemon::start_in(dir);
    d.wait_for("sync: deferred:");
    let gave_up = d.wait_for("sync: elapse skipped: waited");
    assert!(gave_up.contains("does not exist"), "{gave_up}");
    // The next elapse (each second) waits again.
    d.wait_for_nth("sync: deferred:", 2);
    std::fs::write(&flag, "").expect("flag");
    d.wait_for("sync: started");
}

/// 10 persistent jobs whose elapse passed while jobd was down, with
/// `max_concurrent: 2`: each runs once, never more than 2 at once.
#[test]
fn max_concurrent_bounds_a_persistent_catch_up() {
    // An elapse 2 s from now, as a UTC timestamp.
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 2;
    let stamp = Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .expect("date");
    let stamp = String::from_utf8_lossy(&stamp.stdout).trim().to_owned();
    let jobs = |exec: &str| {
        let mut c = String::from("max_concurrent: 2\njobs:\n");
        for i in 0..10 {
            c += &format!(
                "  j{i}:\n    exec: {exec}\n    on_calendar: '{stamp}'\n    persistent: true\n"
            );
        }
        c
    };
    // A first run of each, before the elapse, gives them a history.
    let d = Daemon::start(&jobs("'true'"));
    for i in 0..10 {
        d.ok(&["run-now", &format!("j{i}"), "--wait"]);
    }
    let dir = d.stop();
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        <= at
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = dir.path().join("times");
    let exec = format!(
        "['sh', '-c', 'echo \"$(date +%s%N) + $JOBD_JOB\" >> {l}; sleep 0.2; echo \"$(date +%s%N) - $JOBD_JOB\" >> {l}']",
        l = log.display()
    );
    std::fs::write(dir.path().join("jobd.yaml"), jobs(&exec)).expect("config");
    let mut d = Daemon::start_in(dir);
    d.wait_for_nth("finished: result success", 10);
    let text = std::fs::read_to_string(&log).expect("times");
    let mut events: Vec<(u128, i32, String)> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let t = w.next()?.parse().ok()?;
            let d = if w.next()? == "+" { 1 } else { -1 };
            Some((t, d, w.next()?.to_owned()))
        })
        .collect();
    events.sort();
    let (mut going, mut most) = (0, 0);
    for (_, d, _) in &events {
        going += d;
        most = most.max(going);
    }
    assert_eq!(most, 2, "at most 2 at once, and 2 used: {text}");
    for i in 0..10 {
        let starts = events
            .iter()
            .filter(|(_, d, j)| *d == 1 && *j == format!("j{i}"))
            .count();
        assert_eq!(starts, 1, "j{i} ran once: {text}");
    }
    assert!(d.log.iter().any(|l| l.contains("queued:")), "{:?}", d.log);
    // First due, first started: file order here, as all were due at once.
    let order: Vec<String> = d
        .log
        .iter()
        .filter(|l| l.contains(": started"))
        .filter_map(|l| {
            l.split(": started")
                .next()?
                .split_whitespace()
                .last()
                .map(str::to_owned)
        })
        .collect();
    let want: Vec<String> = (0..10).map(|i| format!("j{i}")).collect();
    assert_eq!(order, want);
}

/// `ac_power` through the seam: the power supplies come from a sysfs tree
/// of the test's (`JOBD_SYSFS`; this machine has none), the news that
/// they changed from a real kernel uevent on the daemon's uevent socket.
#[test]
fn ac_power_waits_for_mains_and_wakes_on_a_uevent() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("ac_power: skipped: needs root to make the kernel send a uevent");
        return;
    }
    let dir = with_config(
        "jobs:
  index:
    exec: echo on mains
    on_startup: 0
    wait_for: {ac_power: true}
",
    );
    let sys = dir.path().join("sys");
    let supply = |name: &str, attrs: &[(&str, &str)]| {
        let d = sys.join("class/power_supply").join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        for (k, v) in attrs {
            std::fs::write(d.join(k), format!("{v}\n")).expect("attr");
        }
    };
    supply("BAT0", &[("type", "Battery")]);
    supply("AC", &[("type", "Mains"), ("online", "0")]);
    let sys_text = sys.display().to_string();
    let mut d = Daemon::start_in_env(dir, &[("JOBD_SYSFS", &sys_text)]);
    d.wait_for("index: deferred: on battery");
    // Any device's uevent wakes the daemon to read the supplies again
    // (other tests' devices too), so no wake-up count here: the network
    // and mount tests hold that line. Time passes, briefly: still held.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(state(&d, "index"), ("waiting".into(), "on battery".into()));
    // Plugged in: the attribute changes, then the kernel announces a
    // change (here of /dev/null's device: any uevent makes jobd look).
    supply("AC", &[("type", "Mains"), ("online", "1")]);
    std::fs::write("/sys/devices/virtual/mem/null/uevent", "change").expect("uevent");
    d.wait_for("index: started");
    d.wait_for("on mains");
}
