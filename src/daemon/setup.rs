//! What the daemon sets up before its loop: how jobs are held, and where
//! their output and the daemon's own lines go.

use crate::config::Config;
use crate::journal::Log;
use crate::supervise::scope::Containment;

use super::Options;

/// Finds how jobs will be held (a delegated cgroup, or process groups)
/// and says so.
pub(super) fn contain() -> Containment {
    let (containment, why) = Containment::detect();
    if let Some(why) = why {
        crate::log_warn!("{why}");
    }
    match &containment {
        Containment::Cgroup(dir) => {
            crate::log_info!("jobs run in cgroups under {}", dir.display());
            let ended = containment.end_leftovers();
            if !ended.is_empty() {
                crate::log_warn!(
                    "killed what a previous jobd left running in {} run cgroup(s): {}",
                    ended.len(),
                    ended.join(", ")
                );
            }
        }
        Containment::ProcessGroup => {
            crate::log_info!("no delegated cgroup: jobs are held by process groups and subreaping");
        }
    }
    containment
}

/// Opens where job output and the daemon's lines go (inside the runtime).
pub(super) fn open_log(config: &Config, opts: &Options) -> Log {
    let namespace = std::env::var("JOBD_LOG_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| config.log_namespace.clone());
    let mirror = match std::env::var("JOBD_MIRROR_OUTPUT").as_deref() {
        Ok("1") => true,
        Ok("0") => false,
        _ => std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let log = Log::open(
        namespace,
        &opts.state_dir,
        config.log_file_max,
        config.log_file_keep,
        mirror,
    );
    crate::journal::install_daemon_log(&log);
    crate::log_info!("job output goes to {}", log.describe());
    log
}

/// Where the conditions read the kernel's files: `/proc` and `/sys`, or
/// the sysfs tree `JOBD_SYSFS` names (a power supply for machines without
/// one: how the tests drive `ac_power`).
pub(super) fn roots() -> crate::conditions::Roots {
    let mut roots = crate::conditions::Roots::default();
    if let Some(sys) = std::env::var_os("JOBD_SYSFS").filter(|s| !s.is_empty()) {
        crate::log_info!(
            "conditions read power supplies under {} (JOBD_SYSFS)",
            std::path::Path::new(&sys).display()
        );
        roots.sys = sys.into();
    }
    roots
}

/// [`supervise::which`], once per (command, job `PATH`) within one load:
/// 10,000 jobs running the same program cost one search.
pub(in crate::daemon) fn which_cached(
    cache: &mut std::collections::HashMap<(String, Option<String>), Option<std::path::PathBuf>>,
    job: &crate::config::Job,
    manager_path: Option<&str>,
) -> Option<std::path::PathBuf> {
    let path = job.env_var("PATH").or(manager_path).map(str::to_owned);
    let key = (job.argv.first().cloned().unwrap_or_default(), path);
    cache
        .entry(key)
        .or_insert_with(|| crate::supervise::which(job, manager_path))
        .clone()
}
