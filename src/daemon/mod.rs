//! `jobd daemon`: the event loop that owns every job.
//!
//! Theory of operation. One thread, one tokio current-thread runtime, one
//! loop ([`Daemon::run`]) that owns all job state; nothing else mutates
//! it, so there are no locks. The loop waits on:
//! - the wall-clock timer ([`timer::WallTimer`]), armed at the earliest
//!   calendar/cron deadline of all jobs (randomized delay included);
//! - one monotonic `sleep_until` at the earliest relative deadline
//!   (`on_active`, `on_startup`, `timeout`, `stop_timeout`, restarts),
//!   which tokio does not wake for when there is none;
//! - `SIGCHLD`, after which [`supervise::reap`] collects every ended child;
//! - `SIGTERM`/`SIGINT` (stop everything, exit 0) and `SIGHUP` (reload);
//! - requests from the control socket ([`server`]).
//!
//! Idle, with nothing due, none of these fires: the daemon makes no
//! periodic wake-ups. Each turn ends by re-arming the timers and flushing
//! the state store once.
//!
//! Errors are either fatal at start-up (config refused, socket taken) or
//! reported and survived (a job that cannot start, a store that cannot be
//! written, a bad request): the loop never stops for a job's sake.

mod server;
mod timer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::calendar::timestamp;
use crate::calendar::{MktimeState, ZoneSource as _};
use crate::config::{self, Config, Env, Job, JobType};
use crate::ipc::{
    ErrorCode, Finished, JobInfo, ProcessInfo, ReloadReport, Reply, Request, Started, StatusInfo,
};
use crate::journal::{self, Log, Tail, message_id as mid};
use crate::schedule;
use crate::state::{ExitStatus, Run, Store};
use crate::supervise::policy::{self, Cause, Policy, RunResult, Tracker};
use crate::supervise::scope::{Containment, Scope};
use crate::supervise::{self, Exit, signal as signame};
use crate::tzdb::{SystemZones, now_usec};
use server::Incoming;
use timer::{Wake, WallTimer};

/// A daemon message about a job: one line on stderr (a `lifecycle` line,
/// which [`journal::line`] does not send to the journal) and one
/// structured journal entry with `JOBD_JOB`, `JOBD_INVOCATION`, a
/// `MESSAGE_ID` where the event has one, and extra `JOBD_*` fields.
macro_rules! job_event {
    ($log:expr, $id:expr, $level:ident, $job:expr, $inv:expr, [$($k:literal => $v:expr),*], $($fmt:tt)+) => {{
        let message = format!($($fmt)+);
        journal::line(journal::level::$level, true, format_args!("{message}"));
        $log.event(&journal::Event {
            message_id: $id,
            priority: journal::priority_of(journal::level::$level),
            job: $job,
            invocation: $inv,
            message: &message,
            fields: &[$(($k, $v.to_string())),*],
        });
    }};
}

/// Where the daemon finds and keeps things.
#[derive(Clone, Debug)]
pub struct Options {
    pub config: PathBuf,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
}

/// Runs the daemon until SIGTERM/SIGINT. Fatal start-up problems come
/// back as errors (one line each).
pub fn run(opts: &Options) -> anyhow::Result<()> {
    let zones = SystemZones::from_env();
    let config = config::load(&opts.config, &zones, &Env::from_process())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let bound = server::bind(&opts.socket).map_err(|e| anyhow::anyhow!(e))?;
    if let Err(e) = supervise::become_subreaper() {
        crate::log_warn!(
            "cannot become a child subreaper ({e}); orphans of jobs will not be reaped by jobd"
        );
    }
    let (containment, why) = Containment::detect();
    if let Some(why) = why {
        crate::log_warn!("{why}");
    }
    match &containment {
        Containment::Cgroup(dir) => {
            crate::log_info!("jobs run in cgroups under {}", dir.display());
        }
        Containment::ProcessGroup => {
            crate::log_info!("no delegated cgroup: jobs are held by process groups and subreaping");
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("cannot start the event loop")?;
    rt.block_on(async move {
        let (store, warnings) = Store::open(&opts.state_dir);
        for w in warnings {
            crate::log_warn!("{w}");
        }
        let listener = tokio::net::UnixListener::from_std(
            bound
                .listener
                .try_clone()
                .context("cannot use the socket")?,
        )
        .context("cannot use the socket")?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(server::accept_loop(listener, tx));
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
        journal::install_daemon_log(&log);
        crate::log_info!("job output goes to {}", log.describe());
        let mut daemon = Daemon::new(config, zones, store, opts.clone(), containment, log)?;
        daemon.run(rx).await;
        drop(bound);
        Ok(())
    })
}

fn invocation_id() -> String {
    let mut b = [0u8; 16];
    if rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()).is_err() {
        // getrandom(2) does not fail once the pool is initialised; fall
        // back to time and pid rather than stopping a job.
        let t = now_usec().to_le_bytes();
        b[..8].copy_from_slice(&t);
        b[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    u64::from_le_bytes(b)
}

/// A run in progress.
struct Active {
    pid: u32,
    invocation: String,
    start_usec: i64,
    started: Instant,
    trigger: &'static str,
    /// The run's processes (process group, or cgroup).
    scope: Scope,
    timeout_at: Option<Instant>,
    /// SIGKILL to the whole run at this time (after a stop signal).
    kill_at: Option<Instant>,
    stop_requested: bool,
    /// The run's `timeout` passed, or a stop needed SIGKILL: `timeout`.
    timed_out: bool,
    /// The main process ended (result, and when); what is left of the
    /// run is being stopped, and the run ends when nothing is.
    ended: Option<(RunResult, ExitStatus, Instant)>,
    /// Processes were left when the main process ended.
    leftovers: bool,
    /// Where its output goes.
    output: Arc<journal::RunOutput>,
    /// `run-now --wait` clients.
    waiters: Vec<mpsc::UnboundedSender<Reply>>,
    /// `stop` clients, answered when the run has ended.
    stop_waiters: Vec<mpsc::UnboundedSender<Reply>>,
    /// Start again once this run has ended (`restart`, or a reload that
    /// changed a running daemon), with this trigger.
    restart_after: Option<(&'static str, Cause)>,
}

/// A job and what the daemon knows of it.
struct Slot {
    def: Arc<Job>,
    /// `def`'s command as `PATH` found it at load.
    program: Option<PathBuf>,
    /// The job's last output lines.
    tail: Tail,
    /// Stopped by hand: no schedule, no restarts, until `start`.
    stopped: bool,
    /// The last run failed.
    failed: bool,
    run: Option<Active>,
    /// The next calendar/cron elapse and the trigger that produced it.
    elapse: Option<(i64, &'static str)>,
    /// When that elapse fires (randomized delay added).
    fire_at: Option<i64>,
    /// The next relative trigger (`on_active`, `on_startup`).
    mono_at: Option<(Instant, &'static str)>,
    restart_at: Option<Instant>,
    /// Restarts, back-off, start limit, failure streaks.
    tracker: Tracker,
    /// Removed by a reload; dropped once its run ends.
    removed: bool,
}

impl Slot {
    fn new(def: Arc<Job>, program: Option<PathBuf>) -> Slot {
        Slot {
            program,
            tail: Tail::default(),
            def,
            stopped: false,
            failed: false,
            run: None,
            elapse: None,
            fire_at: None,
            mono_at: None,
            restart_at: None,
            tracker: Tracker::default(),
            removed: false,
        }
    }

    /// Forgets every pending trigger.
    fn unschedule(&mut self) {
        self.fire_at = None;
        self.elapse = None;
        self.mono_at = None;
        self.restart_at = None;
    }

    /// Sends the stop signal to the whole run (once) and plans the
    /// SIGKILL after `stop_timeout`. False if nothing is running.
    fn signal_stop(&mut self, mains: &HashMap<u32, usize>) -> bool {
        let Some(run) = &mut self.run else {
            return false;
        };
        if !run.stop_requested {
            run.stop_requested = true;
            run.scope
                .signal(self.def.stop_signal, &|p| mains.contains_key(&p));
            let at = Instant::now() + self.def.stop_timeout;
            run.kill_at = Some(run.kill_at.map_or(at, |k| k.min(at)));
        }
        true
    }

    fn state(&self) -> &'static str {
        match &self.run {
            Some(r) if r.stop_requested || r.timed_out || r.ended.is_some() => "stopping",
            Some(_) => "running",
            None if self.restart_at.is_some() => "restarting",
            None if self.stopped => "stopped",
            None if self.failed || self.tracker.limit_hit => "failed",
            None => "idle",
        }
    }
}

struct Daemon {
    opts: Options,
    zones: SystemZones,
    mktime: MktimeState,
    store: Store,
    config: Config,
    slots: Vec<Slot>,
    index: HashMap<String, usize>,
    /// Main process pid → slot.
    pids: HashMap<u32, usize>,
    /// Runs whose main process ended and whose leftovers are stopping.
    finishing: usize,
    /// SIGTERM/SIGINT came: nothing starts any more.
    shutting_down: bool,
    /// Inside [`Daemon::on_failure`]: a job it starts that fails to start
    /// does not start its own `on_failure` jobs from there (two jobs
    /// naming each other would recurse without end).
    in_on_failure: bool,
    containment: Containment,
    log: Log,
    timer: WallTimer,
    started: Instant,
}

impl Daemon {
    fn new(
        config: Config,
        zones: SystemZones,
        store: Store,
        opts: Options,
        containment: Containment,
        log: Log,
    ) -> anyhow::Result<Daemon> {
        let timer = WallTimer::new().context("cannot create the wall-clock timer")?;
        let mut paths = HashMap::new();
        let slots = config
            .jobs
            .iter()
            .map(|j| Slot::new(Arc::clone(j), which_cached(&mut paths, j)))
            .collect();
        let mut d = Daemon {
            opts,
            zones,
            mktime: MktimeState::default(),
            store,
            config,
            slots,
            index: HashMap::new(),
            pids: HashMap::new(),
            finishing: 0,
            shutting_down: false,
            in_on_failure: false,
            containment,
            log,
            timer,
            started: Instant::now(),
        };
        d.reindex();
        Ok(d)
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.pids.clear();
        for (i, s) in self.slots.iter().enumerate() {
            if !s.removed {
                self.index.insert(s.def.name.clone(), i);
            }
            // A run whose main process was reaped has no pid to map: that
            // number may already belong to another process.
            if let Some(r) = s.run.as_ref().filter(|r| r.ended.is_none()) {
                self.pids.insert(r.pid, i);
            }
        }
    }

    /// Plans the next calendar/cron elapse of slot `i` after `after_usec`.
    fn plan_elapse(&mut self, i: usize, after_usec: i64) {
        let slot = &mut self.slots[i];
        if slot.stopped || !slot.def.enabled || slot.removed {
            slot.elapse = None;
            slot.fire_at = None;
            return;
        }
        let next =
            schedule::next_elapse(&slot.def, after_usec, self.zones.local(), &mut self.mktime);
        slot.elapse = next;
        slot.fire_at = next.map(|(t, _)| {
            t.saturating_add(schedule::randomized_delay_usec(
                slot.def.randomized_delay,
                random_u64(),
            ))
        });
    }

    async fn run(&mut self, mut requests: mpsc::UnboundedReceiver<Incoming>) {
        let (Ok(mut sigchld), Ok(mut sigterm), Ok(mut sigint), Ok(mut sighup)) = (
            signal(SignalKind::child()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            crate::log_error!("cannot install signal handlers; exiting");
            return;
        };
        self.start_up();
        notify("READY=1\n");
        crate::log_info!(
            "jobd ready: {} jobs from {}, control socket {}",
            self.index.len(),
            self.config.path.display(),
            self.opts.socket.display()
        );
        loop {
            self.arm();
            let mono = self.mono_deadline();
            let sleep = async {
                match mono {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(inc) = requests.recv() => self.handle(inc),
                _ = sigchld.recv() => self.reap(),
                wake = self.timer.wait() => self.on_wall(wake),
                () = sleep => self.on_mono(),
                _ = sighup.recv() => {
                    match self.reload() {
                        Ok(r) => crate::log_info!("reloaded on SIGHUP: {}", describe_reload(&r)),
                        Err(e) => crate::log_error!("reload refused, keeping the running config: {e}"),
                    }
                }
                _ = sigterm.recv() => break,
                _ = sigint.recv() => break,
            }
        }
        notify("STOPPING=1\n");
        self.shut_down(&mut sigchld).await;
    }

    fn start_up(&mut self) {
        let now = now_usec();
        for i in 0..self.slots.len() {
            self.plan_elapse(i, now);
            let def = Arc::clone(&self.slots[i].def);
            if !def.enabled {
                continue;
            }
            if let Some(d) = def.on_startup {
                self.slots[i].mono_at = Some((self.started + d, "startup"));
            }
            let last_start = self.store.last(&def.name).map(|r| r.start_usec);
            if schedule::missed_elapse(&def, last_start, now, self.zones.local(), &mut self.mktime)
            {
                job_event!(
                    self.log,
                    None,
                    INFO,
                    &def.name,
                    None,
                    [],
                    "{}: an elapse was missed while jobd was down; running it now (persistent)",
                    def.name
                );
                let _ = self.start(i, "persistent", &[], Cause::Other);
            } else if def.kind == JobType::Simple {
                let _ = self.start(i, "startup", &[], Cause::Other);
            }
        }
    }

    /// Re-arms the wall timer at the earliest `fire_at`, and flushes state.
    fn arm(&mut self) {
        let next = self.slots.iter().filter_map(|s| s.fire_at).min();
        if let Err(e) = self.timer.arm(next) {
            crate::log_error!("cannot arm the wall-clock timer: {e}");
        }
        if let Err(e) = self.store.sync() {
            crate::log_error!("cannot flush the state store: {e}");
        }
    }

    fn mono_deadline(&self) -> Option<Instant> {
        let jobs = self.slots.iter().flat_map(|s| {
            [
                s.mono_at.map(|(t, _)| t),
                s.restart_at,
                s.run.as_ref().and_then(|r| r.timeout_at),
                s.run.as_ref().and_then(|r| r.kill_at),
            ]
        });
        jobs.flatten().min()
    }

    fn on_wall(&mut self, wake: std::io::Result<Wake>) {
        let now = now_usec();
        match wake {
            Ok(Wake::ClockChanged) => {
                crate::log_info!("the system clock changed (or the machine resumed); re-planning");
                for i in 0..self.slots.len() {
                    let due = self.slots[i].fire_at.is_some_and(|t| t <= now);
                    if !due {
                        self.plan_elapse(i, now);
                    }
                }
            }
            Ok(Wake::Due) => {}
            Err(e) => crate::log_error!("wall-clock timer: {e}"),
        }
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            let Some(fire_at) = slot.fire_at else {
                continue;
            };
            if fire_at > now {
                continue;
            }
            let (elapse, trigger) = slot.elapse.unwrap_or((fire_at, "calendar"));
            self.plan_elapse(i, elapse.max(now));
            self.elapse(i, trigger, elapse);
        }
    }

    /// A schedule elapsed for slot `i`: start it unless it is running.
    fn elapse(&mut self, i: usize, trigger: &'static str, elapse_usec: i64) {
        let slot = &self.slots[i];
        if let Some(r) = &slot.run {
            job_event!(
                self.log,
                Some(mid::ELAPSE_SKIPPED),
                WARN,
                &slot.def.name,
                Some(&r.invocation),
                ["JOBD_ELAPSE_USEC" => elapse_usec],
                "{}: elapse of {} skipped: the previous run (pid {}, invocation {}) is still going",
                slot.def.name,
                timestamp::format(elapse_usec, self.zones.local()),
                r.pid,
                r.invocation
            );
            return;
        }
        let _ = self.start(i, trigger, &[], Cause::Other);
    }

    fn on_mono(&mut self) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            if let Some((t, trigger)) = self.slots[i].mono_at
                && t <= now
            {
                self.slots[i].mono_at = None;
                if self.slots[i].run.is_some() {
                    // Still running: count the span again from now, so a
                    // long run does not end the repetition.
                    if let Some(d) = self.slots[i].def.on_active {
                        self.slots[i].mono_at = Some((now + d, "active"));
                    }
                }
                self.elapse(i, trigger, now_usec());
            }
            if self.slots[i].restart_at.is_some_and(|t| t <= now) {
                self.slots[i].restart_at = None;
                let _ = self.start(i, "restart", &[], Cause::Restart);
            }
            let pids = &self.pids;
            let known = |p: u32| pids.contains_key(&p);
            let slot = &mut self.slots[i];
            let name = &slot.def.name;
            let stop_signal = slot.def.stop_signal;
            let stop_timeout = slot.def.stop_timeout;
            let Some(run) = &mut slot.run else {
                continue;
            };
            if run.timeout_at.is_some_and(|t| t <= now) {
                run.timeout_at = None;
                run.timed_out = true;
                job_event!(
                    self.log,
                    None,
                    WARN,
                    name,
                    Some(&run.invocation),
                    [],
                    "{name}: run {} timed out; sending {} to all its processes",
                    run.invocation,
                    signame::name(stop_signal)
                );
                run.scope.signal(stop_signal, &known);
                run.kill_at = Some(now + stop_timeout);
            }
            if run.kill_at.is_some_and(|t| t <= now) {
                run.kill_at = None;
                if run.ended.is_none() {
                    // systemd's result for a stop that needed SIGKILL.
                    run.timed_out = true;
                }
                job_event!(
                    self.log,
                    None,
                    WARN,
                    name,
                    Some(&run.invocation),
                    [],
                    "{name}: processes still there {} after the stop signal; sending SIGKILL",
                    crate::calendar::timespan::format(stop_timeout)
                );
                run.scope.kill(&known);
            }
        }
        self.check_finishing();
    }

    /// Starts slot `i` now. On failure the run is recorded as
    /// `start-failed` and the reason returned.
    fn start(
        &mut self,
        i: usize,
        trigger: &'static str,
        extra_env: &[(String, String)],
        cause: Cause,
    ) -> Result<(u32, String), (String, String)> {
        let invocation = invocation_id();
        let def = Arc::clone(&self.slots[i].def);
        if self.shutting_down {
            job_event!(
                self.log,
                None,
                WARN,
                &def.name,
                None,
                [],
                "{}: not started: jobd is shutting down",
                def.name
            );
            return Err((invocation, "jobd is shutting down".into()));
        }
        let mut env = vec![
            ("JOBD_JOB".to_owned(), def.name.clone()),
            ("JOBD_INVOCATION".to_owned(), invocation.clone()),
        ];
        env.extend_from_slice(extra_env);
        let start_usec = now_usec();
        let now = Instant::now();
        let policy = Policy::of(&def);
        self.slots[i]
            .tracker
            .started(&policy, now - self.started, cause);
        let mut run = Run {
            invocation: invocation.clone(),
            trigger: trigger.to_owned(),
            start_usec,
            pid: None,
            end_usec: None,
            result: None,
            exit_status: None,
            reason: None,
        };
        let spawned = self
            .containment
            .prepare(&def.name)
            .map_err(|e| format!("cannot create the job's cgroup: {e}"))
            .and_then(|cgroup| {
                supervise::spawn(
                    &def,
                    self.slots[i].program.as_deref(),
                    &env,
                    cgroup.as_deref(),
                )
                .map(|sp| (sp, cgroup))
            });
        match spawned {
            Err(reason) => {
                job_event!(
                    self.log,
                    Some(mid::START_FAILED),
                    ERROR,
                    &def.name,
                    Some(&invocation),
                    ["JOBD_RESULT" => "start-failed", "JOBD_TRIGGER" => trigger],
                    "{}: failed to start: {reason}",
                    def.name
                );
                self.record(|s| s.started(&def.name, &run));
                let end = now_usec();
                self.record(|s| {
                    s.ended(
                        &def.name,
                        &invocation,
                        end,
                        "start-failed",
                        None,
                        Some(reason.clone()),
                    )
                });
                self.slots[i].failed = true;
                let decision = self.slots[i].tracker.exited(
                    &policy,
                    now - self.started,
                    Duration::ZERO,
                    RunResult::StartFailed,
                    false,
                );
                // Never straight from here: a command that cannot start
                // would recurse. The restart goes through the loop.
                self.after_decision(i, decision, RunResult::StartFailed, false);
                Err((invocation, reason))
            }
            Ok((sp, cgroup)) => {
                run.pid = Some(sp.pid);
                self.record(|s| s.started(&def.name, &run));
                job_event!(
                    self.log,
                    Some(mid::STARTED),
                    INFO,
                    &def.name,
                    Some(&invocation),
                    ["JOBD_TRIGGER" => trigger, "JOBD_PID" => sp.pid],
                    "{}: started (pid {}, invocation {invocation}, trigger {trigger})",
                    def.name,
                    sp.pid
                );
                let output = self.log.run(
                    &def.name,
                    &invocation,
                    sp.pid,
                    Arc::clone(&self.slots[i].tail),
                );
                let slot = &mut self.slots[i];
                slot.run = Some(Active {
                    output: Arc::clone(&output),
                    pid: sp.pid,
                    invocation: invocation.clone(),
                    start_usec,
                    started: now,
                    trigger,
                    scope: Scope {
                        pgid: sp.pid,
                        invocation: invocation.clone(),
                        cgroup,
                    },
                    timeout_at: def.timeout.map(|t| now + t),
                    kill_at: None,
                    stop_requested: false,
                    timed_out: false,
                    ended: None,
                    leftovers: false,
                    waiters: Vec::new(),
                    stop_waiters: Vec::new(),
                    restart_after: None,
                });
                if let Some(d) = def.on_active
                    && def.enabled
                    && !slot.stopped
                {
                    slot.mono_at = Some((now + d, "active"));
                }
                self.pids.insert(sp.pid, i);
                tokio::spawn(journal::forward(
                    Arc::clone(&output),
                    journal::Stream::Stdout,
                    sp.stdout,
                ));
                tokio::spawn(journal::forward(output, journal::Stream::Stderr, sp.stderr));
                Ok((sp.pid, invocation))
            }
        }
    }

    fn record(&mut self, f: impl FnOnce(&mut Store) -> std::io::Result<()>) {
        if let Err(e) = f(&mut self.store) {
            crate::log_error!(
                "cannot record in the state store {}: {e}",
                self.opts.state_dir.display()
            );
        }
    }

    /// Acts on the restart policy's decision for slot `i`'s ended run;
    /// `restart_now` allows an immediate start (never from inside `start`).
    fn after_decision(
        &mut self,
        i: usize,
        d: policy::Decision,
        result: RunResult,
        restart_now: bool,
    ) {
        let def = Arc::clone(&self.slots[i].def);
        if d.limit_hit {
            job_event!(
                self.log,
                Some(mid::START_LIMIT_HIT),
                ERROR,
                &def.name,
                None,
                [],
                "{}: start limit hit ({} starts within {}): not restarted until `jobd start {}`",
                def.name,
                def.start_limit_burst,
                crate::calendar::timespan::format(def.start_limit_interval),
                def.name
            );
        }
        if let Some(delay) = d.restart_in {
            let n = self.slots[i].tracker.restarts.saturating_add(1);
            if delay.is_zero() && restart_now {
                job_event!(
                    self.log,
                    Some(mid::RESTART_SCHEDULED),
                    INFO,
                    &def.name,
                    None,
                    ["JOBD_RESTART" => n, "JOBD_RESTART_USEC" => 0],
                    "{}: restarting now (restart {n})",
                    def.name
                );
                let _ = self.start(i, "restart", &[], Cause::Restart);
            } else {
                job_event!(
                    self.log,
                    Some(mid::RESTART_SCHEDULED),
                    INFO,
                    &def.name,
                    None,
                    ["JOBD_RESTART" => n, "JOBD_RESTART_USEC" => delay.as_micros()],
                    "{}: restarting in {} (restart {n})",
                    def.name,
                    crate::calendar::timespan::format(delay)
                );
                self.slots[i].restart_at = Some(Instant::now() + delay);
            }
        }
        if d.on_failure {
            self.on_failure(i, result.as_str());
        }
    }

    /// Starts the `on_failure` jobs of slot `i`.
    fn on_failure(&mut self, i: usize, result: &str) {
        let def = Arc::clone(&self.slots[i].def);
        if self.in_on_failure {
            if !def.on_failure.is_empty() {
                job_event!(
                    self.log,
                    None,
                    WARN,
                    &def.name,
                    None,
                    [],
                    "{}: on_failure jobs not started: {} itself was started by on_failure and could not start",
                    def.name,
                    def.name
                );
            }
            return;
        }
        self.in_on_failure = true;
        self.start_on_failure(&def, result);
        self.in_on_failure = false;
    }

    fn start_on_failure(&mut self, def: &Job, result: &str) {
        for other in &def.on_failure {
            let Some(&j) = self.index.get(other) else {
                continue;
            };
            if self.slots[j].run.is_some() {
                job_event!(
                    self.log,
                    None,
                    WARN,
                    other,
                    None,
                    [],
                    "{other}: not started for {}'s failure: already running",
                    def.name
                );
                continue;
            }
            let env = [
                ("JOBD_FAILED_JOB".to_owned(), def.name.clone()),
                ("JOBD_RESULT".to_owned(), result.to_owned()),
            ];
            let _ = self.start(j, "on-failure", &env, Cause::Other);
        }
    }

    /// The one place exit statuses arrive: every ended child of the
    /// daemon, job or adopted orphan.
    fn reap(&mut self) {
        for (pid, exit) in supervise::reap() {
            if let Some(i) = self.pids.remove(&pid) {
                self.main_exited(i, exit);
            }
        }
        self.check_finishing();
    }

    /// The main process of slot `i` ended with `exit`: the result is
    /// known and recorded; whatever else is left of the run is stopped
    /// the same way (stop signal, SIGKILL after `stop_timeout`).
    fn main_exited(&mut self, i: usize, exit: Exit) {
        let def = Arc::clone(&self.slots[i].def);
        let pids = &self.pids;
        let known = |p: u32| pids.contains_key(&p);
        let Some(run) = self.slots[i].run.as_mut().filter(|r| r.ended.is_none()) else {
            return;
        };
        let end = now_usec();
        let stopped_with = run.stop_requested.then_some(def.stop_signal);
        let result = RunResult::of(def.kind, exit, run.timed_out, stopped_with);
        let status = exit_status(exit);
        let (shown, status_text) = match &status {
            ExitStatus::Code(c) => (format!("status={c}"), c.to_string()),
            ExitStatus::Signal(s) => (format!("signal={s}"), s.clone()),
        };
        let took = u64::try_from(end - run.start_usec).unwrap_or(0);
        // After the run's last output line, in the journal and on stderr.
        run.output.after_output(journal::OwnedEvent {
            message_id: Some(mid::FINISHED),
            level: journal::Level::Info,
            job: def.name.clone(),
            invocation: Some(run.invocation.clone()),
            message: format!(
                "{}: finished: result {}, {shown}, after {} (invocation {})",
                def.name,
                result.as_str(),
                crate::calendar::timespan::format_usec(took, 1000),
                run.invocation
            ),
            fields: vec![
                ("JOBD_RESULT", result.as_str().to_owned()),
                ("JOBD_EXIT_STATUS", status_text),
                ("JOBD_DURATION_USEC", took.to_string()),
            ],
        });
        run.ended = Some((result, status.clone(), Instant::now()));
        run.timeout_at = None;
        let invocation = run.invocation.clone();
        if run.scope.alive(&known) {
            run.leftovers = true;
            job_event!(
                self.log,
                None,
                INFO,
                &def.name,
                Some(&invocation),
                [],
                "{}: stopping what is left of run {invocation} ({})",
                def.name,
                signame::name(def.stop_signal)
            );
            run.scope.signal(def.stop_signal, &known);
            let at = Instant::now() + def.stop_timeout;
            run.kill_at = Some(run.kill_at.map_or(at, |k| k.min(at)));
        }
        self.finishing += 1;
        self.record(|s| {
            s.ended(
                &def.name,
                &invocation,
                end,
                result.as_str(),
                Some(status),
                None,
            )
        });
    }

    /// Ends every run whose main process has ended and of which nothing
    /// is left.
    fn check_finishing(&mut self) {
        if self.finishing == 0 {
            return;
        }
        let mut i = 0;
        while i < self.slots.len() {
            let done = {
                let pids = &self.pids;
                let known = |p: u32| pids.contains_key(&p);
                self.slots[i]
                    .run
                    .as_ref()
                    .is_some_and(|r| r.ended.is_some() && !r.scope.alive(&known))
            };
            if done && self.complete(i) {
                // Slot `i` was removed: the next one moved into its place.
                continue;
            }
            i += 1;
        }
    }

    /// Slot `i`'s run is over: answer its clients, then restart, start
    /// `on_failure` jobs, or rest, as the policy says. True if the slot
    /// itself went (removed by a reload).
    fn complete(&mut self, i: usize) -> bool {
        let Some(run) = self.slots[i].run.take() else {
            return false;
        };
        let Some((result, status, ended)) = run.ended.clone() else {
            self.slots[i].run = Some(run);
            return false;
        };
        self.finishing = self.finishing.saturating_sub(1);
        run.scope.remove();
        let def = Arc::clone(&self.slots[i].def);
        if run.leftovers {
            job_event!(
                self.log,
                None,
                INFO,
                &def.name,
                Some(&run.invocation),
                [],
                "{}: the rest of run {} has ended",
                def.name,
                run.invocation
            );
        }
        let finished = Finished {
            name: def.name.clone(),
            invocation: run.invocation.clone(),
            result: result.as_str().to_owned(),
            exit_status: Some(status),
            reason: None,
            duration_usec: i64::try_from(ended.duration_since(run.started).as_micros())
                .unwrap_or(i64::MAX),
        };
        for w in run.waiters.iter().chain(&run.stop_waiters) {
            let _ = w.send(Reply::ok(&finished));
        }
        let slot = &mut self.slots[i];
        slot.failed = result != RunResult::Success;
        if slot.removed {
            self.slots.remove(i);
            self.reindex();
            return true;
        }
        let decision = slot.tracker.exited(
            &Policy::of(&def),
            ended - self.started,
            ended.duration_since(run.started),
            result,
            run.stop_requested || slot.stopped || run.restart_after.is_some(),
        );
        if let Some((trigger, cause)) = run.restart_after {
            let _ = self.start(i, trigger, &[], cause);
            if decision.on_failure {
                self.on_failure(i, result.as_str());
            }
        } else {
            self.after_decision(i, decision, result, true);
        }
        false
    }

    fn handle(&mut self, inc: Incoming) {
        let Incoming { req, reply } = inc;
        let name = match &req {
            Request::Status { name }
            | Request::RunNow { name, .. }
            | Request::Start { name }
            | Request::Stop { name }
            | Request::Restart { name }
            | Request::History { name, .. }
            | Request::LogSource { name } => Some(name.clone()),
            Request::List | Request::Reload => None,
        };
        let idx = match &name {
            Some(n) => match self.index.get(n) {
                Some(&i) => Some(i),
                None => {
                    let hint = config::did_you_mean(n, self.index.keys().map(String::as_str))
                        .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
                    let _ = reply.send(Reply::err(
                        ErrorCode::UnknownJob,
                        format!("unknown job `{n}`{hint} (see `jobd list`)"),
                    ));
                    return;
                }
            },
            None => None,
        };
        let r = match (req, idx) {
            (Request::List, _) => {
                let now = now_usec();
                let infos: Vec<JobInfo> = (0..self.slots.len())
                    .filter(|&i| !self.slots[i].removed)
                    .map(|i| self.info(i, now))
                    .collect();
                Reply::ok(infos)
            }
            (Request::Reload, _) => match self.reload() {
                Ok(report) => {
                    crate::log_info!("reloaded: {}", describe_reload(&report));
                    Reply::ok(report)
                }
                Err(e) => Reply::err(ErrorCode::Failed, e),
            },
            (Request::Status { .. }, Some(i)) => Reply::ok(self.status(i)),
            (Request::History { n, .. }, Some(i)) => {
                let runs: Vec<Run> = self
                    .store
                    .runs(&self.slots[i].def.name)
                    .rev()
                    .take(n)
                    .cloned()
                    .collect();
                Reply::ok(runs)
            }
            (Request::RunNow { wait, .. }, Some(i)) => {
                self.run_now(i, wait, reply);
                return;
            }
            (Request::Start { .. }, Some(i)) => {
                self.resume(i);
                self.run_now(i, false, reply);
                return;
            }
            (Request::Stop { .. }, Some(i)) => {
                self.stop(i, reply, false);
                return;
            }
            (Request::Restart { .. }, Some(i)) => {
                if self.slots[i].run.is_some() {
                    self.slots[i].stopped = false;
                    self.stop(i, reply, true);
                } else {
                    self.resume(i);
                    self.run_now(i, false, reply);
                }
                return;
            }
            (Request::LogSource { .. }, Some(i)) => Reply::ok(self.log_source(i)),
            (_, None) => Reply::err(ErrorCode::BadRequest, "request needs a job name"),
        };
        let _ = reply.send(r);
    }

    /// Undoes `stop`: the job's schedule applies again.
    fn resume(&mut self, i: usize) {
        self.slots[i].stopped = false;
        self.slots[i].restart_at = None;
        self.plan_elapse(i, now_usec());
    }

    /// A manual start (`run-now`, `start`, `restart`); with `wait`, the
    /// client also gets the run's end.
    fn run_now(&mut self, i: usize, wait: bool, reply: mpsc::UnboundedSender<Reply>) {
        let name = self.slots[i].def.name.clone();
        if let Some(run) = &mut self.slots[i].run {
            let _ = reply.send(Reply::ok(Started {
                name,
                pid: Some(run.pid),
                invocation: Some(run.invocation.clone()),
                already_running: true,
                error: None,
            }));
            if wait {
                run.waiters.push(reply);
            }
            return;
        }
        self.slots[i].restart_at = None;
        match self.start(i, "manual", &[], Cause::Manual) {
            Ok((pid, invocation)) => {
                let _ = reply.send(Reply::ok(Started {
                    name,
                    pid: Some(pid),
                    invocation: Some(invocation),
                    already_running: false,
                    error: None,
                }));
                if wait && let Some(run) = &mut self.slots[i].run {
                    run.waiters.push(reply);
                }
            }
            Err((invocation, reason)) => {
                let _ = reply.send(Reply::ok(Started {
                    name: name.clone(),
                    pid: None,
                    invocation: Some(invocation.clone()),
                    already_running: false,
                    error: Some(reason.clone()),
                }));
                if wait {
                    let _ = reply.send(Reply::ok(Finished {
                        name,
                        invocation,
                        result: "start-failed".into(),
                        exit_status: None,
                        reason: Some(reason),
                        duration_usec: 0,
                    }));
                }
            }
        }
    }

    /// `stop` (and the first half of `restart`): signal the group, answer
    /// when the run has ended.
    fn stop(&mut self, i: usize, reply: mpsc::UnboundedSender<Reply>, restart: bool) {
        let slot = &mut self.slots[i];
        if !restart {
            slot.stopped = true;
            slot.unschedule();
        }
        slot.restart_at = None;
        let def = Arc::clone(&slot.def);
        slot.signal_stop(&self.pids);
        let Some(run) = &mut slot.run else {
            let _ = reply.send(Reply::ok(
                serde_json::json!({"name": def.name, "was_running": false}),
            ));
            return;
        };
        if restart {
            run.restart_after = Some(("manual", Cause::Manual));
            let _ = reply.send(Reply::ok(Started {
                name: def.name.clone(),
                pid: None,
                invocation: None,
                already_running: true,
                error: None,
            }));
        } else {
            run.stop_waiters.push(reply);
        }
    }

    fn info(&self, i: usize, now: i64) -> JobInfo {
        let slot = &self.slots[i];
        let def = &slot.def;
        let zone = self.zones.local();
        let mono_next = slot.mono_at.map(|(t, _)| {
            let left = t.saturating_duration_since(Instant::now());
            now + i64::try_from(left.as_micros()).unwrap_or(i64::MAX)
        });
        let next_usec = if slot.stopped || !def.enabled {
            None
        } else {
            [slot.fire_at, mono_next].into_iter().flatten().min()
        };
        let last = self.store.last(&def.name);
        let ended = self.store.last_ended(&def.name);
        JobInfo {
            name: def.name.clone(),
            kind: def.kind.as_str().to_owned(),
            state: slot.state().to_owned(),
            enabled: def.enabled,
            schedule: def.schedule_texts(),
            next_run: next_usec.map(|t| timestamp::format_rfc3339(t, zone)),
            last_start: last.map(|r| timestamp::format_rfc3339(r.start_usec, zone)),
            last_exit: ended
                .and_then(|r| r.end_usec)
                .map(|t| timestamp::format_rfc3339(t, zone)),
            last_result: ended.and_then(|r| r.result.clone()),
            exit_status: ended.and_then(|r| r.exit_status.clone()),
            pid: slot
                .run
                .as_ref()
                .filter(|r| r.ended.is_none())
                .map(|r| r.pid),
            restarts: slot.tracker.restarts,
            next_usec,
            last_start_usec: last.map(|r| r.start_usec),
        }
    }

    fn status(&self, i: usize) -> StatusInfo {
        let now = now_usec();
        let slot = &self.slots[i];
        let known = |p: u32| self.pids.contains_key(&p);
        let tree = slot.run.as_ref().map(|r| {
            let t = supervise::tree(&r.scope.pids(&known));
            let memory = r.scope.memory_bytes(&t.procs);
            let cpu = r.scope.cpu_usec(&t.procs);
            (t, memory, cpu)
        });
        StatusInfo {
            job: self.info(i, now),
            description: slot.def.description.clone(),
            config: self.config.path.display().to_string(),
            exec: slot.def.argv.clone(),
            last_run: self.store.last_ended(&slot.def.name).cloned(),
            invocation: slot.run.as_ref().map(|r| r.invocation.clone()),
            processes: tree
                .as_ref()
                .map(|(t, _, _)| {
                    t.processes
                        .iter()
                        .map(|(pid, depth, cmdline)| ProcessInfo {
                            pid: *pid,
                            depth: *depth,
                            cmdline: cmdline.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            memory_bytes: tree.as_ref().map(|t| t.1),
            cpu_usec: tree.as_ref().map(|t| t.2),
            containment: self.containment.as_str().to_owned(),
            cgroup: slot
                .run
                .as_ref()
                .and_then(|r| r.scope.cgroup.as_ref())
                .map(|c| c.display().to_string()),
            restart_usec: slot.restart_at.map(|t| {
                let left = t.saturating_duration_since(Instant::now());
                now + i64::try_from(left.as_micros()).unwrap_or(i64::MAX)
            }),
            start_limit_hit: slot.tracker.limit_hit,
            logs: self.log.describe(),
            log_dropped: self.log.dropped(),
            now_usec: now,
            run_start_usec: slot.run.as_ref().map(|r| r.start_usec),
            run_trigger: slot.run.as_ref().map(|r| r.trigger.to_owned()),
            log: slot
                .tail
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned()
                .collect(),
        }
    }

    fn log_source(&self, i: usize) -> crate::ipc::LogSource {
        let slot = &self.slots[i];
        let (kind, files, current_file) = match &self.log.sink {
            journal::Sink::Journal(_) => ("journal", Vec::new(), None),
            journal::Sink::Files(f) => (
                "files",
                journal::files::files_of(&f.dir, &slot.def.name)
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                Some(
                    f.dir
                        .join(format!("{}.log", slot.def.name))
                        .display()
                        .to_string(),
                ),
            ),
        };
        crate::ipc::LogSource {
            kind: kind.to_owned(),
            namespace: self.log.namespace.clone(),
            files,
            current_file,
            last_invocation: slot.run.as_ref().map(|r| r.invocation.clone()).or_else(|| {
                self.store
                    .last(&slot.def.name)
                    .map(|r| r.invocation.clone())
            }),
        }
    }

    /// Re-reads the config. Refused: the old one stays, and why comes back.
    fn reload(&mut self) -> Result<ReloadReport, String> {
        notify_reloading();
        let loaded = config::load(&self.opts.config, &self.zones, &Env::from_process());
        let config = match loaded {
            Ok(c) => c,
            Err(e) => {
                notify("READY=1\n");
                return Err(format!("config refused, the running one is kept: {e}"));
            }
        };
        let mut report = ReloadReport::default();
        let now = now_usec();
        let new_names: HashMap<&str, &Arc<Job>> =
            config.jobs.iter().map(|j| (j.name.as_str(), j)).collect();
        // Removed jobs: stop them; their slot goes when the run ends.
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            if slot.removed || new_names.contains_key(slot.def.name.as_str()) {
                continue;
            }
            report.removed.push(slot.def.name.clone());
            slot.removed = true;
            slot.unschedule();
            slot.signal_stop(&self.pids);
        }
        self.slots.retain(|s| !s.removed || s.run.is_some());
        self.reindex();
        // Commands are looked up in PATH again, as at start-up: a binary
        // installed since is found after a reload.
        let mut paths = HashMap::new();
        for slot in &mut self.slots {
            let def = new_names
                .get(slot.def.name.as_str())
                .copied()
                .unwrap_or(&slot.def);
            slot.program = which_cached(&mut paths, def);
        }
        for job in &config.jobs {
            match self
                .index
                .get(&job.name)
                .copied()
                .filter(|&i| !self.slots[i].removed)
            {
                None => {
                    report.added.push(job.name.clone());
                    let program = which_cached(&mut paths, job);
                    self.slots.push(Slot::new(Arc::clone(job), program));
                    let i = self.slots.len() - 1;
                    self.reindex();
                    self.plan_elapse(i, now);
                    if job.enabled {
                        if let Some(d) = job.on_startup {
                            // The daemon started long ago: count from now.
                            self.slots[i].mono_at = Some((Instant::now() + d, "startup"));
                        }
                        if job.kind == JobType::Simple {
                            let _ = self.start(i, "startup", &[], Cause::Other);
                        }
                    }
                }
                Some(i) if *self.slots[i].def != **job => {
                    report.changed.push(job.name.clone());
                    let slot = &mut self.slots[i];
                    slot.def = Arc::clone(job);
                    slot.mono_at = None;
                    self.plan_elapse(i, now);
                    let slot = &mut self.slots[i];
                    if let (Some(d), true) = (job.on_active, job.enabled) {
                        slot.mono_at = Some((Instant::now() + d, "active"));
                    }
                    // A changed daemon restarts with its new definition; a
                    // running oneshot finishes as it began.
                    if job.kind == JobType::Simple
                        && let Some(run) = &mut slot.run
                        && !run.stop_requested
                    {
                        run.restart_after = Some(("startup", Cause::Other));
                        slot.signal_stop(&self.pids);
                    } else if job.kind == JobType::Simple
                        && slot.run.is_none()
                        && job.enabled
                        && !slot.stopped
                    {
                        let _ = self.start(i, "startup", &[], Cause::Other);
                    }
                }
                Some(_) => {}
            }
        }
        // File order for `list`, then the removed ones still finishing.
        let order: HashMap<&str, usize> = config
            .jobs
            .iter()
            .enumerate()
            .map(|(k, j)| (j.name.as_str(), k))
            .collect();
        self.slots.sort_by_key(|s| {
            if s.removed {
                usize::MAX
            } else {
                order
                    .get(s.def.name.as_str())
                    .copied()
                    .unwrap_or(usize::MAX)
            }
        });
        self.config = config;
        self.reindex();
        notify("READY=1\n");
        Ok(report)
    }

    /// SIGTERM/SIGINT: stop every job (stop signal, then SIGKILL after its
    /// stop_timeout), wait for them, flush state.
    async fn shut_down(&mut self, sigchld: &mut tokio::signal::unix::Signal) {
        self.shutting_down = true;
        let now = Instant::now();
        let mut deadline = now;
        for slot in &mut self.slots {
            slot.unschedule();
            slot.stopped = true;
            if slot.signal_stop(&self.pids) {
                deadline = deadline.max(now + slot.def.stop_timeout);
            }
        }
        crate::log_info!("stopping {} running job(s)", self.pids.len());
        while self.slots.iter().any(|s| s.run.is_some()) {
            let next = self
                .mono_deadline()
                .unwrap_or(deadline + Duration::from_secs(1));
            tokio::select! {
                _ = sigchld.recv() => self.reap(),
                () = tokio::time::sleep_until(next.into()) => self.on_mono(),
            }
            if Instant::now() > deadline + Duration::from_secs(5) {
                crate::log_error!("jobs did not end after SIGKILL; exiting anyway");
                break;
            }
        }
        for slot in &self.slots {
            if let Some(run) = &slot.run {
                run.scope.kill(&|_| false);
            }
        }
        self.reap();
        if let Err(e) = self.store.sync() {
            crate::log_error!("cannot flush the state store: {e}");
        }
        crate::log_info!("jobd stopped");
    }
}

/// [`supervise::which`], once per (command, job `PATH`) within one load:
/// 10,000 jobs running the same program cost one search.
fn which_cached(
    cache: &mut HashMap<(String, Option<String>), Option<PathBuf>>,
    job: &Job,
) -> Option<PathBuf> {
    let path = job.env_var("PATH").map(str::to_owned);
    let key = (job.argv.first().cloned().unwrap_or_default(), path);
    cache
        .entry(key)
        .or_insert_with(|| supervise::which(job))
        .clone()
}

fn exit_status(exit: Exit) -> ExitStatus {
    match exit {
        Exit::Code(c) => ExitStatus::Code(c),
        Exit::Signal(s) => ExitStatus::Signal(signame::name(s)),
    }
}

fn describe_reload(r: &ReloadReport) -> String {
    if r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty() {
        return "no changes".into();
    }
    let mut parts = Vec::new();
    for (what, list) in [
        ("added", &r.added),
        ("removed", &r.removed),
        ("changed", &r.changed),
    ] {
        if !list.is_empty() {
            parts.push(format!("{what} {}", list.join(", ")));
        }
    }
    parts.join("; ")
}

/// sd_notify(3), never blocking: one datagram to `$NOTIFY_SOCKET` (a
/// path, or `@name` in the abstract namespace) with `MSG_DONTWAIT`. The
/// `sd-notify` crate sends blocking, so a reader that stops reading (a
/// full queue: 10 datagrams by the kernel's default) froze the whole
/// event loop — the fault suite's reload test found it. A message that
/// finds the queue full is dropped with a warning; systemd never lets its
/// queue fill.
fn notify(text: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notify(&path, text) {
        crate::log_warn!(
            "sd_notify to {}: {e} (message dropped)",
            path.to_string_lossy()
        );
    }
}

fn send_notify(path: &std::ffi::OsStr, text: &str) -> std::io::Result<()> {
    use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};
    use std::os::unix::ffi::OsStrExt as _;
    let sock = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddrUnix::new_abstract_name(name)?,
        None => SocketAddrUnix::new(path)?,
    };
    rustix::net::sendto(
        &sock,
        text.as_bytes(),
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        &addr,
    )?;
    Ok(())
}

fn notify_reloading() {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let usec = now.tv_sec * 1_000_000 + now.tv_nsec / 1000;
    notify(&format!("RELOADING=1\nMONOTONIC_USEC={usec}\n"));
}
