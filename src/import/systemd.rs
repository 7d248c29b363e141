//! systemd user units → jobd jobs: a `.timer` with the `.service` it
//! starts becomes a scheduled oneshot; a `.service` alone becomes a
//! supervised job. Every key is either translated or reported.
//!
//! Unit files are read as systemd.syntax(7) says: `[Section]`, `Key=value`
//! (repeatable; an empty value resets a list), `#`/`;` comments, trailing
//! `\` continues a line. Specifiers: `%h` → `~`, `%%` → `%`, `%u`, `%n`,
//! `%N`, `%p`, `%i`, `%t`, `%T`, `%E`; others are reported.

use std::path::{Path, PathBuf};

use super::{Imported, JobOut, job_name, list, map, quote, unique};

/// One parsed unit: (section, key, value, line) in file order.
#[derive(Debug, Default)]
pub struct Unit {
    pub name: String,
    pub path: PathBuf,
    pub entries: Vec<(String, String, String, usize)>,
}

impl Unit {
    pub fn parse(name: &str, path: &Path, text: &str) -> Unit {
        let mut u = Unit {
            name: name.to_owned(),
            path: path.to_owned(),
            entries: Vec::new(),
        };
        let mut section = String::new();
        let mut pending: Option<(String, usize)> = None;
        for (n, raw) in text.lines().enumerate() {
            let (line, start) = match pending.take() {
                Some((mut acc, at)) => {
                    acc.push(' ');
                    acc.push_str(raw.trim());
                    (acc, at)
                }
                None => (raw.trim().to_owned(), n + 1),
            };
            if let Some(cont) = line.strip_suffix('\\') {
                pending = Some((cont.trim_end().to_owned(), start));
                continue;
            }
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_owned();
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                u.entries.push((
                    section.clone(),
                    k.trim().to_owned(),
                    v.trim().to_owned(),
                    start,
                ));
            }
        }
        u
    }

    /// The values of `section`/`key`, an empty assignment resetting.
    fn all(&self, section: &str, key: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for (s, k, v, _) in &self.entries {
            if s == section && k == key {
                if v.is_empty() {
                    out.clear();
                } else {
                    out.push(v.as_str());
                }
            }
        }
        out
    }

    fn last(&self, section: &str, key: &str) -> Option<&str> {
        self.all(section, key).pop()
    }

    fn stem(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(s, _)| s)
    }
}

/// Keys translated, by section; anything else is reported.
const TIMER_KEYS: &[&str] = &[
    "OnCalendar",
    "Persistent",
    "RandomizedDelaySec",
    "OnUnitActiveSec",
    "OnStartupSec",
    "OnBootSec",
    "OnActiveSec",
    "Unit",
];
const SERVICE_KEYS: &[&str] = &[
    "ExecStart",
    "Type",
    "Environment",
    "EnvironmentFile",
    "WorkingDirectory",
    "Restart",
    "RestartSec",
    "RestartMaxDelaySec",
    "KillSignal",
    "TimeoutStopSec",
    "TimeoutStartSec",
    "RuntimeMaxSec",
    "Nice",
    "CPUWeight",
    "MemoryHigh",
    "MemoryMax",
    "TasksMax",
    "IOSchedulingClass",
    "IOSchedulingPriority",
];
const UNIT_KEYS: &[&str] = &[
    "Description",
    "OnFailure",
    "StartLimitBurst",
    "StartLimitIntervalSec",
    "ConditionACPower",
    "OnSuccess",
    "After",
];
/// Keys that only matter to systemd's own machinery: nothing to warn about.
const HARMLESS: &[(&str, &str)] = &[
    ("Unit", "Documentation"),
    ("Install", "WantedBy"),
    ("Install", "Also"),
];

/// Imports `path`: a `.timer` (with its service), a `.service`, or a
/// directory (every timer with its service, then the services no timer
/// starts).
pub fn import(path: &Path) -> Result<Imported, String> {
    let mut out = Imported::default();
    if path.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| n.ends_with(".timer") || n.ends_with(".service"))
            .collect();
        names.sort();
        let mut started: Vec<String> = Vec::new();
        for n in names.iter().filter(|n| n.ends_with(".timer")) {
            started.push(import_timer(&path.join(n), &mut out)?);
        }
        for n in names.iter().filter(|n| n.ends_with(".service")) {
            if !started.contains(n) {
                import_service(&path.join(n), None, &mut out)?;
            }
        }
    } else if path.extension().is_some_and(|e| e == "timer") {
        import_timer(path, &mut out)?;
    } else {
        import_service(path, None, &mut out)?;
    }
    check_on_failure(&mut out);
    Ok(out)
}

fn read(path: &Path) -> Result<Unit, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    Ok(Unit::parse(&name, path, &text))
}

/// Imports a timer and its service; returns the service's file name.
fn import_timer(path: &Path, out: &mut Imported) -> Result<String, String> {
    let timer = read(path)?;
    let service = timer
        .last("Timer", "Unit")
        .map_or_else(|| format!("{}.service", timer.stem()), str::to_owned);
    let dir = path.parent().unwrap_or(Path::new("."));
    import_service(&dir.join(&service), Some(&timer), out)?;
    Ok(service)
}

fn import_service(path: &Path, timer: Option<&Unit>, out: &mut Imported) -> Result<(), String> {
    let svc = read(path)?;
    let mut job = JobOut {
        name: unique(job_name(timer.map_or(svc.stem(), Unit::stem)), &out.jobs),
        ..JobOut::default()
    };
    match timer {
        Some(t) => job.comments.push(format!(
            "from {} and {}",
            t.path.display(),
            svc.path.display()
        )),
        None => job.comments.push(format!("from {}", svc.path.display())),
    }
    let w = &mut out.warnings;
    report_unknown_keys(timer.iter().copied().chain([&svc]), w);
    if let Some(d) = svc.last("Unit", "Description") {
        job.set("description", quote(d));
    }
    if !import_exec(&svc, &mut job, w) {
        return Ok(());
    }
    let oneshot = import_type(&svc, timer.is_some(), &mut job, w);
    if let Some(t) = timer {
        import_timer_keys(t, &mut job, w);
    }
    import_environment(&svc, &mut job, w);
    import_service_keys(&svc, oneshot, &mut job, w);
    import_ac_power(timer.iter().copied().chain([&svc]), &mut job, w);
    out.jobs.push(job);
    Ok(())
}

/// A warning about `u` at `line` (0: the whole file).
fn warn(w: &mut Vec<String>, u: &Unit, line: usize, msg: String) {
    w.push(if line == 0 {
        format!("{}: {msg}", u.path.display())
    } else {
        format!("{}:{line}: {msg}", u.path.display())
    });
}

/// `v` with its specifiers resolved, warning about those jobd lacks.
fn spec(w: &mut Vec<String>, u: &Unit, line: usize, v: &str) -> String {
    specifiers(v, u, &mut |m| warn(w, u, line, m))
}

/// Reports every key jobd does not translate.
fn report_unknown_keys<'a>(units: impl Iterator<Item = &'a Unit>, w: &mut Vec<String>) {
    for u in units {
        for (s, k, _, line) in &u.entries {
            let known = match s.as_str() {
                "Timer" => TIMER_KEYS.contains(&k.as_str()),
                "Service" => SERVICE_KEYS.contains(&k.as_str()),
                "Unit" => UNIT_KEYS.contains(&k.as_str()),
                _ => false,
            } || HARMLESS.contains(&(s.as_str(), k.as_str()));
            if !known {
                let msg = format!("[{s}] {k}= has no jobd equivalent; dropped");
                warn(w, u, *line, msg);
            }
        }
    }
}

/// `ExecStart=` → `exec`; false if there is nothing to run.
fn import_exec(svc: &Unit, job: &mut JobOut, w: &mut Vec<String>) -> bool {
    let execs: Vec<(&str, usize)> = svc
        .entries
        .iter()
        .filter(|(s, k, v, _)| s == "Service" && k == "ExecStart" && !v.is_empty())
        .map(|(_, _, v, l)| (v.as_str(), *l))
        .collect();
    let [(first, line), rest @ ..] = execs.as_slice() else {
        warn(
            w,
            svc,
            0,
            "no ExecStart=, nothing to run; not imported".into(),
        );
        return false;
    };
    let mut cmd = *first;
    while let Some(c) = cmd.chars().next().filter(|c| "-@:+!".contains(*c)) {
        let msg = format!("ExecStart= prefix `{c}` has no jobd equivalent; dropped");
        warn(w, svc, *line, msg);
        cmd = &cmd[1..];
    }
    job.set("exec", quote(&spec(w, svc, *line, cmd)));
    for (_, l) in rest {
        let msg = "a second ExecStart= (jobd runs one command per job); dropped";
        warn(w, svc, *l, msg.into());
    }
    true
}

/// `Type=` → `type` (a timer's service is a oneshot); whether it is one.
fn import_type(svc: &Unit, scheduled: bool, job: &mut JobOut, w: &mut Vec<String>) -> bool {
    let kind = svc.last("Service", "Type").unwrap_or("simple");
    match (kind, scheduled) {
        (_, true) | ("oneshot", false) => {
            job.set("type", quote("oneshot"));
            return true;
        }
        ("simple" | "exec", false) => {}
        (other, false) => {
            let msg = format!("Type={other} has no jobd equivalent; imported as type: simple");
            warn(w, svc, 0, msg);
        }
    }
    false
}

/// The timer's keys.
fn import_timer_keys(t: &Unit, job: &mut JobOut, w: &mut Vec<String>) {
    let cals: Vec<String> = t
        .all("Timer", "OnCalendar")
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    if !cals.is_empty() {
        job.set("on_calendar", list(&cals));
    }
    if let Some(p) = t.last("Timer", "Persistent") {
        job.set("persistent", bool_of(p).to_string());
    }
    for (key, to) in [
        ("RandomizedDelaySec", "randomized_delay"),
        ("OnUnitActiveSec", "on_active"),
        ("OnStartupSec", "on_startup"),
    ] {
        if let Some(v) = t.last("Timer", key) {
            job.set(to, quote(v));
        }
    }
    for (key, why) in [
        (
            "OnBootSec",
            "counted from the daemon's start (jobd has no boot time)",
        ),
        ("OnActiveSec", "counted from the daemon's start"),
    ] {
        if let Some(v) = t.last("Timer", key) {
            let line = t.entries.iter().rfind(|e| e.1 == key).map_or(0, |e| e.3);
            warn(w, t, line, format!("{key}= imported as on_startup: {why}"));
            job.set("on_startup", quote(v));
        }
    }
}

/// `Environment=` and the variables of `EnvironmentFile=` → `environment`.
fn import_environment(svc: &Unit, job: &mut JobOut, w: &mut Vec<String>) {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    for (s, k, v, line) in &svc.entries {
        if s != "Service" {
            continue;
        }
        match k.as_str() {
            "Environment" => env.extend(environment_words(v)),
            "EnvironmentFile" => {
                // Kept a path, read at each start: the values never land
                // in the YAML (which home-manager puts in the Nix store).
                let (dash, file) = v.strip_prefix('-').map_or(("", v.as_str()), |f| ("-", f));
                let file = spec(w, svc, *line, file);
                if file.starts_with('/') || file.starts_with("~/") {
                    files.push(format!("{dash}{file}"));
                } else {
                    warn(
                        w,
                        svc,
                        *line,
                        format!("EnvironmentFile={file} is not an absolute path; left out"),
                    );
                }
            }
            _ => {}
        }
    }
    if !env.is_empty() {
        job.set("environment", map(&env));
    }
    if !files.is_empty() {
        job.set("environment_file", list(&files));
    }
}

/// The service's other keys: directory, restart policy, stop, limits,
/// `OnFailure=`.
fn import_service_keys(svc: &Unit, oneshot: bool, job: &mut JobOut, w: &mut Vec<String>) {
    if let Some(dir) = svc.last("Service", "WorkingDirectory") {
        let line = svc
            .entries
            .iter()
            .rfind(|e| e.1 == "WorkingDirectory")
            .map_or(0, |e| e.3);
        let dir = dir.strip_prefix('-').unwrap_or(dir);
        let dir = spec(w, svc, line, dir);
        job.set("working_directory", quote(&dir));
    }
    if let Some(r) = svc.last("Service", "Restart") {
        match r {
            "on-watchdog" | "on-abort" => {
                warn(w, svc, 0, format!("Restart={r} imported as on-abnormal"));
                job.set("restart", quote("on-abnormal"));
            }
            _ => job.set("restart", quote(r)),
        }
    }
    for (key, to) in [
        ("RestartSec", "restart_sec"),
        ("RestartMaxDelaySec", "restart_max_sec"),
        ("TimeoutStopSec", "stop_timeout"),
        ("RuntimeMaxSec", "timeout"),
    ] {
        if let Some(v) = svc.last("Service", key) {
            job.set(to, quote(v));
        }
    }
    // A oneshot's run is its start-up: `TimeoutStartSec=` is its run time
    // limit, as `RuntimeMaxSec=` is for any other service (for a simple
    // service, start-up is the fork, so it limits nothing jobd has).
    if oneshot && let Some(v) = svc.last("Service", "TimeoutStartSec") {
        job.set("timeout", quote(v));
    }
    if let Some(v) = svc.last("Service", "KillSignal") {
        job.set("stop_signal", quote(v));
    }
    import_priorities(svc, job, w);
    import_limits(svc, job, w);
    if let Some(v) = svc.last("Unit", "StartLimitBurst") {
        job.set("start_limit_burst", v.to_owned());
    }
    if let Some(v) = svc.last("Unit", "StartLimitIntervalSec") {
        job.set("start_limit_interval", quote(v));
    }
    for (key, to) in [
        ("OnFailure", "on_failure"),
        ("OnSuccess", "on_success"),
        ("After", "after"),
    ] {
        let units: Vec<String> = svc
            .all("Unit", key)
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(|u| job_name(u.strip_suffix(".service").unwrap_or(u)))
            .collect();
        if !units.is_empty() {
            job.set(to, list(&units));
        }
    }
}

/// `Nice=`, `IOSchedulingClass=`, `IOSchedulingPriority=`: jobd's `nice`,
/// `io_class`, `io_priority` (a class of `none` is the default: nothing).
fn import_priorities(svc: &Unit, job: &mut JobOut, w: &mut Vec<String>) {
    if let Some(v) = svc.last("Service", "Nice") {
        match v.parse::<i64>() {
            Ok(n) if (-20..=19).contains(&n) => job.set("nice", n.to_string()),
            _ => warn(
                w,
                svc,
                0,
                format!("Nice={v} is not a niceness (-20..19): left out"),
            ),
        }
    }
    let class = svc
        .last("Service", "IOSchedulingClass")
        .and_then(|c| match c {
            "realtime" | "1" => Some("realtime"),
            "best-effort" | "2" => Some("best-effort"),
            "idle" | "3" => Some("idle"),
            "none" | "0" => None,
            other => {
                warn(
                    w,
                    svc,
                    0,
                    format!("IOSchedulingClass={other} is not a class: left out"),
                );
                None
            }
        });
    if let Some(c) = class {
        job.set("io_class", quote(c));
    }
    if let Some(v) = svc.last("Service", "IOSchedulingPriority") {
        match v.parse::<u8>() {
            Ok(_) if class == Some("idle") => {
                warn(
                    w,
                    svc,
                    0,
                    format!(
                        "IOSchedulingPriority={v} has no meaning with the idle class: left out"
                    ),
                );
            }
            Ok(p) if p <= 7 => job.set("io_priority", p.to_string()),
            _ => warn(
                w,
                svc,
                0,
                format!("IOSchedulingPriority={v} is not 0..7: left out"),
            ),
        }
    }
}

/// `CPUWeight=`, `MemoryHigh=`, `MemoryMax=`, `TasksMax=`: the same
/// cgroup controls in jobd. Forms jobd lacks (percentages, `idle`) are
/// reported and left out.
fn import_limits(svc: &Unit, job: &mut JobOut, w: &mut Vec<String>) {
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let bytes =
        |v: &str| v == "infinity" || digits(v.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(v));
    let tasks = |v: &str| v == "infinity" || digits(v);
    let weight = |v: &str| v.parse::<u32>().is_ok_and(|n| (1..=10_000).contains(&n));
    type Form<'a> = &'a dyn Fn(&str) -> bool;
    let keys: [(&str, &'static str, Form, &str); 4] = [
        ("CPUWeight", "cpu_weight", &weight, "1..10000"),
        (
            "MemoryHigh",
            "memory_high",
            &bytes,
            "bytes with K, M, G or T, or infinity",
        ),
        (
            "MemoryMax",
            "memory_max",
            &bytes,
            "bytes with K, M, G or T, or infinity",
        ),
        ("TasksMax", "pids_max", &tasks, "a number or infinity"),
    ];
    for (key, to, ok, form) in keys {
        let Some(v) = svc.last("Service", key) else {
            continue;
        };
        if ok(v) {
            // A number as a number (the schema types it so).
            let digits = v.bytes().all(|b| b.is_ascii_digit());
            job.set(to, if digits { v.to_owned() } else { quote(v) });
        } else {
            warn(w, svc, 0, format!("{key}={v}: jobd takes {form}; left out"));
        }
    }
}

/// `ConditionACPower=`: systemd skips the run when it does not hold;
/// jobd's `wait_for: {ac_power: …}` waits for it instead.
fn import_ac_power<'a>(
    units: impl Iterator<Item = &'a Unit>,
    job: &mut JobOut,
    w: &mut Vec<String>,
) {
    for u in units {
        let Some(v) = u.last("Unit", "ConditionACPower") else {
            continue;
        };
        let on = match v {
            "true" | "yes" | "1" | "on" => true,
            "false" | "no" | "0" | "off" => false,
            other => {
                warn(
                    w,
                    u,
                    0,
                    format!("ConditionACPower={other} is not a boolean; left out"),
                );
                continue;
            }
        };
        job.set("wait_for", format!("{{ac_power: {on}}}"));
        warn(
            w,
            u,
            0,
            format!(
                "ConditionACPower={v} became wait_for: {{ac_power: {on}}}: where systemd skipped the run, jobd waits for {} (max_wait bounds the wait)",
                if on { "AC power" } else { "battery power" }
            ),
        );
    }
}

/// `on_failure` may only name jobs in the file: others are reported and
/// left out, so the output passes `jobd check`.
fn check_on_failure(out: &mut Imported) {
    let names: Vec<String> = out.jobs.iter().map(|j| j.name.clone()).collect();
    for (key, unit_key) in [
        ("on_failure", "OnFailure"),
        ("on_success", "OnSuccess"),
        ("after", "After"),
    ] {
        for j in &mut out.jobs {
            let Some(pos) = j.keys.iter().position(|(k, _)| *k == key) else {
                continue;
            };
            let listed: Vec<String> = serde_json::from_str(&j.keys[pos].1).unwrap_or_default();
            let (kept, missing): (Vec<String>, Vec<String>) =
                listed.into_iter().partition(|n| names.contains(n));
            for m in missing {
                let hint = match m.as_str() {
                    "network-online.target" | "network.target" => {
                        "; for the network, jobd has wait_for: {network: online}".to_owned()
                    }
                    _ if m.contains('.') => {
                        "; only services imported with it become jobs".to_owned()
                    }
                    _ => format!("; import {m}.service too and add it to {key}"),
                };
                out.warnings.push(format!(
                    "{}: {unit_key}={m} is not an imported job; left out{hint}",
                    j.name
                ));
            }
            if kept.is_empty() {
                j.keys.remove(pos);
            } else {
                j.keys[pos].1 = list(&kept);
            }
        }
    }
}

fn bool_of(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "yes" | "true" | "on")
}

/// Expands unit specifiers; unknown ones are reported and kept.
fn specifiers(v: &str, u: &Unit, warn: &mut dyn FnMut(String)) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('h') => out.push('~'),
            Some('u') => out.push_str("${USER}"),
            Some('n') => out.push_str(&u.name),
            Some('N') | Some('p') => out.push_str(u.stem()),
            Some('i') => out.push_str(u.stem().split_once('@').map_or("", |(_, i)| i)),
            Some('t') => out.push_str("${XDG_RUNTIME_DIR}"),
            Some('T') => out.push_str("/tmp"),
            Some('E') => out.push_str("~/.config"),
            Some(other) => {
                warn(format!(
                    "specifier %{other} has no jobd equivalent; kept as written"
                ));
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    // `~` works at a word start only: `%h/x` gave `~/x`; elsewhere use
    // `${HOME}`.
    out.replace("=~", "=${HOME}")
}

/// `Environment=` words: `A=b "C=d e"`.
fn environment_words(v: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote_char: Option<char> = None;
    for c in v.chars() {
        match (c, quote_char) {
            ('"' | '\'', None) => quote_char = Some(c),
            (q, Some(open)) if q == open => quote_char = None,
            (' ' | '\t', None) => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .into_iter()
        .filter_map(|w| w.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_syntax() {
        let u = Unit::parse(
            "a.timer",
            Path::new("a.timer"),
            "[Timer]\n# c\nOnCalendar=daily\nOnCalendar=\nOnCalendar=Mon 9:00\nOnCalendar=*-*-1 \\\n  04:00\n",
        );
        assert_eq!(u.all("Timer", "OnCalendar"), ["Mon 9:00", "*-*-1 04:00"]);
        assert_eq!(
            environment_words(r#"A=1 "B=two words" C='x y'"#),
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x y".into())
            ]
        );
    }
}
