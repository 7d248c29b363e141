//! A user crontab (crontab(5), vixie/cronie) → jobd jobs.
//!
//! - `NAME=value` lines set the environment of the lines after them
//!   (quotes around the value are taken off, as cron does); `PATH`,
//!   `HOME` and the rest become the jobs' `environment`; `SHELL` is the
//!   shell commands run under; `CRON_TZ` (cronie) becomes `timezone`;
//!   `MAILTO` has no equivalent (jobd writes output to the journal; use
//!   `on_failure` to be told) and is reported.
//! - Five fields or an `@daily`-style shortcut become `cron:`; `@reboot`
//!   becomes `on_startup: 0`.
//! - The command runs as cron runs it: `SHELL -c 'command'`. An unescaped
//!   `%` ends the command and what follows is its standard input, `%`s
//!   inside it newlines; jobd gives jobs no stdin, so that text is fed
//!   with a here-document instead (reported). `\%` is a literal `%`.

use super::{Imported, JobOut, job_name, list, map, quote, unique};

/// Converts crontab `text`; `source` names it in warnings.
pub fn import(text: &str, source: &str) -> Imported {
    let mut out = Imported::default();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut shell = "/bin/sh".to_owned();
    let mut tz: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let at = format!("{source}:{}", n + 1);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = assignment(line) {
            match k.as_str() {
                "SHELL" => shell = v,
                "CRON_TZ" => tz = Some(v),
                "MAILTO" | "MAILFROM" => out.warnings.push(format!(
                    "{at}: {k} has no jobd equivalent (output goes to the journal; use on_failure to be notified); dropped"
                )),
                _ => {
                    env.retain(|(e, _)| *e != k);
                    env.push((k, v));
                }
            }
            continue;
        }
        let (schedule, command) = match split_schedule(line) {
            Some(x) => x,
            None => {
                out.warnings.push(format!(
                    "{at}: not a crontab entry (five time fields or @shortcut, then a command); skipped: {line}"
                ));
                continue;
            }
        };
        let (command, stdin) = split_percent(command);
        let mut job = JobOut::default();
        let program = command
            .split_whitespace()
            .next()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .unwrap_or("cron");
        job.name = unique(job_name(program), &out.jobs);
        job.comments.push(format!("from {at}: {line}"));
        let script = match &stdin {
            Some(input) => {
                out.warnings.push(format!(
                    "{at}: `%` gives the command standard input; jobd gives jobs none, so it is fed with a here-document"
                ));
                format!("{command} <<'JOBD_CRON_INPUT'\n{input}\nJOBD_CRON_INPUT")
            }
            None => command.clone(),
        };
        job.set(
            "exec",
            list(&[shell.clone(), "-c".into(), dollars(&script)]),
        );
        if schedule == "@reboot" {
            job.set("type", quote("oneshot"));
            job.set("on_startup", quote("0"));
        } else {
            job.set("cron", quote(&schedule));
            if let Some(z) = &tz {
                job.set("timezone", quote(z));
            }
        }
        if !env.is_empty() {
            // Values are taken as they are, in cron and in jobd alike.
            job.set("environment", map(&env));
        }
        out.jobs.push(job);
    }
    out
}

/// jobd expands `$$` to `$` in `exec` and `environment` (systemd's rule);
/// cron passes text to the shell untouched. Doubling every `$` keeps it
/// untouched.
fn dollars(s: &str) -> String {
    s.replace('$', "$$")
}

/// `NAME = value` (cron allows spaces around `=`; quotes are removed).
fn assignment(line: &str) -> Option<(String, String)> {
    let (k, v) = line.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    // A schedule line has a space or tab before any `=` in its command.
    if k.contains(char::is_whitespace) {
        return None;
    }
    Some((k.to_owned(), super::unquote(v).to_owned()))
}

/// The schedule (five fields joined, or `@word`) and the command.
fn split_schedule(line: &str) -> Option<(String, String)> {
    if line.starts_with('@') {
        let (word, rest) = line.split_once(char::is_whitespace)?;
        let known = [
            "@reboot",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ];
        return known
            .contains(&word)
            .then(|| (word.to_owned(), rest.trim().to_owned()));
    }
    let mut rest = line;
    let mut fields = Vec::new();
    for _ in 0..5 {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    let command = rest.trim();
    (!command.is_empty()).then(|| (fields.join(" "), command.to_owned()))
}

/// The command before the first unescaped `%`, and what follows as
/// standard input (its `%`s newlines); `\%` becomes `%`.
fn split_percent(cmd: String) -> (String, Option<String>) {
    let mut command = String::new();
    let mut input: Option<String> = None;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        let target = input.as_mut().unwrap_or(&mut command);
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                chars.next();
                target.push('%');
            }
            '%' => match input.as_mut() {
                Some(i) => i.push('\n'),
                None => input = Some(String::new()),
            },
            _ => target.push(c),
        }
    }
    (command.trim_end().to_owned(), input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_and_escapes() {
        assert_eq!(
            split_percent("date +\\%s".into()),
            ("date +%s".into(), None)
        );
        assert_eq!(
            split_percent("mail -s hi bob%line one%line two".into()),
            ("mail -s hi bob".into(), Some("line one\nline two".into()))
        );
    }

    #[test]
    fn schedules() {
        assert_eq!(
            split_schedule("*/5 * * * 1-5  /usr/bin/true  x"),
            Some(("*/5 * * * 1-5".into(), "/usr/bin/true  x".into()))
        );
        assert_eq!(
            split_schedule("@reboot sleep 1"),
            Some(("@reboot".into(), "sleep 1".into()))
        );
        assert_eq!(split_schedule("@fortnightly x"), None);
        assert_eq!(split_schedule("* * * *"), None);
        assert_eq!(
            assignment("MAILTO=\"\""),
            Some(("MAILTO".into(), String::new()))
        );
        assert_eq!(
            assignment("PATH = /bin:/usr/bin"),
            Some(("PATH".into(), "/bin:/usr/bin".into()))
        );
        assert_eq!(assignment("0 * * * * X=1 cmd"), None);
    }
}
