//! Signal names as `kill -l` and systemd print them (`SIGTERM`), both ways.

const NAMES: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// `SIGTERM` for 15; `SIGRTMIN+3` or `SIG99` beyond the classic ones.
pub fn name(signo: i32) -> String {
    match usize::try_from(signo)
        .ok()
        .and_then(|n| NAMES.get(n.wrapping_sub(1)))
    {
        Some(n) => (*n).to_owned(),
        None if (34..=64).contains(&signo) => format!("SIGRTMIN+{}", signo - 34),
        None => format!("SIG{signo}"),
    }
}

/// Reads `SIGTERM`, `TERM`, `term` or `15`; `None` if it is not one of
/// the classic signals (1–31) a job may be stopped with.
pub fn parse(s: &str) -> Option<i32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return (1..=31).contains(&n).then_some(n);
    }
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    let i = NAMES.iter().position(|n| *n == full)?;
    i32::try_from(i + 1).ok()
}

/// Every classic name, for "did you mean".
pub fn names() -> &'static [&'static str] {
    &NAMES
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_ways() {
        assert_eq!(super::name(15), "SIGTERM");
        assert_eq!(super::name(9), "SIGKILL");
        assert_eq!(super::name(36), "SIGRTMIN+2");
        assert_eq!(super::parse("term"), Some(15));
        assert_eq!(super::parse("SIGINT"), Some(2));
        assert_eq!(super::parse("9"), Some(9));
        assert_eq!(super::parse("SIGRTMIN+2"), None);
        assert_eq!(super::parse("SIGFOO"), None);
        assert_eq!(super::parse("0"), None);
    }
}
