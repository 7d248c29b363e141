//! Shared test helpers: the reference tools, and running the `jobd` binary.

pub mod cgroup;
pub mod daemon;
pub mod journald;
pub mod tmpfs;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output};
use std::sync::mpsc;

/// A thread reading `r` line by line into a channel (until EOF or the
/// receiver is gone). Bytes, not UTF-8: job output may be binary, and a
/// line that is not UTF-8 must not end the reading.
pub fn lines_of(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rd = BufReader::new(r);
        let mut buf = Vec::new();
        while rd.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            let line =
                String::from_utf8_lossy(buf.strip_suffix(b"\n").unwrap_or(&buf)).into_owned();
            if tx.send(line).is_err() {
                break;
            }
            buf.clear();
        }
    });
    rx
}

/// Whether a test that needs an external reference tool must run (CI sets
/// `JOBD_REQUIRE_ORACLE=1`) or may skip when the tool is missing.
pub fn oracle_required() -> bool {
    std::env::var("JOBD_REQUIRE_ORACLE").is_ok_and(|v| v == "1")
}

/// Whether `systemd-analyze` can be run here; if it cannot and the oracle
/// is not required, says so on stderr so the skip is visible.
pub fn systemd_analyze_available(test: &str) -> bool {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !oracle_required(),
            "{test}: systemd-analyze is required (JOBD_REQUIRE_ORACLE=1) but cannot be run; install the systemd package"
        );
        eprintln!(
            "{test}: SKIPPED: systemd-analyze not found (install systemd, or set JOBD_REQUIRE_ORACLE=1 to make this fatal)"
        );
    }
    ok
}

/// Runs the `jobd` binary built for these tests.
pub fn jobd(args: &[&str], tz: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jobd"))
        .args(args)
        .env("TZ", tz)
        .output()
        .expect("run jobd")
}
