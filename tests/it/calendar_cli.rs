//! `jobd calendar` as a user runs it: text like systemd-analyze, JSON, exit
//! codes.

use crate::helper::jobd;

#[test]
fn json_lines_and_exit_status() {
    let out = jobd(
        &[
            "calendar",
            "--json",
            "--base-time=@1795607845",
            "--iterations=2",
            "*:0/15",
            "*/10",
            "never-a-date",
        ],
        "UTC",
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "an invalid expression makes the exit status 1"
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["normalized"], "*-*-* *:00/15:00");
    assert_eq!(
        lines[0]["next"],
        serde_json::json!([1_795_608_000_000_000_i64, 1_795_608_900_000_000_i64])
    );
    assert!(
        lines[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("column 1") && e.contains("0/N")),
        "{}",
        lines[1]
    );
    assert_eq!(lines[1]["expr"], "*/10");
}

#[test]
fn never_is_an_empty_list() {
    let out = jobd(
        &[
            "calendar",
            "--json",
            "--base-time=@1795607845",
            "2026-03-29 02:30 Europe/Berlin",
        ],
        "UTC",
    );
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["next"], serde_json::json!([]));
}

#[test]
fn leading_dash_after_double_dash() {
    let out = jobd(
        &["calendar", "--json", "--base-time=@1795607845", "--", "-5"],
        "UTC",
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["expr"], "-5");
}

#[test]
fn bad_base_time_is_usage_error() {
    let out = jobd(&["calendar", "--base-time=yesterday-ish", "daily"], "UTC");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("--base-time") && stderr.contains("yesterday-ish"),
        "{stderr}"
    );
}

#[test]
fn text_matches_systemd_analyze_layout() {
    if !crate::helper::systemd_analyze_available("text_matches_systemd_analyze_layout") {
        return;
    }
    let args = [
        "--base-time=@1795607845",
        "--iterations=3",
        "mon..fri 9:00",
        "*-*-* 04:00:00",
        "12:00 Europe/Berlin",
    ];
    for tz in ["UTC", "Europe/Berlin"] {
        let mut full = vec!["calendar"];
        full.extend(args);
        let ours = jobd(&full, tz);
        let theirs = std::process::Command::new("systemd-analyze")
            .args(&full)
            .env("TZ", tz)
            .env("SYSTEMD_COLORS", "0")
            .output()
            .expect("systemd-analyze");
        // "From now" depends on the second each ran in; drop it.
        let strip = |b: &[u8]| -> String {
            String::from_utf8_lossy(b)
                .lines()
                .filter(|l| !l.contains("From now"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(&ours.stdout), strip(&theirs.stdout), "TZ={tz}");
    }
}
