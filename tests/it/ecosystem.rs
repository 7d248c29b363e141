//! What fits jobd into systemd and Nix setups, checked with the real
//! tools: the user unit with `systemd-analyze verify`, every `.nix` file
//! with `nix-instantiate --parse`, the home-manager settings evaluated and
//! fed to `jobd check`, the completion scripts loaded by bash, the man
//! page rendered. Each tool missing is a skip with a message, and a
//! failure under `JOBD_REQUIRE_ECOSYSTEM=1` (set by `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helper::daemon::cli;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn have(tool: &str, test: &str) -> bool {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(tool).is_file());
    if !found {
        assert!(
            std::env::var_os("JOBD_REQUIRE_ECOSYSTEM").is_none(),
            "{test}: JOBD_REQUIRE_ECOSYSTEM is set but {tool} is missing"
        );
        eprintln!("{test}: skipped: {tool} is not installed");
    }
    found
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn user_unit_passes_systemd_analyze_verify() {
    if !have("systemd-analyze", "user_unit") {
        return;
    }
    // ExecStart is %h/.cargo/bin/jobd: a home where it is this build.
    let home = tempfile::tempdir().expect("tempdir");
    let bin = home.path().join(".cargo/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_jobd"), bin.join("jobd")).expect("link");
    let run = home.path().join("run");
    std::fs::create_dir(&run).expect("mkdir");
    // Documentation=man:jobd(1): verify runs `man`; the page is installed
    // as the flake installs it.
    let man1 = home.path().join("man/man1");
    std::fs::create_dir_all(&man1).expect("mkdir");
    let page = Command::new(env!("CARGO_BIN_EXE_jobd"))
        .arg("man")
        .output()
        .expect("jobd man");
    std::fs::write(man1.join("jobd.1"), page.stdout).expect("man page");
    let unit = Path::new(ROOT).join("contrib/systemd/jobd.service");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--user"])
        .arg(&unit)
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", &run)
        .env("MANPATH", home.path().join("man"))
        .output()
        .expect("systemd-analyze");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    // The keys the issue asks for are there.
    let text = std::fs::read_to_string(&unit).expect("unit");
    for key in [
        "Type=notify",
        "ExecReload=%h/.cargo/bin/jobd reload",
        "Restart=on-failure",
        "Delegate=yes",
        "KillMode=mixed",
        "WantedBy=default.target",
    ] {
        assert!(text.contains(key), "{key}");
    }
    // journald limits a user unit under the user manager's unit: a
    // LogRateLimit*= here would only pretend.
    assert!(
        !text.lines().any(|l| l.starts_with("LogRateLimit")),
        "{text}"
    );
}

fn nix_files() -> Vec<PathBuf> {
    let mut out = vec![Path::new(ROOT).join("flake.nix")];
    let hm = Path::new(ROOT).join("contrib/home-manager");
    for e in std::fs::read_dir(&hm)
        .expect("contrib/home-manager")
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "nix") {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn nix_files_parse_and_the_settings_pass_jobd_check() {
    if !have("nix-instantiate", "nix") {
        return;
    }
    let files = nix_files();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        ok(Command::new("nix-instantiate").arg("--parse").arg(f));
    }
    // The settings-to-JSON half of the module on the README's example.
    let json = ok(Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E"])
        .arg("import ./contrib/home-manager/settings.nix { jobs = import ./contrib/home-manager/example-jobs.nix; }")
        .current_dir(ROOT)
        .env("NIX_STATE_DIR", std::env::temp_dir().join("jobd-test-nix")));
    let text: String = serde_json::from_str(&json).expect("a JSON string");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("jobd.yaml"), &text).expect("write");
    let out = ok(cli(dir.path()).arg("check"));
    assert_eq!(out.trim(), "ok: 3 jobs");
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let dir = tempfile::tempdir().expect("tempdir");
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(cli(dir.path()).args(["completions", shell]));
        assert!(script.contains("jobd"), "{shell}");
        assert!(script.contains("run-now"), "{shell}: subcommands listed");
    }
    if have("bash", "completions") {
        let script = ok(cli(dir.path()).args(["completions", "bash"]));
        let file = dir.path().join("jobd.bash");
        std::fs::write(&file, script).expect("write");
        ok(Command::new("bash").arg("-n").arg(&file));
        let spec = ok(Command::new("bash")
            .arg("-c")
            .arg(format!("source {} && complete -p jobd", file.display())));
        assert!(spec.contains("-F _jobd jobd"), "{spec}");
    }
    let page = ok(cli(dir.path()).arg("man"));
    assert!(
        page.starts_with(".ie") || page.contains(".TH jobd 1"),
        "{page}"
    );
    for section in ["JOBD RUN-NOW", "JOBD LOGS", "JOBD IMPORT", "config"] {
        assert!(page.contains(section), "{section}");
    }
    if have("man", "man page") {
        let file = dir.path().join("jobd.1");
        std::fs::write(&file, &page).expect("write");
        let text = ok(Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat"));
        assert!(text.contains("run-now"), "{text}");
    }
}

/// `nix-instantiate --eval --strict --json` of `expr` in the repository,
/// or its error text.
fn nix_eval(expr: &str) -> Result<serde_json::Value, String> {
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", expr])
        .current_dir(ROOT)
        .env("NIX_STATE_DIR", std::env::temp_dir().join("jobd-test-nix"))
        .output()
        .expect("nix-instantiate");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The home-manager module with `config` under `services.jobd`, evaluated
/// whole by the real module system (tests/nix/eval.nix stubs only what it
/// reads from home-manager and pkgs).
fn home_manager(config: &str) -> Result<serde_json::Value, String> {
    nix_eval(&format!(
        "let c = import ./tests/nix/eval.nix {{ config = {config}; }}; f = c.xdg.configFile.\"jobd/jobd.yaml\"; in \
         {{ all = c; unit = c.systemd.user.services.jobd; onChange = f.onChange; \
            build = f.source.buildCommand; env = {{ inherit (f.source.env) TZDIR; }}; text = f.source.env.config.text; }}"
    ))
}

/// Runs the check derivation's build command by hand, with this build's
/// jobd in place of the package: what `nix build` would run.
fn run_builder(v: &serde_json::Value) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("jobd.yaml");
    std::fs::write(&config, v["text"].as_str().expect("text")).expect("write");
    let build = v["build"].as_str().expect("build").replace(
        "/nix/store/00000000000000000000000000000000-jobd/bin/jobd",
        env!("CARGO_BIN_EXE_jobd"),
    );
    Command::new("sh")
        .args(["-ec", &build])
        .env("config", &config)
        .env("out", dir.path().join("out"))
        .env("TZDIR", "/usr/share/zoneinfo")
        .output()
        .expect("sh")
}

#[test]
fn home_manager_module_evaluates_whole_and_checks_the_file_at_build_time() {
    if !have("nix-instantiate", "hm-module") {
        return;
    }
    let v = home_manager(
        "{ jobs = import ./contrib/home-manager/example-jobs.nix; max_concurrent = 1; \
           defaults.environment.LANG = \"C.UTF-8\"; settings.log_file_keep = 2; }",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let unit = &v["unit"];
    assert_eq!(unit["Service"]["Type"], "notify");
    assert_eq!(unit["Service"]["Delegate"], "yes");
    assert!(
        unit["Service"]["ExecStart"]
            .as_str()
            .is_some_and(|s| s.ends_with("/bin/jobd daemon"))
    );
    assert!(
        unit["Service"]["ExecReload"]
            .as_str()
            .is_some_and(|s| s.ends_with("/bin/jobd reload"))
    );
    assert!(unit["Service"].get("LogRateLimitBurst").is_none(), "{unit}");
    assert_eq!(
        unit["Install"]["WantedBy"],
        serde_json::json!(["default.target"])
    );
    assert!(
        v["onChange"]
            .as_str()
            .is_some_and(|s| s.contains("/bin/jobd reload"))
    );
    let build = v["build"].as_str().expect("build");
    assert!(
        build.contains("/bin/jobd check --config \"$config\""),
        "{build}"
    );
    assert!(
        v["env"]["TZDIR"]
            .as_str()
            .is_some_and(|d| d.ends_with("/share/zoneinfo"))
    );
    // The file: typed keys and the free-form settings merged, nulls left out.
    let text: serde_json::Value =
        serde_json::from_str(v["text"].as_str().expect("text")).expect("JSON is YAML");
    assert_eq!(text["max_concurrent"], 1);
    assert_eq!(text["log_file_keep"], 2);
    assert_eq!(
        text["defaults"],
        serde_json::json!({"environment": {"LANG": "C.UTF-8"}})
    );
    assert_eq!(
        text["jobs"]["nix-index"]["wait_for"],
        serde_json::json!({"ac_power": true})
    );
    assert!(text["jobs"]["nix-index"].get("cron").is_none(), "{text}");
    assert_eq!(
        v["all"]["home"]["packages"].as_array().map(Vec::len),
        Some(1)
    );
    // What `nix build` runs passes and copies the file.
    let out = run_builder(&v);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok: 3 jobs");
}

#[test]
fn home_manager_module_refuses_typos_bad_types_and_bad_schedules() {
    if !have("nix-instantiate", "hm-module") {
        return;
    }
    let typo = home_manager("{ jobs.x = { exec = \"true\"; on_calender = \"daily\"; }; }")
        .expect_err("a typo'd option");
    assert!(
        typo.contains("services.jobd.jobs.x.on_calender' does not exist"),
        "{typo}"
    );
    let bad =
        home_manager("{ jobs.x = { exec = \"true\"; restart = 3; }; }").expect_err("a bad type");
    assert!(
        bad.contains("services.jobd.jobs.x.restart' is not of type"),
        "{bad}"
    );
    // A schedule only jobd can judge: the build fails with jobd's message.
    let v = home_manager("{ jobs.x = { exec = \"true\"; on_calendar = \"Mon..Fri 25:00\"; }; }")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = run_builder(&v);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("jobd.yaml:1:") && err.contains("on_calendar"),
        "{err}"
    );
}

#[test]
fn nixos_module_installs_jobd_and_its_user_unit() {
    if !have("nix-instantiate", "nixos-module") {
        return;
    }
    let v = nix_eval("import ./tests/nix/eval.nix { kind = \"nixos\"; }")
        .unwrap_or_else(|e| panic!("{e}"));
    let unit = &v["systemd"]["user"]["services"]["jobd"];
    assert_eq!(unit["wantedBy"], serde_json::json!(["default.target"]));
    assert_eq!(unit["serviceConfig"]["Type"], "notify");
    assert!(
        unit["serviceConfig"]["ExecReload"]
            .as_str()
            .is_some_and(|s| s.ends_with("/bin/jobd reload"))
    );
    assert_eq!(
        unit["unitConfig"]["ConditionPathExists"],
        "%h/.config/jobd/jobd.yaml"
    );
    assert_eq!(
        v["environment"]["systemPackages"].as_array().map(Vec::len),
        Some(1)
    );
}

/// The README and docs/ are for users: nothing they point at may be
/// outside the repository, and no placeholder URL.
#[test]
fn readme_and_docs_stand_alone() {
    let mut files = vec![
        Path::new(ROOT).join("README.md"),
        Path::new(ROOT).join("contrib/README.md"),
    ];
    for e in std::fs::read_dir(Path::new(ROOT).join("docs"))
        .expect("docs/")
        .flatten()
    {
        files.push(e.path());
    }
    let banned = [
        "SPEC",
        "§",
        "shared folder",
        "design card",
        "github.com/jobd",
        "example.com",
        "…/jobd",
        "../shared",
    ];
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        for b in banned {
            let hits: Vec<(usize, &str)> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains(b))
                .map(|(i, l)| (i + 1, l))
                .collect();
            assert!(hits.is_empty(), "{}: {b:?} at {hits:?}", f.display());
        }
    }
}
