//! The job lifecycle through a real daemon: the sequences where what
//! jobd showed or did used to fall out of step with itself.

use crate::helper::daemon::Daemon;

fn triggers(d: &Daemon, name: &str) -> Vec<String> {
    d.history(name)
        .iter()
        .map(|r| r["trigger"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// A reload that changes a job whose crash loop hit the start limit
/// starts the new definition as a new unit: running, no "start limit
/// hit", restart counter 0.
#[test]
fn reload_revives_a_start_limit_job_as_a_new_unit() {
    let mut d = Daemon::start(
        "jobs:\n  loop:\n    exec: ['sh', '-c', 'exit 1']\n    restart: on-failure\n    restart_sec: 10ms\n",
    );
    d.wait_for("loop: start limit hit");
    assert_eq!(d.job("loop")["state"], "failed");
    d.write_config(
        "jobs:\n  loop:\n    exec: ['sleep', '1000']\n    restart: on-failure\n    restart_sec: 10ms\n",
    );
    assert_eq!(d.ok(&["reload"]), "changed: loop\n");
    let status = d.status("loop");
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["start_limit_hit"], false, "{status}");
    assert_eq!(status["restarts"], 0, "{status}");
    let text = d.ok(&["status", "loop"]);
    assert!(!text.contains("start limit"), "{text}");
    assert!(text.contains("   Restarts: 0\n"), "{text}");
}

/// Runs started because a reload added or changed a job have trigger
/// `reload`.
#[test]
fn runs_started_by_a_reload_say_so() {
    let mut d = Daemon::start("jobs:\n  a:\n    exec: sleep 1000\n");
    d.wait_for("a: started");
    d.write_config("jobs:\n  a:\n    exec: sleep 1001\n  b:\n    exec: sleep 1000\n");
    assert_eq!(d.ok(&["reload"]), "added: b\nchanged: a\n");
    d.wait_for("b: started");
    d.wait_for_nth("a: started", 2);
    assert_eq!(triggers(&d, "b"), ["reload"]);
    assert_eq!(triggers(&d, "a"), ["reload", "startup"]);
}

/// `list`'s LAST is when the run that RESULT describes started: a run in
/// progress shows in STATE, not in LAST.
#[test]
fn list_last_is_the_start_of_the_run_its_result_describes() {
    let mut d = Daemon::start(
        "jobs:\n  j:\n    exec: ['sh', '-c', 'if [ -e slow ]; then exec sleep 1000; fi']\n    type: oneshot\n",
    );
    // Never ended: LAST and RESULT are both empty while the first run goes.
    std::fs::write(d.path("slow"), "").expect("flag");
    d.ok(&["run-now", "j"]);
    d.wait_for("j: started");
    let out = d.ok(&["list"]);
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("j "))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        row,
        ["j", "oneshot", "running", "-", "-", "-", "-"],
        "{out}"
    );
    d.ok(&["stop", "j"]);
    // One quick run, then a long one: LAST is the quick one's start.
    std::fs::remove_file(d.path("slow")).expect("flag");
    d.ok(&["run-now", "j", "--wait"]);
    std::fs::write(d.path("slow"), "").expect("flag");
    d.ok(&["run-now", "j"]);
    let h = d.history("j");
    assert_eq!(h[0]["result"], serde_json::Value::Null, "{h:?}");
    let job = d.job("j");
    assert_eq!(job["last_result"], "success");
    assert_eq!(job["result_start_usec"], h[1]["start_usec"], "{job} {h:?}");
}

/// While a restart is pending, `status` counts it as the journal's
/// "restart 1" line does: `restarting (restart 1: …)` beside
/// `Restarts: 1`.
#[test]
fn status_counts_the_pending_restart() {
    let mut d = Daemon::start(
        "jobs:\n  crash:\n    exec: ['sh', '-c', 'exit 1']\n    restart: always\n    restart_sec: 5s\n",
    );
    d.wait_for("crash: restarting in 5s (restart 1)");
    let text = d.ok(&["status", "crash"]);
    assert!(text.contains("State: restarting (restart 1: "), "{text}");
    assert!(text.contains("   Restarts: 1\n"), "{text}");
    assert_eq!(d.job("crash")["restarts"], 1);
}

/// A reload that changes a crashing daemon during its restart delay
/// starts the new definition once; the old pending restart is gone (it
/// used to fire too, leaving two copies, one unsupervised).
#[test]
fn reload_during_the_restart_delay_runs_one_copy() {
    let mut d = Daemon::start(
        "jobs:\n  x:\n    exec: ['sh', '-c', 'exit 1']\n    restart: always\n    restart_sec: 1s\n",
    );
    d.wait_for("x: restarting in 1s (restart 1)");
    // The new definition lives 2 s, past the old restart's moment: its
    // end is the event to wait for.
    d.write_config("jobs:\n  x:\n    exec: ['sleep', '2']\n    restart: 'no'\n");
    assert_eq!(d.ok(&["reload"]), "changed: x\n");
    d.wait_for_nth("x: finished", 2);
    let h = d.history("x");
    assert_eq!(triggers(&d, "x"), ["reload", "startup"], "{h:?}");
    assert_eq!(h[0]["result"], "success", "{h:?}");
    assert_eq!(d.job("x")["state"], "idle");
}
