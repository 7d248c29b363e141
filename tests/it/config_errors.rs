//! `jobd check` on broken files: each mistake is reported as
//! `FILE:LINE:COL: message`, with a did-you-mean where it fits, exit 1.

use crate::helper::daemon::cli;

/// Runs `jobd check` on `yaml`; returns (exit code, stdout, stderr with
/// the file path replaced by `F`).
fn check(yaml: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("jobd.yaml");
    std::fs::write(&path, yaml).expect("write");
    let out = cli(dir.path())
        .arg("check")
        .output()
        .expect("run jobd check");
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "F");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Asserts the file is refused with exactly these lines (prefixes).
fn refused(yaml: &str, expected: &[&str]) {
    let (code, _, stderr) = check(yaml);
    assert_eq!(code, Some(1), "{yaml}\n{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{yaml}\ngot:\n{stderr}");
    for (line, want) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(want),
            "{yaml}\nwant a line starting {want:?}\ngot {line:?}"
        );
    }
}

#[test]
fn valid_files_pass() {
    let (code, out, err) = check("");
    assert_eq!((code, out.as_str()), (Some(0), "ok: 0 jobs\n"), "{err}");
    let (code, out, err) = check("log_namespace: null\njobs:\n");
    assert_eq!((code, out.as_str()), (Some(0), "ok: 0 jobs\n"), "{err}");
    let repo_example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/jobd.yaml"))
            .expect("example");
    let (code, out, err) = check(&repo_example);
    assert_eq!((code, out.as_str()), (Some(0), "ok: 4 jobs\n"), "{err}");
    let (code, out, err) = check(
        "jobs:\n  a:\n    exec: \"sh -c 'echo ${HOME}' x\"\n    on_calendar: ['daily', 'Mon *-*-* 04:00 Europe/Berlin']\n    cron: '@hourly'\n    timezone: Asia/Tokyo\n    timeout: 1min 30s\n    stop_signal: INT\n    on_failure: [b]\n  b:\n    exec: [true]\n    restart: on-abnormal\n    working_directory: ~/x\n    environment: {A: 1, B: two}\n",
    );
    assert_eq!((code, out.as_str()), (Some(0), "ok: 2 jobs\n"), "{err}");
}

#[test]
fn missing_file_says_how_to_create_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(dir.path()).arg("check").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jobd.yaml: no such file; create it"), "{err}");
}

#[test]
fn misspelt_job_key() {
    refused(
        "jobs:\n  a:\n    exce: x\n",
        &["F:3:5: unknown job key `exce`; did you mean `exec`?"],
    );
}

#[test]
fn misspelt_top_level_key() {
    refused(
        "jbos:\n  a:\n    exec: x\n",
        &["F:1:1: unknown top-level key `jbos`; did you mean `jobs`?"],
    );
}

#[test]
fn duplicate_job_name() {
    refused(
        "jobs:\n  a:\n    exec: x\n  a:\n    exec: y\n",
        &["F:4:3: duplicate key `a`"],
    );
}

#[test]
fn bad_calendar_expression_points_at_the_list_item() {
    refused(
        "jobs:\n  a:\n    exec: x\n    on_calendar:\n      - daily\n      - 'mon 25:00'\n",
        &[
            "F:6:9: on_calendar: invalid calendar expression \"mon 25:00\": at column 5: hour out of range",
        ],
    );
}

#[test]
fn bad_cron_expression() {
    refused(
        "jobs:\n  a:\n    exec: x\n    cron: '* * * *'\n",
        &["F:4:11: cron: invalid cron expression \"* * * *\": at column 1: expected 5 fields"],
    );
}

#[test]
fn unterminated_quote_in_exec() {
    refused(
        "jobs:\n  a:\n    exec: sh -c 'echo\n",
        &["F:3:17: exec: unterminated single quote; close it with '"],
    );
}

#[test]
fn unknown_job_in_on_failure() {
    refused(
        "jobs:\n  a:\n    exec: x\n    on_failure: [b, bb]\n  b:\n    exec: y\n",
        &["F:4:21: on_failure names unknown job `bb`; did you mean `b`?"],
    );
}

#[test]
fn misspelt_restart_value() {
    refused(
        "jobs:\n  a:\n    exec: x\n    restart: on-falure\n",
        &[
            "F:4:14: invalid restart \"on-falure\": use one of no, on-success, on-failure, on-abnormal, always; did you mean `on-failure`?",
        ],
    );
}

#[test]
fn oneshot_restarted_on_success_is_refused_like_systemd() {
    refused(
        "jobs:\n  a:\n    exec: x\n    on_calendar: daily\n    restart: always\n",
        &[
            "F:5:14: restart \"always\" is not allowed for a oneshot job (it would run again as soon as it ends); use on-failure or on-abnormal, or type: simple",
        ],
    );
}

#[test]
fn misspelt_type() {
    refused(
        "jobs:\n  a:\n    exec: x\n    type: oneshto\n",
        &["F:4:11: invalid type \"oneshto\": use oneshot or simple; did you mean `oneshot`?"],
    );
}

#[test]
fn bad_time_span() {
    refused(
        "jobs:\n  a:\n    exec: x\n    timeout: 5 parsecs\n",
        &["F:4:14: timeout: invalid time span \"5 parsecs\""],
    );
}

#[test]
fn yes_is_not_a_boolean() {
    refused(
        "jobs:\n  a:\n    exec: x\n    persistent: yes\n",
        &["F:4:17: invalid boolean: write true or false"],
    );
}

#[test]
fn bad_job_name() {
    refused(
        "jobs:\n  a b:\n    exec: x\n",
        &["F:2:3: invalid job name \"a b\""],
    );
}

#[test]
fn missing_exec() {
    refused(
        "jobs:\n  a:\n    description: no exec\n",
        &["F:2:3: job `a` has no `exec`"],
    );
}

#[test]
fn priorities_out_of_range_or_misspelt() {
    refused(
        "jobs:\n  a:\n    exec: x\n    nice: 25\n",
        &["F:4:11: nice 25 is out of range: write -20 (first) to 19 (last)"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    io_class: idel\n",
        &[
            "F:4:15: invalid io_class \"idel\": write realtime, best-effort or idle; did you mean `idle`?",
        ],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    io_class: best-effort\n    io_priority: 8\n",
        &["F:5:18: io_priority 8 is out of range: write 0 (first) to 7 (last)"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    io_class: idle\n    io_priority: 3\n",
        &["F:5:18: io_priority has no meaning with io_class: idle"],
    );
    let (code, out, err) = check(
        "jobs:\n  a:\n    exec: x\n    nice: -20\n    io_class: realtime\n    io_priority: 0\n",
    );
    assert_eq!((code, out.as_str()), (Some(0), "ok: 1 jobs\n"), "{err}");
}

#[test]
fn misspelt_stop_signal() {
    refused(
        "jobs:\n  a:\n    exec: x\n    stop_signal: SIGTREM\n",
        &[
            "F:4:18: invalid stop_signal \"SIGTREM\": write a signal name such as SIGTERM or SIGINT; did you mean `SIGTERM`?",
        ],
    );
}

#[test]
fn unknown_time_zone() {
    refused(
        "jobs:\n  a:\n    exec: x\n    timezone: Mars/Olympus\n    cron: '@daily'\n",
        &["F:4:15: unknown time zone \"Mars/Olympus\""],
    );
}

#[test]
fn bad_indentation() {
    refused(
        "jobs:\n  a:\n    exec: x\n     bad: indent\n",
        &["F:4:9: mapping values are not allowed in this context"],
    );
}

#[test]
fn relative_working_directory() {
    refused(
        "jobs:\n  a:\n    exec: x\n    working_directory: relative/dir\n",
        &[
            "F:4:24: working_directory \"relative/dir\" is relative; write an absolute path or one starting with ~/",
        ],
    );
}

#[test]
fn negative_count() {
    refused(
        "jobs:\n  a:\n    exec: x\n    start_limit_burst: -1\n",
        &["F:4:24: expected a whole number (0 or more)"],
    );
}

#[test]
fn empty_exec() {
    refused(
        "jobs:\n  a:\n    exec: []\n",
        &["F:3:11: exec is empty; give the command to run"],
    );
}

#[test]
fn timezone_without_cron() {
    refused(
        "jobs:\n  a:\n    exec: x\n    on_calendar: daily\n    timezone: UTC\n",
        &["F:5:15: timezone applies to `cron` only"],
    );
}

#[test]
fn jobs_must_be_a_map() {
    refused(
        "jobs: [1, 2]\n",
        &["F:1:1: invalid type: sequence, expected a map of job names to job definitions"],
    );
}

#[test]
fn every_mistake_in_a_file_is_reported() {
    refused(
        "jobs:\n  a:\n    exec: x\n    on_calendar: 'bad'\n    timeout: forever\n  b:\n    exec: y\n    restart: sometimes\n",
        &[
            "F:4:18: on_calendar: invalid calendar expression \"bad\"",
            "F:5:14: timeout: invalid time span \"forever\"",
            "F:8:14: invalid restart \"sometimes\"",
        ],
    );
}

#[test]
fn conditions_limits_and_inhibit_misspelt_or_out_of_range() {
    refused(
        "jobs:\n  a:\n    exec: x\n    wait_for: {ac_powr: true}\n",
        &["F:4:16: unknown wait_for condition `ac_powr`; did you mean `ac_power`?"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    wait_for: {network: up}\n",
        &["F:4:25: invalid network \"up\": write online"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    wait_for: {mounted: mnt/backup}\n",
        &[
            "F:4:25: mounted \"mnt/backup\" is relative; write an absolute path or one starting with ~/",
        ],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    memory_max: 32MB\n",
        &[
            "F:4:17: invalid memory_max \"32MB\": write bytes with K, M, G or T (base 1024), e.g. 512M, or infinity",
        ],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    cpu_weight: 0\n",
        &["F:4:17: cpu_weight 0 is out of range: write 1 to 10000 (100 is the default share)"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    pids_max: lots\n",
        &["F:4:15: invalid pids_max \"lots\": write a number of tasks (1 or more) or infinity"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    inhibit: [sleep, shutdwn]\n",
        &[
            "F:4:22: invalid inhibit \"shutdwn\": use sleep, shutdown or idle; did you mean `shutdown`?",
        ],
    );
    refused(
        "max_concurrent: 0\njobs:\n  a:\n    exec: x\n",
        &["F:1:17: max_concurrent 0 would never start a job"],
    );
    refused(
        "max_concurent: 2\njobs:\n  a:\n    exec: x\n",
        &["F:1:1: unknown top-level key `max_concurent`; did you mean `max_concurrent`?"],
    );
    refused(
        "jobs:\n  a:\n    exec: x\n    max_wait: soon\n",
        &["F:4:15: max_wait: "],
    );
    let (code, out, err) = check(
        "max_concurrent: 1\njobs:\n  a:\n    exec: x\n    on_calendar: daily\n    wait_for: {ac_power: true, network: online, mounted: /mnt/b, path_exists: ~/flag}\n    max_wait: 2h\n    memory_max: infinity\n    memory_high: 512M\n    pids_max: 100\n    cpu_weight: 50\n    inhibit: [sleep, shutdown, idle]\n",
    );
    assert_eq!((code, out.as_str()), (Some(0), "ok: 1 jobs\n"), "{err}");
    // What this machine cannot give is a warning, not an error.
    let warned = err.contains("memory_max: infinity cannot be applied");
    assert_eq!(
        warned,
        jobd::supervise::scope::machine_lacks("memory").is_some(),
        "{err}"
    );
}
