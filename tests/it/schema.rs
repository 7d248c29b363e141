//! `jobd schema` against a real JSON Schema validator (Python's
//! `jsonschema`, draft 2020-12): every example config passes it, config
//! mistakes do not, and the files generated from it are current.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn jobd(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jobd"))
        .args(args)
        .output()
        .expect("jobd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Validates YAML documents against `jobd schema`: `None` for each that
/// passes, the validator's message for each that does not. `None` overall
/// where Python's jsonschema/yaml are missing (said once; a failure when
/// `JOBD_REQUIRE_ECOSYSTEM` is set).
pub fn validate(docs: &[String]) -> Option<Vec<Option<String>>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, jobd(&["schema"])).expect("schema");
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let script = "import sys, json, yaml\n\
        from jsonschema import Draft202012Validator as V\n\
        schema = json.load(open(sys.argv[1]))\n\
        V.check_schema(schema)\n\
        v = V(schema)\n\
        out = []\n\
        for text in json.load(sys.stdin):\n\
        \x20   doc = yaml.safe_load(text)\n\
        \x20   errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))\n\
        \x20   out.append(None if not errs else '; '.join(f\"{list(e.path)}: {e.message}\" for e in errs))\n\
        print(json.dumps(out))\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .arg(&schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::to_string(docs).expect("json").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("No module named") && std::env::var_os("JOBD_REQUIRE_ECOSYSTEM").is_none(),
            "the validator failed: {err}"
        );
        eprintln!(
            "schema: skipped: Python's jsonschema or yaml is missing (python3-jsonschema, python3-yaml)"
        );
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).expect("validator output"))
}

/// The ```yaml blocks of a Markdown file.
fn yaml_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match (&mut cur, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => cur = Some(String::new()),
            (Some(b), l) if l.starts_with("```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_example_passes_the_schema() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let mut docs = yaml_blocks(&readme);
    assert!(docs.len() >= 4, "README yaml blocks: {}", docs.len());
    docs.push(std::fs::read_to_string(Path::new(ROOT).join("config/jobd.yaml")).expect("example"));
    let Some(results) = validate(&docs) else {
        return;
    };
    for (doc, r) in docs.iter().zip(results) {
        assert_eq!(r, None, "refused by the schema:\n{doc}");
    }
}

#[test]
fn config_mistakes_fail_the_schema() {
    let bad = [
        "jobs:\n  a:\n    exec: x\n    on_calender: daily\n",
        "jobs:\n  a:\n    on_calendar: daily\n",
        "jobs:\n  a:\n    exec: x\n    restart: sometimes\n",
        "jobs:\n  a:\n    exec: x\n    nice: 25\n",
        "jobs:\n  a:\n    exec: x\n    io_priority: 9\n",
        "jobs:\n  a:\n    exec: x\n    type: forking\n",
        "jobs:\n  a:\n    exec: x\n    wait_for: {ac_powr: true}\n",
        "jobs:\n  a:\n    exec: x\n    inhibit: [sleeep]\n",
        "jobs:\n  a:\n    exec: x\n    memory_max: 32MB\n",
        "jobs:\n  a:\n    exec: x\n    persistent: sometimes\n",
        "jobs:\n  'a b':\n    exec: x\n",
        "max_concurrent: 0\njobs: {}\n",
        "log_file_keep: -1\n",
        "jobz:\n  a:\n    exec: x\n",
    ]
    .map(String::from);
    let Some(results) = validate(&bad) else {
        return;
    };
    for (doc, r) in bad.iter().zip(results) {
        assert!(r.is_some(), "the schema accepted a mistake:\n{doc}");
    }
}

#[test]
fn generated_files_are_current() {
    let md =
        std::fs::read_to_string(Path::new(ROOT).join("docs/config.md")).expect("docs/config.md");
    assert_eq!(
        md,
        jobd(&["schema", "--markdown"]),
        "run `jobd schema --markdown > docs/config.md`"
    );
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("contrib/home-manager/schema.json"))
        .expect("contrib/home-manager/schema.json");
    assert_eq!(
        shipped,
        jobd(&["schema"]),
        "run `jobd schema > contrib/home-manager/schema.json`"
    );
}
