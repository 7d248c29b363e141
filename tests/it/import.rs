//! `jobd import` over real-world unit files and crontabs: what it prints
//! passes `jobd check`, schedules keep their next 20 elapses, and every
//! key without an equivalent is a warning.

use std::path::Path;
use std::process::Output;

use crate::helper::daemon::cli;
use jobd::calendar::{MktimeState, ZoneSource as _};
use jobd::tzdb::SystemZones;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write fixture");
}

fn import(dir: &Path, args: &[&str]) -> (String, String) {
    let out: Output = cli(dir)
        .arg("import")
        .args(args)
        .output()
        .expect("jobd import");
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `yaml` as the config and runs `jobd check`; returns the model.
fn checked(dir: &Path, yaml: &str) -> jobd::config::Config {
    write(dir, "jobd.yaml", yaml);
    let out = cli(dir).arg("check").output().expect("jobd check");
    assert!(
        out.status.success(),
        "jobd check refused the import:\n{yaml}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(results) = crate::schema::validate(&[yaml.to_owned()]) {
        assert_eq!(results[0], None, "the schema refused the import:\n{yaml}");
    }
    let zones = SystemZones::from_env();
    let env = jobd::config::Env::from_process();
    jobd::config::from_str(yaml, Path::new("jobd.yaml"), &zones, &env).expect("parses")
}

fn job<'a>(c: &'a jobd::config::Config, name: &str) -> &'a jobd::config::Job {
    c.jobs
        .iter()
        .find(|j| j.name == name)
        .unwrap_or_else(|| panic!("no job {name}"))
}

/// The next 20 elapses of a job's schedules (all of them merged), UTC.
fn elapses(j: &jobd::config::Job) -> Vec<i64> {
    let zones = SystemZones::from_env();
    let mut state = MktimeState::default();
    let mut t = 1_795_000_000_000_000; // 2026-11-18
    let mut out = Vec::new();
    for _ in 0..20 {
        let Some((next, _)) = jobd::schedule::next_elapse(j, t, zones.local(), &mut state) else {
            break;
        };
        out.push(next);
        t = next;
    }
    out
}

/// systemd-analyze's next 20 elapses for the union of `exprs`, if it is
/// installed (the calendar oracle makes it mandatory in CI).
fn systemd_elapses(exprs: &[&str]) -> Option<Vec<i64>> {
    let zones = SystemZones::from_env();
    let mut state = MktimeState::default();
    let mut all = Vec::new();
    for e in exprs {
        let out = std::process::Command::new("systemd-analyze")
            .args(["calendar", "--base-time=@1795000000", "--iterations=20", e])
            .env("TZ", "UTC")
            .output()
            .ok()?;
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(ts) = l.trim().split_once(": ").map(|x| x.1)
                && l.contains("Next elapse") | l.contains("Iter.")
                && let Ok(t) = jobd::calendar::timestamp::parse(ts.trim(), 0, &zones, &mut state)
            {
                all.push(t);
            }
        }
    }
    all.sort_unstable();
    all.dedup();
    all.truncate(20);
    Some(all)
}

#[test]
fn nightly_timer_with_its_service() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "nix-index.timer",
        "[Unit]\nDescription=Update the nix-index database\n\n[Timer]\nOnCalendar=*-*-* 04:00:00\nOnCalendar=Sat *-*-* 12:30\nPersistent=true\nRandomizedDelaySec=10min\nAccuracySec=1h\n\n[Install]\nWantedBy=timers.target\n",
    );
    write(
        d.path(),
        "nix-index.service",
        "[Unit]\nDescription=Run nix-index\n\n[Service]\nType=oneshot\nExecStart=%h/.nix-profile/bin/nix-index --db %h/.cache/nix-index\nNice=19\nIOSchedulingClass=idle\n",
    );
    let (yaml, warn) = import(
        d.path(),
        &[
            "systemd",
            &d.path().join("nix-index.timer").display().to_string(),
        ],
    );
    let c = checked(d.path(), &yaml);
    let j = job(&c, "nix-index");
    assert_eq!(j.description.as_deref(), Some("Run nix-index"));
    assert_eq!(j.kind, jobd::config::JobType::Oneshot);
    assert!(j.persistent);
    assert_eq!(j.randomized_delay, std::time::Duration::from_secs(600));
    assert_eq!(j.schedule_texts(), ["*-*-* 04:00:00", "Sat *-*-* 12:30"]);
    assert!(
        j.argv[0].ends_with("/.nix-profile/bin/nix-index"),
        "{:?}",
        j.argv
    );
    assert!(
        warn.contains("AccuracySec= has no jobd equivalent"),
        "{warn}"
    );
    // A nightly indexer at the lowest CPU and I/O priority, as written.
    assert_eq!(j.nice, Some(19));
    assert_eq!(j.io, Some(jobd::config::IoPriority::Idle));
    for key in ["Nice", "IOSchedulingClass"] {
        assert!(!warn.contains(key), "{key}: {warn}");
    }
    assert!(!warn.contains("WantedBy"), "{warn}");
    if let Some(want) = systemd_elapses(&["*-*-* 04:00:00", "Sat *-*-* 12:30"]) {
        assert_eq!(elapses(j), want);
    }
}

#[test]
fn supervised_service_with_environment_and_restart() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "watch.env",
        "# settings\nexport OUT=/srv/out\nQUALITY='high'\n",
    );
    write(
        d.path(),
        "watchintake.service",
        &format!(
            "[Unit]\nDescription=Transcode what lands in ~/intake\nStartLimitBurst=3\nStartLimitIntervalSec=60\n\n[Service]\nEnvironment=PY=/usr/bin/python3 \"MODE=fast copy\"\nEnvironmentFile={}\nEnvironmentFile=-/nonexistent/optional.env\nWorkingDirectory=%h/intake\nExecStart=-${{PY}} %h/bin/watchintake %h/intake\nRestart=on-failure\nRestartSec=2\nKillSignal=SIGINT\nTimeoutStopSec=30\nMemoryMax=1G\n\n[Install]\nWantedBy=default.target\n",
            d.path().join("watch.env").display()
        ),
    );
    let (yaml, warn) = import(
        d.path(),
        &[
            "systemd",
            &d.path().join("watchintake.service").display().to_string(),
        ],
    );
    let c = checked(d.path(), &yaml);
    let j = job(&c, "watchintake");
    assert_eq!(j.kind, jobd::config::JobType::Simple);
    assert_eq!(j.restart, jobd::config::Restart::OnFailure);
    assert_eq!(j.restart_sec, std::time::Duration::from_secs(2));
    assert_eq!(j.stop_signal, 2);
    assert_eq!(j.stop_timeout, std::time::Duration::from_secs(30));
    assert_eq!(j.start_limit_burst, 3);
    assert_eq!(j.argv[0], "/usr/bin/python3", "${{PY}} expanded by jobd");
    assert!(j.working_directory.ends_with("intake"));
    let env: Vec<(&str, &str)> = j
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(env, [("PY", "/usr/bin/python3"), ("MODE", "fast copy")]);
    // The files stay files, read at each start: their values never land
    // in the YAML.
    let files: Vec<(String, bool)> = j
        .environment_files
        .iter()
        .map(|f| (f.path.display().to_string(), f.optional))
        .collect();
    assert_eq!(
        files,
        [
            (d.path().join("watch.env").display().to_string(), false),
            ("/nonexistent/optional.env".to_owned(), true)
        ]
    );
    assert!(!yaml.contains("/srv/out"), "{yaml}");
    assert!(warn.contains("prefix `-`"), "{warn}");
    assert!(
        !warn.contains("MemoryMax="),
        "MemoryMax= is memory_max: {warn}"
    );
    assert_eq!(
        job(&c, "watchintake").limits.memory_max,
        Some(jobd::config::Limit::At(1 << 30))
    );
    assert!(!warn.contains("EnvironmentFile="), "{warn}");
}

#[test]
fn directory_of_units_with_on_failure_and_relative_timers() {
    let d = tempfile::tempdir().expect("tempdir");
    let units = d.path().join("user");
    std::fs::create_dir(&units).expect("dir");
    write(
        &units,
        "backup.timer",
        "[Timer]\nOnBootSec=5min\nOnUnitActiveSec=1h\nWakeSystem=true\n",
    );
    write(
        &units,
        "backup.service",
        "[Unit]\nOnFailure=notify.service missing.service\n[Service]\nType=oneshot\nExecStart=/usr/bin/restic backup %h\n",
    );
    write(
        &units,
        "notify.service",
        "[Service]\nType=oneshot\nExecStart=/usr/bin/notify-send \"backup failed\"\n",
    );
    write(
        &units,
        "syncthing.service",
        "[Service]\nType=notify\nExecStart=/usr/bin/syncthing serve --no-browser\nRestart=on-abort\n",
    );
    // Like systemd's own exit.service: nothing to run.
    write(
        &units,
        "exit.service",
        "[Service]\nType=oneshot\nSuccessAction=exit-force\n",
    );
    let (yaml, warn) = import(d.path(), &["systemd", &units.display().to_string()]);
    let c = checked(d.path(), &yaml);
    let names: Vec<&str> = c.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["backup", "notify", "syncthing"]);
    let b = job(&c, "backup");
    assert_eq!(b.on_active, Some(std::time::Duration::from_secs(3600)));
    assert_eq!(b.on_startup, Some(std::time::Duration::from_secs(300)));
    assert_eq!(b.on_failure, ["notify"]);
    assert!(warn.contains("OnBootSec= imported as on_startup"), "{warn}");
    assert!(
        warn.contains("WakeSystem= has no jobd equivalent"),
        "{warn}"
    );
    assert!(
        warn.contains(
            "OnFailure=missing is not an imported job; left out; import missing.service too"
        ),
        "{warn}"
    );
    assert!(
        warn.contains("Type=notify has no jobd equivalent"),
        "{warn}"
    );
    assert!(
        warn.contains("Restart=on-abort imported as on-abnormal"),
        "{warn}"
    );
    assert!(
        warn.contains("exit.service: no ExecStart=, nothing to run; not imported"),
        "{warn}"
    );
    assert_eq!(
        job(&c, "syncthing").restart,
        jobd::config::Restart::OnAbnormal
    );
}

#[test]
fn crontab_with_environment_shortcuts_and_percent() {
    let d = tempfile::tempdir().expect("tempdir");
    let crontab = "# m h dom mon dow command
SHELL=/bin/bash
MAILTO=\"me@example.org\"
PATH=/usr/local/bin:/usr/bin:/bin
*/15 9-17 * * mon-fri  /usr/local/bin/sync-mail --quiet
0 4 1,15 * 5  backup.sh
@reboot  sleep 30 && start-tunnel
@daily  find ~/tmp -mtime +7 -delete
CRON_TZ=Europe/Berlin
30 6 * * *  date +\\%F >> ~/log/$(hostname).log
5 0 * * *  mail -s report bob%first line%second line
";
    write(d.path(), "crontab", crontab);
    let (yaml, warn) = import(
        d.path(),
        &["crontab", &d.path().join("crontab").display().to_string()],
    );
    let c = checked(d.path(), &yaml);
    let names: Vec<&str> = c.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(
        names,
        ["sync-mail", "backup.sh", "sleep", "find", "date", "mail"]
    );
    assert!(warn.contains("MAILTO has no jobd equivalent"), "{warn}");
    assert!(warn.contains("here-document"), "{warn}");
    let date = job(&c, "date");
    assert_eq!(date.argv[0], "/bin/bash");
    assert_eq!(
        date.argv[2], "date +%F >> ~/log/$(hostname).log",
        "`$` kept for the shell"
    );
    assert_eq!(date.timezone.as_deref(), Some("Europe/Berlin"));
    assert!(
        date.environment
            .iter()
            .any(|(k, v)| k == "PATH" && v == "/usr/local/bin:/usr/bin:/bin")
    );
    let reboot = job(&c, "sleep");
    assert_eq!(reboot.on_startup, Some(std::time::Duration::ZERO));
    let mail = job(&c, "mail");
    assert!(
        mail.argv[2].contains("<<'JOBD_CRON_INPUT'\nfirst line\nsecond line\n"),
        "{:?}",
        mail.argv
    );
    // The same next 20 elapses as the original lines (jobd's cron engine
    // on the line as written; it is tested against vixie cron's rules).
    let zones = SystemZones::from_env();
    for (name, expr, tz) in [
        ("sync-mail", "*/15 9-17 * * mon-fri", None),
        ("backup.sh", "0 4 1,15 * 5", None),
        ("find", "@daily", None),
        ("date", "30 6 * * *", Some("Europe/Berlin")),
    ] {
        let zone = tz.map(|z| zones.named(z).expect("zone"));
        let spec = jobd::calendar::cron::parse(expr, zone).expect("cron");
        let mut state = MktimeState::default();
        let mut t = 1_795_000_000_000_000;
        let mut want = Vec::new();
        for _ in 0..20 {
            let next = spec
                .next_elapse(t, zones.local(), &mut state)
                .expect("no error")
                .expect("an elapse");
            want.push(next);
            t = next;
        }
        assert_eq!(elapses(job(&c, name)), want, "{name}");
    }
}

#[test]
fn crontab_from_stdin() {
    let d = tempfile::tempdir().expect("tempdir");
    let mut child = cli(d.path())
        .args(["import", "crontab", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"0 * * * * true\nnot a line\n")
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let warn = String::from_utf8_lossy(&out.stderr);
    assert!(warn.contains("<stdin>:2: not a crontab entry"), "{warn}");
    let c = checked(d.path(), &String::from_utf8_lossy(&out.stdout));
    assert_eq!(c.jobs.len(), 1);
}

#[test]
fn a_oneshots_start_timeout_is_its_run_time_limit() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "backup.service",
        "[Service]\nType=oneshot\nExecStart=/bin/true\nTimeoutStartSec=30min\n",
    );
    write(
        d.path(),
        "watch.service",
        "[Service]\nExecStart=/bin/true\nRuntimeMaxSec=2h\nTimeoutStartSec=10s\n",
    );
    write(
        d.path(),
        "both.service",
        "[Service]\nType=oneshot\nExecStart=/bin/true\nRuntimeMaxSec=5min\n",
    );
    let (yaml, warn) = import(d.path(), &["systemd", &d.path().display().to_string()]);
    let c = checked(d.path(), &yaml);
    let minutes = |m: u64| Some(std::time::Duration::from_secs(m * 60));
    assert_eq!(job(&c, "backup").timeout, minutes(30), "{yaml}");
    assert_eq!(job(&c, "watch").timeout, minutes(120), "{yaml}");
    assert_eq!(job(&c, "both").timeout, minutes(5), "{yaml}");
    assert!(!warn.contains("TimeoutStartSec"), "{warn}");
}

#[test]
fn nice_and_io_scheduling_are_imported() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "index.service",
        "[Service]\nType=oneshot\nExecStart=/bin/true\nNice=19\nIOSchedulingClass=idle\n",
    );
    write(
        d.path(),
        "sync.service",
        "[Service]\nExecStart=/bin/true\nIOSchedulingClass=best-effort\nIOSchedulingPriority=7\nNice=-5\n",
    );
    write(
        d.path(),
        "odd.service",
        "[Service]\nExecStart=/bin/true\nIOSchedulingClass=idle\nIOSchedulingPriority=3\nNice=40\n",
    );
    let (yaml, warn) = import(d.path(), &["systemd", &d.path().display().to_string()]);
    let c = checked(d.path(), &yaml);
    use jobd::config::IoPriority;
    assert_eq!(job(&c, "index").nice, Some(19), "{yaml}");
    assert_eq!(job(&c, "index").io, Some(IoPriority::Idle), "{yaml}");
    assert_eq!(job(&c, "sync").nice, Some(-5), "{yaml}");
    assert_eq!(
        job(&c, "sync").io,
        Some(IoPriority::BestEffort(7)),
        "{yaml}"
    );
    assert_eq!(job(&c, "odd").nice, None, "{yaml}");
    assert_eq!(job(&c, "odd").io, Some(IoPriority::Idle), "{yaml}");
    assert!(warn.contains("Nice=40 is not a niceness"), "{warn}");
    assert!(
        warn.contains("IOSchedulingPriority=3 has no meaning with the idle class"),
        "{warn}"
    );
    assert!(!warn.contains("index.service"), "{warn}");
}

#[test]
fn cgroup_limits_and_ac_power_are_imported() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "index.timer",
        "[Timer]\nOnCalendar=daily\nPersistent=true\n",
    );
    write(
        d.path(),
        "index.service",
        "[Unit]\nConditionACPower=true\n[Service]\nType=oneshot\nExecStart=/bin/true\nCPUWeight=20\nMemoryHigh=1G\nMemoryMax=2G\nTasksMax=64\n",
    );
    write(
        d.path(),
        "odd.service",
        "[Service]\nExecStart=/bin/true\nMemoryMax=50%\nTasksMax=infinity\nCPUWeight=idle\n",
    );
    let (yaml, warn) = import(d.path(), &["systemd", &d.path().display().to_string()]);
    let c = checked(d.path(), &yaml);
    use jobd::config::{Condition, Limit, Limits};
    assert_eq!(
        job(&c, "index").limits,
        Limits {
            cpu_weight: Some(20),
            memory_high: Some(Limit::At(1 << 30)),
            memory_max: Some(Limit::At(2 << 30)),
            pids_max: Some(Limit::At(64)),
        },
        "{yaml}"
    );
    assert_eq!(
        job(&c, "index").wait_for,
        [Condition::AcPower(true)],
        "{yaml}"
    );
    assert!(
        warn.contains("ConditionACPower=true became wait_for: {ac_power: true}: where systemd skipped the run, jobd waits"),
        "{warn}"
    );
    let odd = job(&c, "odd");
    assert_eq!(odd.limits.pids_max, Some(Limit::Infinity), "{yaml}");
    assert_eq!((odd.limits.memory_max, odd.limits.cpu_weight), (None, None));
    assert!(warn.contains("MemoryMax=50%: jobd takes bytes"), "{warn}");
    assert!(
        warn.contains("CPUWeight=idle: jobd takes 1..10000"),
        "{warn}"
    );
    assert!(!warn.contains("has no jobd equivalent"), "{warn}");
}

#[test]
fn on_success_and_after_between_imported_units() {
    let d = tempfile::tempdir().expect("tempdir");
    write(
        d.path(),
        "backup.service",
        "[Unit]\nOnSuccess=prune.service\nAfter=mount-disk.service network-online.target\n[Service]\nType=oneshot\nExecStart=/bin/true\nEnvironmentFile=%h/.config/backup.env\n",
    );
    write(
        d.path(),
        "prune.service",
        "[Service]\nType=oneshot\nExecStart=/bin/true\n",
    );
    write(
        d.path(),
        "mount-disk.service",
        "[Service]\nType=oneshot\nExecStart=/bin/true\n",
    );
    let (yaml, warn) = import(d.path(), &["systemd", &d.path().display().to_string()]);
    let c = checked(d.path(), &yaml);
    let b = job(&c, "backup");
    assert_eq!(b.on_success, ["prune"], "{yaml}");
    assert_eq!(b.after, ["mount-disk"], "{yaml}");
    assert!(
        b.environment_files[0].path.ends_with(".config/backup.env"),
        "{yaml}"
    );
    assert!(
        warn.contains("After=network-online.target is not an imported job; left out; for the network, jobd has wait_for: {network: online}"),
        "{warn}"
    );
}
