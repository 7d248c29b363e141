//! The everyday features, through the CLI of real daemons: `defaults`,
//! chains (`on_success`, `after`), what hooks know, `environment_file`,
//! the environment verbs, `disable`/`enable`, `next`, `edit`, `metrics`.

use std::process::{Command, Stdio};

use crate::helper::daemon::{Daemon, cli, with_config};
use crate::helper::systemd_analyze_available;

fn line_after<'a>(log: &'a [String], needle: &str) -> &'a str {
    log.iter()
        .find(|l| l.contains(needle))
        .map_or("", String::as_str)
}

#[test]
fn defaults_are_inherited_and_defaults_on_failure_fires() {
    let mut d = Daemon::start(
        "defaults:
  environment: {LEVEL: low, SHARED: from-defaults}
  on_failure: [notify]
  timeout: 1min
jobs:
  backup:
    exec: ['sh', '-c', 'echo LEVEL=$LEVEL SHARED=$SHARED; exit 4']
    environment: {LEVEL: high}
    type: oneshot
  notify:
    exec: ['sh', '-c', 'echo failed: $JOBD_FAILED_JOB $JOBD_RESULT $JOBD_EXIT_STATUS']
    type: oneshot
    enabled: false
",
    );
    let status = d.status("backup");
    assert_eq!(
        status["environment"],
        serde_json::json!([["SHARED", "from-defaults"], ["LEVEL", "high"]]),
        "{status}"
    );
    assert_eq!(status["on_failure"], serde_json::json!(["notify"]));
    // The handler does not inherit itself as its own handler.
    assert_eq!(d.status("notify")["on_failure"], serde_json::json!([]));
    let text = d.ok(&["status", "backup"]);
    assert!(
        text.contains("Environment: SHARED=from-defaults LEVEL=high"),
        "{text}"
    );
    assert!(text.contains("On failure: notify"), "{text}");
    d.jobd(&["run-now", "backup", "--wait"]);
    d.wait_for("backup[");
    assert!(line_after(&d.log, "backup[").contains("LEVEL=high SHARED=from-defaults"));
    d.wait_for("notify: started");
    let hook = d.wait_for("failed: backup");
    assert!(hook.contains("failed: backup exit-code 4"), "{hook}");
}

#[test]
fn on_success_chains_and_after_orders() {
    let dir = with_config("");
    let gate = dir.path().join("gate");
    let config = format!(
        "jobs:
  a:
    exec: ['sh', '-c', 'echo a; while [ ! -e {g} ]; do sleep 0.01; done']
    type: oneshot
    on_success: [b]
  b:
    exec: ['sh', '-c', 'echo b by $JOBD_TRIGGERED_BY $JOBD_TRIGGERED_INVOCATION']
    type: oneshot
    enabled: false
",
        g = gate.display()
    );
    std::fs::write(dir.path().join("jobd.yaml"), &config).expect("config");
    let mut d = Daemon::start_in(dir);
    d.ok(&["run-now", "a"]);
    d.wait_for("a[");
    // `c`, added while `a` runs, is due at once and waits for `a`.
    d.write_config(&format!(
        "{config}  c:\n    exec: ['sh', '-c', 'echo c ran']\n    type: oneshot\n    on_startup: 0\n    after: [a]\n"
    ));
    d.ok(&["reload"]);
    d.wait_for("c: deferred: after a");
    let j = d.job("c");
    assert_eq!(
        (j["state"].as_str(), j["state_reason"].as_str()),
        (Some("waiting"), Some("after a")),
        "{j}"
    );
    assert!(d.ok(&["list"]).contains("waiting (after a)"));
    std::fs::write(&gate, "").expect("gate");
    d.wait_for("c: finished: result success");
    let a = &d.history("a")[0];
    let a_end =
        a["start_usec"].as_i64().expect("start") + a["duration_usec"].as_i64().expect("a's end");
    let c_start = d.history("c")[0]["start_usec"].as_i64().expect("c's start");
    assert!(
        (0..50_000).contains(&(c_start - a_end)),
        "c started {} µs after a's end",
        c_start - a_end
    );
    let b = d.wait_for("b by ");
    let inv = d.history("a")[0]["invocation"]
        .as_str()
        .expect("inv")
        .to_owned();
    assert!(b.contains(&format!("b by a {inv}")), "{b}");
    assert_eq!(d.history("b")[0]["trigger"], "on-success");
}

#[test]
fn after_cycles_are_refused_at_each_line() {
    let dir = with_config(
        "jobs:\n  a:\n    exec: x\n    after: [b]\n  b:\n    exec: x\n    after: [a]\n  c:\n    exec: x\n    after: [a]\n",
    );
    let out = cli(dir.path()).arg("check").output().expect("check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains(":4:13: after makes a cycle (`a` after `b` after `a`)"),
        "{err}"
    );
    assert!(
        lines[1].contains(":7:13: after makes a cycle (`b` after `a` after `b`)"),
        "{err}"
    );
}

#[test]
fn on_failure_hook_finds_the_failed_runs_lines() {
    let mut d = Daemon::start(
        "jobs:
  flaky:
    exec: ['sh', '-c', 'echo the reason it failed; exit 7']
    type: oneshot
    on_failure: [report]
  report:
    exec: ['sh', '-c', 'echo report $JOBD_FAILED_INVOCATION $JOBD_EXIT_STATUS']
    type: oneshot
    enabled: false
",
    );
    d.jobd(&["run-now", "flaky", "--wait"]);
    let line = d.wait_for("report ");
    let mut words = line.rsplit(' ');
    let status = words.next().expect("status");
    let invocation = words.next().expect("invocation").to_owned();
    assert_eq!(status, "7");
    let first = d.history("flaky").last().expect("a run")["invocation"].clone();
    assert_eq!(
        first,
        invocation.as_str(),
        "the hook names the run that failed first"
    );
    let logs = d.ok(&["logs", "flaky", "--invocation", &invocation]);
    assert!(logs.contains("the reason it failed"), "{logs}");
    assert_eq!(
        logs.matches("the reason it failed").count(),
        1,
        "that run's lines only: {logs}"
    );
}

#[test]
fn environment_file_is_read_at_each_start_and_kept_out_of_state() {
    let dir = with_config("");
    let env = dir.path().join("secrets.env");
    std::fs::write(&env, "# token\nTOKEN=first-s3cret\n").expect("env");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "jobs:
  sync:
    exec: ['sh', '-c', 'echo token length $${{#TOKEN}}']
    type: oneshot
    environment_file: {}
  strict:
    exec: 'true'
    type: oneshot
    environment_file: {}/missing.env
  lenient:
    exec: 'true'
    type: oneshot
    environment_file: -{}/missing.env
",
            env.display(),
            dir.path().display(),
            dir.path().display()
        ),
    )
    .expect("config");
    let mut d = Daemon::start_in(dir);
    d.ok(&["run-now", "sync", "--wait"]);
    std::fs::write(&env, "TOKEN=\"second-longer-s3cret\"\n").expect("env");
    d.ok(&["run-now", "sync", "--wait"]);
    d.wait_for("]: token length 12");
    d.wait_for("]: token length 20");
    let out = d.jobd(&["run-now", "strict", "--wait"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("start-failed") && text.contains("missing.env"),
        "{text}"
    );
    d.ok(&["run-now", "lenient", "--wait"]);
    let status = d.ok(&["status", "sync"]);
    let json = d.status("sync").to_string();
    let _ = d.stop();
    for (what, text) in [("status", status), ("status --json", json)] {
        assert!(!text.contains("s3cret"), "{what}: {text}");
    }
    // The state directory (history, logs) never holds the values: the
    // job's own output above did not print them.
}

#[test]
fn environment_file_values_stay_out_of_the_history() {
    let dir = with_config("");
    let env = dir.path().join("e.env");
    std::fs::write(&env, "SECRET=do-not-store-me\n").expect("env");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "jobs:\n  j:\n    exec: 'true'\n    type: oneshot\n    environment_file: {}\n",
            env.display()
        ),
    )
    .expect("config");
    let d = Daemon::start_in(dir);
    d.ok(&["run-now", "j", "--wait"]);
    let dir = d.stop();
    for f in walk(&dir.path().join("state")) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("do-not-store-me"),
            "{} holds the secret",
            f.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn import_environment_gives_runs_the_shells_path_until_a_restart() {
    let dir = with_config("jobs:\n  tool:\n    exec: jobd-test-only-tool\n    type: oneshot\n");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let tool = bin.join("jobd-test-only-tool");
    std::fs::write(&tool, "#!/bin/sh\necho the tool ran\n").expect("tool");
    let mut perms = std::fs::metadata(&tool).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&tool, perms).expect("chmod");
    let d = Daemon::start_in(dir);
    let out = d.jobd(&["run-now", "tool", "--wait"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not found in PATH=") && text.contains("jobd import-environment PATH"),
        "{text}"
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = cli(d.dir.path())
        .args(["import-environment", "PATH"])
        .env("PATH", &path)
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    d.ok(&["run-now", "tool", "--wait"]);
    assert!(
        d.ok(&["show-environment"])
            .contains(&format!("PATH={path}"))
    );
    d.ok(&["unset-environment", "PATH"]);
    assert!(
        !d.ok(&["show-environment"])
            .contains(&bin.display().to_string())
    );
    d.ok(&["set-environment", &format!("PATH={path}")]);
    d.ok(&["run-now", "tool", "--wait"]);
    let dir = d.stop();
    let d = Daemon::start_in(dir);
    assert!(
        !d.ok(&["show-environment"])
            .contains(&bin.display().to_string()),
        "a restart forgets"
    );
    assert!(!d.jobd(&["run-now", "tool", "--wait"]).status.success());
    let bad = d.jobd(&["set-environment", "1X=y"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

#[test]
fn disable_survives_restart_and_reload_and_enable_undoes_it() {
    let config = "jobs:\n  tick:\n    exec: 'true'\n    on_calendar: '*:*:0/2'\n  daemon:\n    exec: sleep 1000\n";
    let d = Daemon::start(config);
    d.ok(&["disable", "tick"]);
    d.ok(&["disable", "daemon"]);
    assert_eq!(d.job("tick")["state"], "disabled");
    assert_eq!(d.job("tick")["next_run"], serde_json::Value::Null);
    assert_eq!(d.job("tick")["enabled"], false);
    // The running daemon goes on until it is stopped.
    assert_eq!(d.job("daemon")["state"], "running");
    d.ok(&["stop", "daemon"]);
    d.ok(&["run-now", "tick", "--wait"]);
    d.ok(&["reload"]);
    assert_eq!(d.job("tick")["state"], "disabled");
    let dir = d.stop();
    let mut d = Daemon::start_in(dir);
    assert_eq!(d.job("tick")["state"], "disabled", "after a restart");
    assert_eq!(
        d.job("daemon")["state"],
        "disabled",
        "not started with the daemon"
    );
    let unknown = d.jobd(&["disable", "tik"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `tick`?"));
    d.ok(&["enable", "daemon"]);
    d.wait_for("daemon: started");
    d.ok(&["enable", "tick"]);
    assert!(d.job("tick")["next_run"].is_string());
}

/// `systemd-analyze calendar`'s next `n` elapses after `base` (µs) as
/// `YYYY-MM-DD HH:MM:SS` (UTC).
fn analyze(expr: &str, base_sec: i64, n: usize) -> Vec<String> {
    let out = Command::new("systemd-analyze")
        .args([
            "calendar",
            &format!("--base-time=@{base_sec}"),
            &format!("--iterations={n}"),
            expr,
        ])
        .env("TZ", "UTC")
        .output()
        .expect("systemd-analyze");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("Next elapse:") || l.trim_start().starts_with("Iter. #"))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w
                .iter()
                .position(|x| x.len() == 10 && x.as_bytes()[4] == b'-')?;
            Some(format!("{} {}", w[i], w[i + 1]))
        })
        .collect()
}

#[test]
fn next_merges_every_schedule_in_time_order() {
    if !systemd_analyze_available("next_merges_every_schedule_in_time_order") {
        return;
    }
    let d = Daemon::start(
        "jobs:
  nightly:
    exec: 'true'
    on_calendar: '*-*-* 04:00:00'
  weekend:
    exec: 'true'
    on_calendar: ['Sat,Sun 10:15', '*-*-01 12:00']
  sixhourly:
    exec: 'true'
    cron: '30 */6 * * *'
  every:
    exec: 'true'
    on_active: 7h
",
    );
    d.ok(&["run-now", "every", "--wait"]);
    let started = d.history("every")[0]["start_usec"].as_i64().expect("start");
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let out: Vec<serde_json::Value> =
        serde_json::from_str(&d.ok(&["next", "-n", "50", "--json"])).expect("json");
    let mut want: Vec<(String, String)> = Vec::new();
    for (job, expr) in [
        ("nightly", "*-*-* 04:00:00"),
        ("weekend", "Sat,Sun 10:15"),
        ("weekend", "*-*-01 12:00"),
        // cron 30 */6 * * * is this calendar expression.
        ("sixhourly", "*-*-* 00/6:30:00"),
    ] {
        for t in analyze(expr, base, 50) {
            want.push((t, job.to_owned()));
        }
    }
    for k in 1..=50 {
        let t = started + k * 7 * 3_600_000_000;
        let out = Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("@{}", t / 1_000_000),
                "+%Y-%m-%d %H:%M:%S",
            ])
            .output()
            .expect("date");
        want.push((
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            "every".to_owned(),
        ));
    }
    want.sort();
    want.dedup();
    want.truncate(50);
    let got: Vec<(String, String)> = out
        .iter()
        .map(|e| {
            let t = e["time"].as_str().expect("time");
            (
                t[..19].replace('T', " "),
                e["job"].as_str().expect("job").to_owned(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // --until and names.
    let until: Vec<serde_json::Value> = serde_json::from_str(&d.ok(&[
        "next",
        "nightly",
        "--until",
        &format!("@{}", base + 3 * 86_400),
        "--json",
    ]))
    .expect("json");
    assert_eq!(until.len(), 3, "{until:?}");
    assert!(
        until
            .iter()
            .all(|e| e["job"] == "nightly" && e["schedule"] == "*-*-* 04:00:00")
    );
    let table = d.ok(&["next", "-n", "3"]);
    assert!(
        table.starts_with("TIME") && table.contains("elapses listed"),
        "{table}"
    );
    let typo = d.jobd(&["next", "nighly"]);
    assert!(String::from_utf8_lossy(&typo.stderr).contains("did you mean `nightly`?"));
}

#[test]
fn edit_refuses_a_broken_file_and_reloads_a_good_one() {
    let mut d = Daemon::start("jobs:\n  a:\n    exec: 'true'\n    type: oneshot\n");
    let before = std::fs::read_to_string(d.path("jobd.yaml")).expect("read");
    let editor = d.path("editor.sh");
    // The editor script: appends what $EDIT_WITH says to the file.
    std::fs::write(&editor, "#!/bin/sh\nprintf '%b' \"$EDIT_WITH\" >> \"$1\"\n").expect("editor");
    let mut perms = std::fs::metadata(&editor).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).expect("chmod");
    let run = |with: &str, answer: &str| {
        let mut child = cli(d.dir.path())
            .arg("edit")
            .env("EDITOR", &editor)
            .env_remove("VISUAL")
            .env("EDIT_WITH", with)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("edit");
        use std::io::Write as _;
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(answer.as_bytes());
        child.wait_with_output().expect("edit")
    };
    let broken = run("  b:\\n    exec: x\\n    on_calender: daily\\n", "n\n");
    assert_eq!(broken.status.code(), Some(1));
    let err = String::from_utf8_lossy(&broken.stderr);
    assert!(
        err.contains("jobd.yaml:7:5: unknown job key `on_calender`; did you mean `on_calendar`?"),
        "{err}"
    );
    assert!(
        err.contains("Edit again?") && err.contains("unchanged"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(d.path("jobd.yaml")).expect("read"),
        before
    );
    let good = run("  b:\\n    exec: 'true'\\n    on_calendar: daily\\n", "");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(String::from_utf8_lossy(&good.stdout).contains("added: b"));
    d.wait_for("reloaded");
    assert!(d.job("b")["next_run"].is_string());
    let leftovers: Vec<_> = std::fs::read_dir(d.dir.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("jobd-edit"))
        .collect();
    assert!(leftovers.is_empty(), "the copy is removed");
}

#[test]
fn metrics_parse_agree_with_list_and_the_file_is_never_half_written() {
    let dir = with_config("");
    let file = dir.path().join("metrics.prom");
    std::fs::write(
        dir.path().join("jobd.yaml"),
        format!(
            "metrics_file: {}\njobs:\n  ok:\n    exec: 'true'\n    on_calendar: daily\n  bad:\n    exec: ['sh', '-c', 'exit 3']\n    type: oneshot\n  busy:\n    exec: ['sh', '-c', 'for i in $(seq 200); do echo; done']\n    type: oneshot\n",
            file.display()
        ),
    )
    .expect("config");
    let d = Daemon::start_in(dir);
    d.ok(&["run-now", "ok", "--wait"]);
    d.jobd(&["run-now", "bad", "--wait"]);
    // A reader that reads the file as often as it can while runs end.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, file) = (stop.clone(), file.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(t) = std::fs::read_to_string(&file) {
                    assert!(
                        t.ends_with('\n') && t.contains("# TYPE jobd_job_failed gauge"),
                        "half a file: {t:?}"
                    );
                    reads += 1;
                }
            }
            reads
        })
    };
    for _ in 0..20 {
        d.ok(&["run-now", "busy", "--wait"]);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().expect("reader") > 0);
    let text = d.ok(&["metrics"]);
    // Python's prometheus_client parses it.
    // Debian's python3-prometheus-client is for the system Python.
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut py = Command::new(python)
        .args(["-c", "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families as p\nout = {}\nfor f in p(sys.stdin.read()):\n    for s in f.samples:\n        out[s.name + '/' + s.labels['job']] = s.value\nprint(json.dumps(out))"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::Write as _;
        py.stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write");
    }
    let out = py.wait_with_output().expect("python3");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("No module named") && std::env::var_os("JOBD_REQUIRE_ECOSYSTEM").is_none(),
            "the parser refused the text: {err}\n{text}"
        );
        eprintln!("metrics: prometheus_client missing; parsed by hand only");
        return;
    }
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let list = d.list();
    for j in &list {
        let name = j["name"].as_str().expect("name");
        let failed = f64::from(u8::from(j["state"] == "failed"));
        assert_eq!(parsed[format!("jobd_job_failed/{name}")], failed, "{name}");
        assert_eq!(
            parsed[format!("jobd_job_restarts_total/{name}")],
            j["restarts"].as_f64().expect("n"),
            "{name}"
        );
    }
    assert_eq!(parsed["jobd_job_last_exit_status/bad"], 3.0);
    assert_eq!(parsed["jobd_job_failed/bad"], 1.0);
    assert!(
        parsed["jobd_job_next_run_timestamp_seconds/ok"]
            .as_f64()
            .is_some_and(|t| t > 1e9)
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("file"),
        text,
        "the file holds what metrics prints"
    );
}

/// A job that fails as the daemon starts chains to a job later in the
/// file (it used to be dropped: the later job was not loaded yet).
#[test]
fn a_failure_at_start_up_reaches_a_handler_later_in_the_file() {
    let mut d = Daemon::start(
        "defaults:
  on_failure: [report]
jobs:
  watch:
    exec: /nonexistent/watchintake
  report:
    exec: ['sh', '-c', 'echo report for $JOBD_FAILED_JOB']
    type: oneshot
    enabled: false
",
    );
    d.wait_for("watch: failed to start");
    d.wait_for("report for watch");
}
