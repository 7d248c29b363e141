//! Job output and daemon events in a real journald (a private namespace
//! per test), the file fallback with rotation, and `jobd logs`.

use std::process::Stdio;
use std::time::Duration;

use crate::helper::daemon::{Daemon, cli};
use crate::helper::journald::Journald;

fn with_journal(j: &Journald, config: &str) -> Daemon {
    Daemon::start_env(config, &[("JOBD_LOG_NAMESPACE", &j.ns)])
}

/// `run-now --wait`: the invocation id it printed.
fn run_wait(d: &Daemon, name: &str) -> String {
    let out = d.jobd(&["run-now", name, "--wait"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split("invocation ")
        .nth(1)
        .and_then(|s| s.get(..32))
        .unwrap_or_else(|| panic!("no invocation in {text:?}"))
        .to_owned()
}

fn str_field<'a>(e: &'a serde_json::Value, k: &str) -> &'a str {
    e[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing or not text in {e}"))
}

#[test]
fn every_field_on_stdout_and_stderr_lines() {
    let Some(j) = Journald::start("fields") else {
        return;
    };
    let mut d = with_journal(
        &j,
        "jobs:\n  talk:\n    exec: ['sh', '-c', 'echo hello out; echo \"<3>disk on fire\" >&2; echo \"<7>debug\"']\n    type: oneshot\n",
    );
    let inv = run_wait(&d, "talk");
    d.wait_for("talk: finished");
    let pid = d.history("talk")[0]["pid"]
        .as_u64()
        .expect("pid")
        .to_string();
    let mut n = 0;
    j.follow_until(&["JOBD_JOB=talk", "SYSLOG_IDENTIFIER=talk"], |_| {
        n += 1;
        n == 3
    });
    let lines = j.entries(&["JOBD_JOB=talk", "SYSLOG_IDENTIFIER=talk"]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let by_msg = |m: &str| {
        lines
            .iter()
            .find(|e| e["MESSAGE"] == m)
            .unwrap_or_else(|| panic!("no entry {m:?} in {lines:?}"))
    };
    for (msg, prio, stream) in [
        ("hello out", "6", "stdout"),
        ("disk on fire", "3", "stderr"),
        ("debug", "7", "stdout"),
    ] {
        let e = by_msg(msg);
        assert_eq!(str_field(e, "PRIORITY"), prio, "{e}");
        assert_eq!(str_field(e, "JOBD_STREAM"), stream);
        assert_eq!(str_field(e, "SYSLOG_IDENTIFIER"), "talk");
        assert_eq!(str_field(e, "JOBD_JOB"), "talk");
        assert_eq!(str_field(e, "JOBD_INVOCATION"), inv);
        assert_eq!(str_field(e, "SYSLOG_PID"), pid);
        assert_eq!(str_field(e, "_TRANSPORT"), "journal");
    }
    // The daemon's own entries about the run carry the job and the run.
    let started = j.entries(&[
        "SYSLOG_IDENTIFIER=jobd",
        "MESSAGE_ID=918ca543296e6bd99854c4d35222f9aa",
        "JOBD_JOB=talk",
    ]);
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(str_field(&started[0], "JOBD_INVOCATION"), inv);
    assert_eq!(str_field(&started[0], "JOBD_TRIGGER"), "manual");
    let finished = j.entries(&[
        "SYSLOG_IDENTIFIER=jobd",
        "MESSAGE_ID=e33ddc80151c7732c44c65bc7b4c9ceb",
        "JOBD_JOB=talk",
    ]);
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(str_field(&finished[0], "JOBD_RESULT"), "success");
    assert_eq!(str_field(&finished[0], "JOBD_EXIT_STATUS"), "0");
    assert_eq!(str_field(&finished[0], "JOBD_INVOCATION"), inv);
    // And `jobd logs` reads it all back through journalctl.
    let out = d.ok(&["logs", "talk", "-n", "50"]);
    assert!(out.contains("talk["), "{out}");
    assert!(out.contains("disk on fire"), "{out}");
    assert!(out.contains("jobd["), "lifecycle lines too: {out}");
    let out = d.ok(&["logs", "talk", "--invocation", "last"]);
    assert!(out.contains("hello out"), "{out}");
    let out = d.ok(&[
        "logs",
        "talk",
        "--invocation",
        "0123456789abcdef0123456789abcdef",
    ]);
    assert!(!out.contains("hello out"), "{out}");
}

#[test]
fn burst_of_200k_lines_per_stream_complete_and_in_order() {
    let Some(j) = Journald::start("burst") else {
        return;
    };
    let d = with_journal(
        &j,
        "jobs:\n  burst:\n    exec: ['sh', '-c', 'seq 1 200000 & seq 1 200000 >&2; wait']\n    type: oneshot\n",
    );
    run_wait(&d, "burst");
    let want: Vec<String> = (1..=200_000).map(|i| i.to_string()).collect();
    for stream in ["stdout", "stderr"] {
        let filter = format!("JOBD_STREAM={stream}");
        let got = j.follow_until(&["JOBD_JOB=burst", &filter], |l| l == "200000");
        assert_eq!(got.len(), want.len(), "{stream}: count");
        assert!(got == want, "{stream}: lines out of order or changed");
    }
}

#[test]
fn big_lines_binary_and_unterminated_output_arrive_intact() {
    let Some(j) = Journald::start("big") else {
        return;
    };
    // 1 MiB of x then a newline; 1 MiB + 5 of y (split in two entries);
    // invalid UTF-8 with a carriage return; a last line without newline.
    let d = with_journal(
        &j,
        "jobs:\n  big:\n    exec: ['sh', '-c', 'head -c 1048576 /dev/zero | tr \"\\\\0\" x; echo; head -c 1048581 /dev/zero | tr \"\\\\0\" y; echo; printf \"\\\\377\\\\376bin\\\\r50%%\\\\n\"; printf \"no newline\"']\n    type: oneshot\n",
    );
    run_wait(&d, "big");
    j.follow_until(&["JOBD_JOB=big", "SYSLOG_IDENTIFIER=big"], |l| {
        l == "no newline"
    });
    let e = j.entries(&["JOBD_JOB=big", "SYSLOG_IDENTIFIER=big"]);
    let msgs: Vec<Vec<u8>> = e
        .iter()
        .map(|e| match &e["MESSAGE"] {
            serde_json::Value::String(s) => s.as_bytes().to_vec(),
            // journalctl shows non-UTF-8 values as arrays of bytes.
            serde_json::Value::Array(a) => a
                .iter()
                .map(|b| u8::try_from(b.as_u64().expect("byte")).expect("byte"))
                .collect(),
            other => panic!("MESSAGE {other}"),
        })
        .collect();
    let lens: Vec<usize> = msgs.iter().map(Vec::len).collect();
    assert_eq!(lens, [1 << 20, 1 << 20, 5, 9, 10], "entry sizes");
    assert!(msgs[0].iter().all(|&b| b == b'x'));
    assert!(msgs[1].iter().chain(&msgs[2]).all(|&b| b == b'y'));
    assert_eq!(msgs[3], b"\xff\xfebin\r50%");
    assert_eq!(msgs[4], b"no newline");
}

#[test]
fn journald_restart_loses_at_most_what_was_in_flight() {
    let Some(mut j) = Journald::start("restart") else {
        return;
    };
    let mut d = with_journal(
        &j,
        "jobs:\n  tick:\n    exec: ['sh', '-c', 'i=1; while [ $$i -le 300 ]; do echo $$i; i=$$((i+1)); sleep 0.005; done']\n    type: oneshot\n",
    );
    d.ok(&["run-now", "tick"]);
    // Let some lines land, then kill journald under the running job.
    j.follow_until(&["JOBD_JOB=tick", "SYSLOG_IDENTIFIER=tick"], |l| l == "50");
    j.restart();
    d.wait_for("tick: finished");
    let got = j.follow_until(&["JOBD_JOB=tick", "SYSLOG_IDENTIFIER=tick"], |l| l == "300");
    let nums: Vec<u32> = got.iter().filter_map(|l| l.parse().ok()).collect();
    assert!(nums.windows(2).all(|w| w[0] < w[1]), "in order: {nums:?}");
    let missing = 300 - nums.len();
    // journald's socket queue holds 10 datagrams (net.unix.max_dgram_qlen
    // here), plus the one it was reading.
    assert!(missing <= 12, "{missing} lines lost: {nums:?}");
    // jobd carries on.
    assert_eq!(d.job("tick")["last_result"], "success");
}

#[test]
fn lifecycle_events_have_their_message_ids() {
    let Some(j) = Journald::start("events") else {
        return;
    };
    let mut d = with_journal(
        &j,
        "jobs:
  crash:
    exec: sh -c 'exit 2'
    restart: always
    restart_sec: 10ms
  missing:
    exec: /nonexistent/jobd-binary
    type: oneshot
  slow:
    exec: sleep 3
    on_calendar: '*:*:*'
",
    );
    d.wait_for("crash: start limit hit");
    let _ = d.jobd(&["run-now", "missing"]);
    d.wait_for("slow: elapse of");
    for (job, id, what) in [
        ("crash", "918ca543296e6bd99854c4d35222f9aa", "started"),
        ("crash", "e33ddc80151c7732c44c65bc7b4c9ceb", "finished"),
        (
            "crash",
            "306e82c3a2b8c949cf09326248d902eb",
            "restart scheduled",
        ),
        (
            "crash",
            "be6ad2903944fd8f636c237fb734bff5",
            "start limit hit",
        ),
        (
            "missing",
            "c8ffdc6be09ffdb9165413bf786c07be",
            "start failed",
        ),
        ("slow", "dd4c108e7a2b2bded4e9bb371ed16d31", "elapse skipped"),
    ] {
        let filters = [
            "SYSLOG_IDENTIFIER=jobd",
            &format!("MESSAGE_ID={id}"),
            &format!("JOBD_JOB={job}"),
        ];
        // Sent in order after the stderr line: wait for the first.
        j.follow_until(&filters, |_| true);
        let e = j.entries(&filters);
        assert!(!e.is_empty(), "no {what} entry for {job}");
        assert!(
            str_field(&e[0], "MESSAGE").starts_with(&format!("{job}: ")),
            "{what}: {}",
            e[0]
        );
    }
    let restart = j.entries(&[
        "MESSAGE_ID=306e82c3a2b8c949cf09326248d902eb",
        "JOBD_JOB=crash",
    ]);
    let counters: Vec<&str> = restart
        .iter()
        .map(|e| str_field(e, "JOBD_RESTART"))
        .collect();
    assert_eq!(counters, ["1", "2", "3", "4"]);
}

#[test]
fn file_fallback_rotates_and_logs_reads_it() {
    // No journald: the helper's namespace has no socket.
    let d = Daemon::start(
        "log_file_max: 4K
log_file_keep: 2
jobs:
  chatty:
    exec: ['sh', '-c', 'seq 1 600; echo \"<3>last words\" >&2']
    type: oneshot
",
    );
    let inv = run_wait(&d, "chatty");
    let dir = d.path("state/logs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("logs dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["chatty.log", "chatty.log.1", "chatty.log.2"]);
    for n in &names {
        let len = std::fs::metadata(dir.join(n)).expect("size").len();
        assert!(len <= 4096, "{n}: {len} bytes");
    }
    // The newest lines are all there, in order, with their facts.
    let out = d.ok(&["logs", "chatty", "-n", "4"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].contains("]: 599"), "{out}");
    assert!(lines[1].contains("]: 600"), "{out}");
    assert!(lines[2].contains("]: last words"), "{out}");
    assert!(
        lines[3].contains("jobd[") && lines[3].contains("finished"),
        "{out}"
    );
    let raw = std::fs::read_to_string(dir.join("chatty.log")).expect("log");
    let last_words = raw
        .lines()
        .find(|l| l.ends_with(" last words"))
        .expect("last words line");
    let f: Vec<&str> = last_words.splitn(6, ' ').collect();
    assert_eq!(f[1], inv);
    assert_eq!(f[2], "stderr");
    assert_eq!(f[3], "3");
    // --invocation narrows to one run.
    let other = d.ok(&[
        "logs",
        "chatty",
        "--invocation",
        "0123456789abcdef0123456789abcdef",
    ]);
    assert!(other.is_empty(), "{other}");
}

#[test]
fn logs_follow_prints_new_lines() {
    let d = Daemon::start(
        "jobs:\n  echo:\n    exec: ['sh', '-c', 'echo one; echo two']\n    type: oneshot\n",
    );
    run_wait(&d, "echo");
    let mut child = cli(d.dir.path())
        .args(["logs", "echo", "-f", "-n", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("jobd logs -f");
    let rx = crate::helper::lines_of(child.stdout.take().expect("piped"));
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a line from logs -f")
    };
    // `-n 1`: one line of the first run, then only what comes.
    let _first = next();
    run_wait(&d, "echo");
    let mut seen = Vec::new();
    let done = |seen: &[String]| {
        ["]: one", "]: two", "finished"]
            .iter()
            .all(|w| seen.iter().any(|l| l.contains(w)))
    };
    while !done(&seen) {
        seen.push(next());
    }
    assert_eq!(
        seen.iter().filter(|l| l.contains("]: one")).count(),
        1,
        "{seen:?}"
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.iter().any(|l| l.ends_with("]: one")), "{seen:?}");
    assert!(seen.iter().any(|l| l.ends_with("]: two")), "{seen:?}");
}

/// `environment_file` values reach the run, never jobd's own entries.
#[test]
fn environment_file_values_never_reach_the_journal() {
    let Some(j) = Journald::start("envfile") else {
        return;
    };
    let secrets = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(secrets.path(), "API_TOKEN=never-in-the-journal\n").expect("write");
    let d = with_journal(
        &j,
        &format!(
            "jobs:\n  sync:\n    exec: ['sh', '-c', 'echo token has $${{#API_TOKEN}} chars; exit 2']\n    type: oneshot\n    environment_file: {}\n",
            secrets.path().display()
        ),
    );
    let inv = run_wait(&d, "sync");
    let entries = j.entries(&["JOBD_JOB=sync"]);
    assert!(
        entries
            .iter()
            .any(|e| e["MESSAGE"] == "token has 20 chars" && e["JOBD_INVOCATION"] == inv.as_str()),
        "{entries:?}"
    );
    let all = String::from_utf8_lossy(&j.journalctl(&["-o", "json", "--all"])).into_owned();
    assert!(!all.contains("never-in-the-journal"), "{all}");
}
