//! The config file's JSON Schema (draft 2020-12): every key with its type,
//! default and description. One source for `jobd schema` (editors through
//! the YAML language server), the home-manager module's typed options
//! (which read the schema file it ships), and the reference in
//! `docs/config.md`. Tests hold it to the keys the YAML reader accepts
//! ([`super::raw`]) and to the validator (every README and import example
//! passes it, config mistakes do not).

use serde_json::{Map, Value, json};

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// A time span: systemd's syntax (`90s`, `1min 30s`, `1.5h`), or seconds.
fn span(description: &str, default: Option<&str>) -> Value {
    let mut v = json!({
        "description": description,
        "oneOf": [
            {"type": "string", "description": "systemd time span: 90s, 1min 30s, 1.5h, 500ms, 2d"},
            {"type": "number", "minimum": 0, "description": "seconds"}
        ]
    });
    if let Some(d) = default {
        v["default"] = json!(d);
    }
    v
}

/// A string or a list of strings.
fn words(description: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}}
        ]
    })
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn boolean(description: &str, default: bool) -> Value {
    json!({"type": "boolean", "description": description, "default": default})
}

fn integer(description: &str, min: i64, max: Option<i64>) -> Value {
    let mut v = json!({"type": "integer", "description": description, "minimum": min});
    if let Some(m) = max {
        v["maximum"] = json!(m);
    }
    v
}

fn choice(description: &str, values: &[&str]) -> Value {
    json!({"type": "string", "description": description, "enum": values})
}

/// A size or count that may be `infinity`.
fn limit(description: &str, unit_pattern: &str) -> Value {
    json!({
        "description": description,
        "oneOf": [
            {"type": "integer", "minimum": 1},
            {"type": "string", "pattern": unit_pattern}
        ]
    })
}

/// Every per-job key, in the order the reference lists them.
pub fn job_properties() -> Vec<(&'static str, Value)> {
    vec![
        ("description", string("Free text, shown by `jobd status`.")),
        (
            "exec",
            json!({
                "description": "The command: a string, split like a shell would (quotes, `~/` at a word start, `${VAR}` as one word, `$$` for `$`), or a list of words.",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1}
                ]
            }),
        ),
        (
            "type",
            choice(
                "`oneshot` runs to completion; `simple` keeps running (supervised). Default: `oneshot` with a schedule, else `simple`.",
                &["oneshot", "simple"],
            ),
        ),
        (
            "on_calendar",
            words(
                "systemd calendar expression(s), exactly systemd's grammar and semantics (systemd's `OnCalendar=`).",
            ),
        ),
        (
            "cron",
            words("crontab expression(s): 5 fields, names, `@daily`-style shortcuts."),
        ),
        (
            "timezone",
            string("IANA time zone for `cron` expressions. Default: the local zone."),
        ),
        (
            "on_active",
            span(
                "Run again this long after each start (systemd's `OnUnitActiveSec=`).",
                None,
            ),
        ),
        (
            "on_startup",
            span(
                "Run this long after jobd starts; `0` at start-up (systemd's `OnStartupSec=`, cron's `@reboot`).",
                None,
            ),
        ),
        (
            "persistent",
            boolean(
                "At start-up, run once if an elapse was missed while jobd was down (systemd's `Persistent=`).",
                false,
            ),
        ),
        (
            "randomized_delay",
            span(
                "Delay each elapse by a random span up to this (systemd's `RandomizedDelaySec=`).",
                Some("0"),
            ),
        ),
        (
            "enabled",
            boolean(
                "`false` keeps the job defined but never started on its own; `run-now` still works.",
                true,
            ),
        ),
        (
            "working_directory",
            json!({"type": "string", "description": "Absolute, or `~/…`. Default: `$HOME`.", "default": "~"}),
        ),
        (
            "environment",
            json!({
                "type": "object",
                "description": "Variables added to the run's environment.",
                "additionalProperties": {"type": ["string", "number", "boolean"]}
            }),
        ),
        (
            "environment_file",
            words(
                "`KEY=VALUE` file(s) read at every start, never stored; `-/path` may be missing (systemd's `EnvironmentFile=`).",
            ),
        ),
        (
            "timeout",
            span(
                "Stop a run after this; its result is `timeout` (systemd's `RuntimeMaxSec=`).",
                None,
            ),
        ),
        (
            "restart",
            choice(
                "When a run that ended is restarted (systemd's `Restart=`).",
                &["no", "on-success", "on-failure", "on-abnormal", "always"],
            ),
        ),
        (
            "restart_sec",
            span("Delay before a restart.", Some("100ms")),
        ),
        (
            "restart_max_sec",
            span(
                "If larger than `restart_sec`, consecutive restarts back off, doubling up to this.",
                None,
            ),
        ),
        (
            "start_limit_burst",
            integer(
                "At most this many starts within `start_limit_interval`; then the job is `failed` until started by hand. 0 turns the limit off.",
                0,
                None,
            ),
        ),
        (
            "start_limit_interval",
            span("The window of `start_limit_burst`.", Some("10s")),
        ),
        (
            "stop_signal",
            json!({
                "description": "The signal a stop sends to every process of the run.",
                "default": "SIGTERM",
                "oneOf": [{"type": "string"}, {"type": "integer", "minimum": 1, "maximum": 64}]
            }),
        ),
        (
            "stop_timeout",
            span("SIGKILL this long after the stop signal.", Some("10s")),
        ),
        (
            "on_failure",
            words(
                "Jobs started when a run fails, with `JOBD_FAILED_JOB`, `JOBD_FAILED_INVOCATION`, `JOBD_RESULT` and `JOBD_EXIT_STATUS`.",
            ),
        ),
        (
            "on_success",
            words(
                "Jobs started when a run ends with `success`, with `JOBD_TRIGGERED_BY` and `JOBD_TRIGGERED_INVOCATION`.",
            ),
        ),
        (
            "after",
            words(
                "A due run waits while these jobs run or are queued (ordering only, like systemd's `After=`).",
            ),
        ),
        (
            "wait_for",
            json!({
                "type": "object",
                "description": "Conditions a due run waits for (instead of skipping, as systemd's `Condition…=` do).",
                "additionalProperties": false,
                "properties": {
                    "ac_power": {"type": "boolean", "description": "`true`: on mains power, or no battery at all; `false`: on battery."},
                    "network": {"type": "string", "enum": ["online"], "description": "A default route through an interface that is up."},
                    "mounted": words("Path(s) that must be mount points."),
                    "path_exists": words("Path(s) that must exist.")
                }
            }),
        ),
        (
            "max_wait",
            span(
                "How long a due run may wait for `wait_for` and `after`; then the elapse is skipped. Default: until the next elapse.",
                None,
            ),
        ),
        ("nice", integer("The run's niceness.", -20, Some(19))),
        (
            "io_class",
            choice(
                "The run's I/O scheduling class.",
                &["realtime", "best-effort", "idle"],
            ),
        ),
        (
            "io_priority",
            integer(
                "The I/O priority within `realtime` or `best-effort` (0 first).",
                0,
                Some(7),
            ),
        ),
        (
            "cpu_weight",
            integer(
                "CPU share of the run's cgroup (100 is the default share).",
                1,
                Some(10_000),
            ),
        ),
        (
            "memory_high",
            limit(
                "Memory throttle of the run's cgroup: bytes with K, M, G or T (base 1024), or `infinity`.",
                "^([0-9]+[KMGT]?|infinity)$",
            ),
        ),
        (
            "memory_max",
            limit(
                "Memory limit of the run's cgroup (the OOM killer ends the run: result `oom-kill`): bytes with K, M, G or T, or `infinity`.",
                "^([0-9]+[KMGT]?|infinity)$",
            ),
        ),
        (
            "pids_max",
            limit(
                "Tasks the run may have at once, or `infinity`.",
                "^infinity$",
            ),
        ),
        (
            "inhibit",
            json!({
                "description": "What logind holds off while a run goes.",
                "oneOf": [
                    {"type": "string", "enum": ["sleep", "shutdown", "idle"]},
                    {"type": "array", "items": {"type": "string", "enum": ["sleep", "shutdown", "idle"]}}
                ]
            }),
        ),
    ]
}

/// Every top-level key but `jobs` and `defaults`.
pub fn top_properties() -> Vec<(&'static str, Value)> {
    vec![
        (
            "log_namespace",
            json!({"type": "string", "pattern": "^[A-Za-z0-9_.-]+$", "description": "The journal namespace job output goes to (systemd's `LogNamespace=`); `JOBD_LOG_NAMESPACE` overrides it."}),
        ),
        (
            "log_file_max",
            json!({"description": "Where there is no journal: rotate a job's file at this size (`8M`, `512K`, bytes).", "default": "8M", "oneOf": [{"type": "integer", "minimum": 4096}, {"type": "string"}]}),
        ),
        (
            "log_file_keep",
            json!({"type": "integer", "minimum": 0, "maximum": 1000, "default": 4, "description": "Where there is no journal: how many rotated files to keep."}),
        ),
        (
            "max_concurrent",
            integer(
                "At most this many oneshot runs at once; the others wait `queued`, first due first started.",
                1,
                None,
            ),
        ),
        (
            "metrics_file",
            string(
                "Where the daemon writes `jobd metrics` (Prometheus text) after every run that ends, atomically.",
            ),
        ),
    ]
}

/// The schema.
pub fn schema() -> Value {
    let props = |list: Vec<(&'static str, Value)>| -> Map<String, Value> {
        list.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    let job = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": props(job_properties()),
    });
    let mut defaults = job.clone();
    defaults["description"] = json!(
        "Per-job keys every job inherits unless it sets them (`environment` maps are merged)."
    );
    let mut job = job;
    job["required"] = json!(["exec"]);
    let mut top = props(top_properties());
    top.insert("defaults".into(), defaults);
    top.insert(
        "jobs".into(),
        json!({
            "type": ["object", "null"],
            "description": "The jobs, by name (letters, digits, `_`, `.`, `@`, `-`).",
            "propertyNames": {"pattern": "^[A-Za-z0-9_.@-]+$"},
            "additionalProperties": {"$ref": "#/$defs/job"}
        }),
    );
    json!({
        "$schema": DRAFT,
        "$id": "https://jobd.invalid/jobd.schema.json",
        "title": "jobd configuration (jobd.yaml)",
        "type": ["object", "null"],
        "additionalProperties": false,
        "properties": top,
        "$defs": {"job": job},
    })
}

/// The reference as Markdown (`docs/config.md`), from the same source.
pub fn markdown() -> String {
    let mut out = String::from(
        "# jobd.yaml reference\n\nGenerated by `jobd schema --markdown` from the schema `jobd schema` prints; \
         a test keeps this file equal to it.\n\n## Top-level keys\n\n| key | type | default | meaning |\n|---|---|---|---|\n",
    );
    let row = |k: &str, v: &Value| {
        format!(
            "| `{k}` | {} | {} | {} |\n",
            type_text(v),
            v.get("default")
                .map_or_else(|| "—".to_owned(), |d| format!("`{}`", plain(d))),
            v["description"].as_str().unwrap_or("").replace('|', "\\|")
        )
    };
    for (k, v) in top_properties() {
        out += &row(k, &v);
    }
    out += "| `defaults` | map | — | Per-job keys every job inherits unless it sets them (`environment` maps are merged). |\n";
    out += "| `jobs` | map of name → job | — | The jobs, by name (letters, digits, `_`, `.`, `@`, `-`). |\n";
    out += "\n## Job keys\n\n`exec` is required.\n\n| key | type | default | meaning |\n|---|---|---|---|\n";
    for (k, v) in job_properties() {
        out += &row(k, &v);
    }
    out
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A property's type in words.
fn type_text(v: &Value) -> String {
    if let Some(e) = v.get("enum").and_then(Value::as_array) {
        return e
            .iter()
            .map(|x| format!("`{}`", plain(x)))
            .collect::<Vec<_>>()
            .join(", ");
    }
    if let Some(alts) = v.get("oneOf").and_then(Value::as_array) {
        return alts.iter().map(type_text).collect::<Vec<_>>().join(" or ");
    }
    match v.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "string" => "string".into(),
            "number" => "number (seconds)".into(),
            "integer" => match (v.get("minimum"), v.get("maximum")) {
                (Some(a), Some(b)) => format!("integer {a}..{b}"),
                (Some(a), None) => format!("integer ≥ {a}"),
                _ => "integer".into(),
            },
            "boolean" => "boolean".into(),
            "array" => format!(
                "list of {}",
                v.get("items").map_or("string".into(), type_text)
            ),
            "object" => "map".into(),
            other => other.to_owned(),
        },
        _ => "value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw;

    #[test]
    fn every_key_the_reader_takes_is_in_the_schema_and_back() {
        let mut job: Vec<&str> = job_properties().iter().map(|(k, _)| *k).collect();
        let mut keys = raw::JOB_KEYS.to_vec();
        job.sort_unstable();
        keys.sort_unstable();
        assert_eq!(job, keys);
        let s = schema();
        let mut top: Vec<String> = s["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let mut keys: Vec<String> = raw::TOP_KEYS.iter().map(|k| (*k).to_owned()).collect();
        top.sort_unstable();
        keys.sort_unstable();
        assert_eq!(top, keys);
        let mut cond: Vec<String> = s["$defs"]["job"]["properties"]["wait_for"]["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let mut keys: Vec<String> = raw::CONDITION_KEYS
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        cond.sort_unstable();
        keys.sort_unstable();
        assert_eq!(cond, keys);
        for (k, v) in job_properties().iter().chain(top_properties().iter()) {
            assert!(
                v["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{k} has no description"
            );
        }
    }
}
