//! `jobd daemon`: the event loop that carries out every job's lifecycle.
//!
//! Theory of operation. One thread, one tokio current-thread runtime, one
//! loop ([`Daemon::run`]) that owns all job state; nothing else mutates
//! it, so there are no locks. Every decision about a job is made by its
//! [`Lifecycle`] (pure, in [`crate::lifecycle`]); this module is the pump
//! around it. The loop waits on:
//! - the wall-clock timer ([`timer::WallTimer`]), armed at the earliest
//!   calendar/cron deadline of all jobs (randomized delay included);
//! - one monotonic `sleep_until` at the earliest relative deadline
//!   (`on_active`, `on_startup`, `timeout`, `stop_timeout`, restarts),
//!   which tokio does not wake for when there is none;
//! - `SIGCHLD`, after which [`supervise::reap`] collects every ended child;
//! - `SIGTERM`/`SIGINT` (stop everything, exit 0) and `SIGHUP` (reload);
//! - requests from the control socket ([`server`], [`handlers`]).
//!
//! Each of these becomes a lifecycle [`Event`] for the jobs it concerns;
//! [`Daemon::step`] feeds it in and carries out the [`Action`]s that come
//! back ([`pump`]), which may produce further events (a spawn's outcome,
//! another job's `on_failure`), handled in order in the same turn.
//!
//! Idle, with nothing due, none of these fires: the daemon makes no
//! periodic wake-ups. Each turn ends by re-arming the timers and flushing
//! the state store once.
//!
//! Jobs are addressed by a [`JobId`] that never changes and is never
//! reused: a job a reload removed and re-added while its old run is still
//! stopping is two jobs with one name, and each run's events find their
//! own.
//!
//! Errors are either fatal at start-up (config refused, socket taken) or
//! reported and survived (a job that cannot start, a store that cannot be
//! written, a bad request): the loop never stops for a job's sake.

mod controls;
mod handlers;
mod held;
mod metrics;
mod notice;
mod notify;
mod pump;
mod server;
mod setup;
mod shutdown;
mod signals;
mod timer;
mod watch;
mod world;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::mpsc;

use crate::calendar::{MktimeState, ZoneSource as _};
use crate::config::{self, Config, Env, Job};
use crate::ipc::Reply;
use crate::journal::{Log, Tail};
use crate::lifecycle::{Client, Event, Lifecycle, Now};
use crate::schedule;
use crate::state::Store;
use crate::supervise::scope::{Containment, Scope};
use crate::supervise::{self};
use crate::tzdb::{SystemZones, now_usec};
use notify::notify;
use server::Incoming;
use timer::{Wake, WallTimer};
use watch::Watch;
use world::{Planner, Slots};

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
    supervise::hygiene::prepare();
    let zones = SystemZones::from_env();
    let config = config::load(&opts.config, &zones, &Env::from_process())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state_lock = crate::state::lock(&opts.state_dir).map_err(|e| anyhow::anyhow!(e))?;
    let bound = server::bind(&opts.socket).map_err(|e| anyhow::anyhow!(e))?;
    if let Err(e) = supervise::become_subreaper() {
        crate::log_warn!(
            "cannot become a child subreaper ({e}); orphans of jobs will not be reaped by jobd"
        );
    }
    let containment = setup::contain();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .on_thread_park(supervise::memory::at_park)
        .build()
        .context("cannot start the event loop")?;
    serve(
        &rt,
        Box::pin(async move {
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
            let log = setup::open_log(&config, opts);
            let timer = WallTimer::new().context("cannot create the wall-clock timer")?;
            let mut daemon = Daemon {
                opts: opts.clone(),
                zones,
                mktime: MktimeState::default(),
                store,
                config: Arc::new(config),
                jobs: BTreeMap::new(),
                names: HashMap::new(),
                next_id: 0,
                pids: HashMap::new(),
                clients: HashMap::new(),
                next_client: 0,
                containment,
                log,
                timer,
                started: Instant::now(),
                store_failing: false,
                watch: Watch::new(setup::roots()),
                slots: Slots::default(),
                recheck: false,
                busy: std::collections::HashSet::new(),
                manager_env: Vec::new(),
                switches: std::collections::BTreeSet::new(),
                metrics_due: false,
                metrics_failing: false,
                helpers: HashMap::new(),
            };
            daemon.run(rx).await;
            drop(bound);
            drop(state_lock);
            Ok(())
        }),
    )
}

/// Runs the daemon's future on the event loop. The future is boxed so that
/// its code stays out of this function: what is left is the loop that
/// polls it and parks, which runs right after an idle shed and so sits in
/// the same text section as the shed itself (see `supervise::memory`).
// SAFETY: the section only places the code: `.text.hot.*` is an
// ordinary executable text section that every linker merges into `.text`.
#[allow(unsafe_code)]
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.jobd_idle"))]
#[inline(never)]
fn serve(
    rt: &tokio::runtime::Runtime,
    daemon: std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + '_>>,
) -> anyhow::Result<()> {
    rt.block_on(daemon)
}

/// How often records the state store could not write are tried again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// A job's key for the daemon's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(u64);

/// A job and what the daemon holds for it beside its lifecycle.
struct Slot {
    life: Lifecycle,
    /// The job's command as `PATH` found it at load.
    program: Option<PathBuf>,
    /// The job's last output lines.
    tail: Tail,
    /// Lines of the job's that went to its file instead of the journal.
    to_file: Arc<std::sync::atomic::AtomicU64>,
    /// The run in progress: its processes and its output.
    io: Option<RunIo>,
    /// What systemd-inhibit said when it last refused (`inhibit`).
    inhibit_refused: Option<String>,
    /// The output of the run last released, while its lines are still
    /// being delivered (a waiting client hears of the end after them).
    last_output: std::sync::Weak<crate::journal::RunOutput>,
}

struct RunIo {
    scope: Scope,
    output: Arc<crate::journal::RunOutput>,
}

struct Daemon {
    opts: Options,
    zones: SystemZones,
    mktime: MktimeState,
    store: Store,
    /// The state store refused a write and has not taken all since.
    store_failing: bool,
    config: Arc<Config>,
    /// Boxed: a B-tree node holds eleven entries and is seldom full, and a
    /// slot is a few hundred bytes.
    jobs: BTreeMap<JobId, Box<Slot>>,
    /// The jobs of the running config, by name (a removed job still
    /// stopping is in `jobs` only).
    names: HashMap<String, JobId>,
    next_id: u64,
    /// Main process pid → job, while it runs.
    pids: HashMap<u32, JobId>,
    /// Connections waiting for an answer.
    clients: HashMap<Client, mpsc::UnboundedSender<Reply>>,
    next_client: u64,
    containment: Containment,
    log: Log,
    timer: WallTimer,
    started: Instant,
    /// The kernel's news about `wait_for` conditions.
    watch: Watch,
    /// `max_concurrent` and its use.
    slots: Slots,
    /// A condition changed or a slot came free: held runs ask again.
    recheck: bool,
    /// Jobs running or queued, by name (for `after`).
    busy: std::collections::HashSet<String>,
    /// `set-environment`: what every run gets below its own environment.
    manager_env: Vec<(String, String)>,
    /// Jobs switched off by `jobd disable` (kept in the state directory).
    switches: std::collections::BTreeSet<String>,
    /// A run ended since `metrics_file` was written; writing it failed.
    metrics_due: bool,
    metrics_failing: bool,
    /// Helper processes of runs (`inhibit`) → their job.
    helpers: HashMap<u32, controls::Inhibitor>,
}

impl Daemon {
    fn now(&self) -> Now {
        Now {
            mono: self.started.elapsed(),
            wall_usec: now_usec(),
        }
    }

    /// Feeds `event` to job `id` and carries out what it says, and the
    /// events that follows from that, in order.
    fn step(&mut self, id: JobId, event: Event) {
        let mut queue = VecDeque::from([(id, event)]);
        while let Some((id, event)) = queue.pop_front() {
            let now = self.now();
            let Some(slot) = self.jobs.get_mut(&id) else {
                continue;
            };
            let before = held::load(&slot.life);
            let mut world = Planner {
                zones: &self.zones,
                mktime: &mut self.mktime,
                facts: &self.watch.facts,
                slots: self.slots,
                busy: &self.busy,
            };
            let actions = slot.life.step(event, now, &mut world);
            let after = held::load(&slot.life);
            if before != after {
                let name = slot.life.name().to_owned();
                self.account(&name, before, after);
            }
            for action in actions {
                self.carry_out(id, action, &mut queue);
            }
        }
    }

    /// Adds a job of the running config (switched off if `disable`d).
    fn add_job(&mut self, def: Arc<Job>, program: Option<PathBuf>) -> JobId {
        let id = JobId(self.next_id);
        self.next_id += 1;
        self.names.insert(def.name.clone(), id);
        let mut life = Lifecycle::new(def);
        if self.switches.contains(life.name()) {
            life.switch_off();
        }
        self.jobs.insert(
            id,
            Box::new(Slot {
                life,
                program,
                tail: Tail::default(),
                to_file: Arc::default(),
                io: None,
                inhibit_refused: None,
                last_output: std::sync::Weak::new(),
            }),
        );
        id
    }

    /// The ids of jobs that pass `f`, for stepping them one by one.
    fn ids_where(&self, f: impl Fn(&Lifecycle) -> bool) -> Vec<JobId> {
        self.jobs
            .iter()
            .filter(|(_, s)| f(&s.life))
            .map(|(id, _)| *id)
            .collect()
    }

    async fn run(&mut self, mut requests: mpsc::UnboundedReceiver<Incoming>) {
        let mut signals = match signals::Signals::install() {
            Ok(s) => s,
            Err(e) => {
                crate::log_error!("cannot install signal handlers ({e}); exiting");
                return;
            }
        };
        supervise::hygiene::release_hangup();
        self.start_up();
        notify("READY=1\n");
        crate::log_info!(
            "jobd ready: {} jobs from {}, control socket {}",
            self.names.len(),
            self.config.path.display(),
            self.opts.socket.display()
        );
        // Start-up's code and heap are not needed while idle.
        supervise::memory::shed_at_next_park();
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
                got = signals.recv() => {
                    if got.child {
                        self.reap();
                    }
                    if got.stop {
                        break;
                    }
                    if got.hangup {
                        self.reload_on_sighup();
                    }
                }
                wake = self.timer.wait() => self.on_wall(wake),
                () = self.watch.changed() => self.on_conditions(),
                () = sleep => self.on_mono(),
            }
            self.recheck_held();
        }
        notify("STOPPING=1\n");
        self.shut_down(&mut signals).await;
    }

    fn start_up(&mut self) {
        self.configure_watch();
        let (switches, warning) = crate::state::switches::load(&self.opts.state_dir);
        if let Some(w) = warning {
            crate::log_warn!("{w}");
        }
        self.switches = switches;
        let now = now_usec();
        let mut paths = HashMap::new();
        let config = Arc::clone(&self.config);
        self.warn_controls(config.jobs.iter().map(|j| &**j));
        // Every job is there before any starts: a job's first run may
        // chain to one later in the file (`on_failure`, `on_success`).
        let mut loads = Vec::with_capacity(config.jobs.len());
        for def in &config.jobs {
            let last_start = self.store.last(&def.name).map(|r| r.start_usec);
            let missed =
                schedule::missed_elapse(def, last_start, now, self.zones.local(), &mut self.mktime);
            let id = self.add_job(Arc::clone(def), setup::which_cached(&mut paths, def, None));
            loads.push((id, missed));
        }
        for (id, missed) in loads {
            self.step(id, Event::Load { missed });
        }
    }

    /// Re-arms the wall timer at the earliest deadline, and flushes state.
    fn arm(&mut self) {
        let next = self
            .jobs
            .values()
            .filter_map(|s| s.life.wall_deadline())
            .min();
        if let Err(e) = self.timer.arm(next) {
            crate::log_error!("cannot arm the wall-clock timer: {e}");
        }
        let synced = self.store.sync();
        self.store_outcome(synced);
        self.write_metrics();
    }

    fn mono_deadline(&self) -> Option<Instant> {
        let next = self
            .jobs
            .values()
            .filter_map(|s| s.life.mono_deadline())
            .min();
        // A deadline too far to represent (`timeout: infinity`) is none.
        let next = next.and_then(|t| self.started.checked_add(t));
        // Records the disk would not take are tried again every second,
        // not only when something else happens.
        let retry = (self.store.unwritten() > 0).then(|| Instant::now() + STORE_RETRY);
        next.into_iter().chain(retry).min()
    }

    fn on_wall(&mut self, wake: std::io::Result<Wake>) {
        let changed = match wake {
            Ok(Wake::ClockChanged) => {
                crate::log_info!("the system clock changed (or the machine resumed); re-planning");
                true
            }
            Ok(Wake::Due) => false,
            Err(e) => {
                crate::log_error!("wall-clock timer: {e}");
                false
            }
        };
        let now = now_usec();
        let due = self.ids_where(|l| changed || l.wall_deadline().is_some_and(|t| t <= now));
        for id in due {
            self.step(id, Event::WallClock { changed });
        }
    }

    fn on_mono(&mut self) {
        let now = self.now().mono;
        for id in self.ids_where(|l| l.mono_deadline().is_some_and(|t| t <= now)) {
            self.step(id, Event::Timer);
        }
        self.check_finishing();
    }

    /// The one place exit statuses arrive: every ended child of the
    /// daemon, job or adopted orphan.
    fn reap(&mut self) {
        for (pid, exit) in supervise::reap() {
            if let Some(id) = self.pids.remove(&pid) {
                let mut oom = false;
                if let Some(io) = self.jobs.get_mut(&id).and_then(|s| s.io.as_mut()) {
                    io.scope.main_reaped();
                    oom = io.scope.oom_killed();
                }
                if oom {
                    self.step(id, Event::OomKilled);
                }
                self.step(id, Event::MainExited(exit));
            } else {
                self.helper_exited(pid, exit);
            }
        }
        self.check_finishing();
    }

    /// Tells every run whose main process has ended whether anything of
    /// it is left.
    fn check_finishing(&mut self) {
        let finishing = self.ids_where(|l| l.run().is_some_and(|r| r.finishing()));
        for id in finishing {
            let alive = self
                .jobs
                .get(&id)
                .and_then(|s| s.io.as_ref())
                .is_some_and(|io| io.scope.alive(&pump::known(&self.pids, &self.helpers)));
            self.step(
                id,
                if alive {
                    Event::Leftovers
                } else {
                    Event::ScopeEmpty
                },
            );
        }
    }

    fn reload_on_sighup(&mut self) {
        match self.reload() {
            Ok(r) => crate::log_info!("reloaded on SIGHUP: {r}"),
            Err(e) => crate::log_error!(
                "reload on SIGHUP refused, the running config is kept: {}",
                e.replace('\n', "; ")
            ),
        }
    }
}
