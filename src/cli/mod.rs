//! The `jobd` command line: argument definitions and one module per
//! command. Commands print their own output and errors and return an
//! [`Outcome`]; `main` alone turns it into an exit code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::ipc::ErrorCode;
use crate::ipc::client::{Client, ClientError};

pub mod calendar;
mod check;
mod control;
mod docs;
mod edit;
mod everyday;
mod history;
mod import;
mod list;
mod logs;
mod status;

/// What a command reports back to `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the operation failed (what failed was already printed).
    Failed,
    /// Exit 2: bad usage, such as an unknown job (already printed).
    Usage,
}

/// A per-user job scheduler and supervisor: systemd calendar and cron
/// schedules, restart policies, journal logging, one YAML file.
#[derive(Debug, Parser)]
#[command(name = "jobd", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub paths: PathArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where jobd's files are (SPEC §1).
#[derive(Debug, clap::Args)]
pub struct PathArgs {
    /// Config file [default: $XDG_CONFIG_HOME/jobd/jobd.yaml]
    #[arg(long, global = true, env = "JOBD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Control socket [default: $XDG_RUNTIME_DIR/jobd/jobd.sock]
    #[arg(long, global = true, env = "JOBD_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// State directory [default: $XDG_STATE_HOME/jobd]
    #[arg(long, global = true, env = "JOBD_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("/"))
}

impl PathArgs {
    pub fn config(&self) -> PathBuf {
        self.config.clone().unwrap_or_else(|| {
            env_path("XDG_CONFIG_HOME")
                .unwrap_or_else(|| home().join(".config"))
                .join("jobd/jobd.yaml")
        })
    }

    pub fn socket(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(|| match env_path("XDG_RUNTIME_DIR") {
                Some(run) => run.join("jobd/jobd.sock"),
                None => PathBuf::from(format!(
                    "/tmp/jobd-{}/jobd.sock",
                    rustix::process::getuid().as_raw()
                )),
            })
    }

    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(|| {
            env_path("XDG_STATE_HOME")
                .unwrap_or_else(|| home().join(".local/state"))
                .join("jobd")
        })
    }

    fn connect(&self) -> Result<Client, ClientError> {
        Client::connect(&self.socket())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (what the user unit starts).
    Daemon,
    /// One row a job: name, type, state, next and last run, result.
    List(list::Args),
    /// A job's state, schedule, last run and processes.
    Status(status::Args),
    /// Start a job now; with --wait, wait for its result.
    RunNow(control::RunNowArgs),
    /// Start a job now (and clear `stopped`).
    Start(control::NameArg),
    /// Stop a job and keep it stopped until `start`.
    Stop(control::NameArg),
    /// Stop a job if running, then start it.
    Restart(control::NameArg),
    /// A job's last runs, newest first.
    History(history::Args),
    /// The job's output lines, from the journal or the fallback files.
    Logs(logs::Args),
    /// Re-read the config file.
    Reload,
    /// Validate a config file without a daemon.
    Check,
    /// Print jobd YAML for systemd user units or a crontab.
    #[command(subcommand)]
    Import(import::Args),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(docs::CompletionsArgs),
    /// Print the jobd(1) man page (roff).
    Man,
    /// Show the normalized form and next elapses of calendar expressions,
    /// like `systemd-analyze calendar`.
    Calendar(calendar::Args),
    /// The coming elapses of every scheduled job (or those named), in time order.
    Next(everyday::NextArgs),
    /// Switch a job off (no schedule, no restarts), kept across restarts.
    Disable(control::NameArg),
    /// Undo `disable`: back to what the config file says.
    Enable(control::NameArg),
    /// Set variables every run gets (in memory, like systemctl --user).
    SetEnvironment(everyday::SetArgs),
    /// Remove variables set with set-environment or import-environment.
    UnsetEnvironment(everyday::NamesArgs),
    /// Give runs these variables from this shell (default: PATH, DISPLAY,
    /// WAYLAND_DISPLAY, XDG_SESSION_TYPE, SSH_AUTH_SOCK, DBUS_SESSION_BUS_ADDRESS).
    ImportEnvironment(everyday::NamesArgs),
    /// The environment every run gets before its own `environment`.
    ShowEnvironment,
    /// Edit the config file; a broken edit is refused before it lands.
    Edit,
    /// Every job's figures in Prometheus text format.
    Metrics,
    /// The config file's JSON Schema (draft 2020-12), for editors.
    Schema(SchemaArgs),
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The reference as Markdown instead.
    #[arg(long)]
    markdown: bool,
}

/// Prints a client error in one line and says what it means for the exit.
fn failed(e: &ClientError) -> Outcome {
    eprintln!("jobd: {e}");
    match e {
        ClientError::Refused {
            code: ErrorCode::UnknownJob | ErrorCode::BadRequest,
            ..
        } => Outcome::Usage,
        _ => Outcome::Failed,
    }
}

/// Prints `value` as one line of JSON.
fn print_json(value: &impl serde::Serialize) -> Outcome {
    match serde_json::to_string(value) {
        Ok(s) => {
            println!("{s}");
            Outcome::Success
        }
        Err(e) => {
            eprintln!("jobd: {e}");
            Outcome::Failed
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let paths = &cli.paths;
    match cli.command {
        Command::Daemon => {
            // Absolute, so `status` and reloads name the same file whatever
            // the daemon's working directory becomes.
            let config = paths.config();
            let opts = crate::daemon::Options {
                config: std::path::absolute(&config).unwrap_or(config),
                socket: paths.socket(),
                state_dir: paths.state_dir(),
            };
            crate::daemon::run(&opts).map(|()| Outcome::Success)
        }
        Command::List(args) => Ok(list::run(paths, &args)),
        Command::Status(args) => Ok(status::run(paths, &args)),
        Command::RunNow(args) => Ok(control::run_now(paths, &args)),
        Command::Start(a) => Ok(control::start(paths, &a.name)),
        Command::Stop(a) => Ok(control::stop(paths, &a.name)),
        Command::Restart(a) => Ok(control::restart(paths, &a.name)),
        Command::History(args) => Ok(history::run(paths, &args)),
        Command::Logs(args) => Ok(logs::run(paths, &args)),
        Command::Reload => Ok(control::reload(paths)),
        Command::Check => Ok(check::run(paths)),
        Command::Import(args) => Ok(import::run(&args)),
        Command::Completions(args) => Ok(docs::completions(&args)),
        Command::Man => Ok(docs::man()),
        Command::Calendar(args) => calendar::run(&args),
        Command::Next(args) => Ok(everyday::next(paths, &args)),
        Command::Disable(a) => Ok(everyday::disable(paths, &a.name)),
        Command::Enable(a) => Ok(everyday::enable(paths, &a.name)),
        Command::SetEnvironment(a) => Ok(everyday::set_environment(paths, &a)),
        Command::UnsetEnvironment(a) => Ok(everyday::unset_environment(paths, &a)),
        Command::ImportEnvironment(a) => Ok(everyday::import_environment(paths, &a)),
        Command::ShowEnvironment => Ok(everyday::show_environment(paths)),
        Command::Edit => Ok(edit::run(paths)),
        Command::Metrics => Ok(everyday::metrics(paths)),
        Command::Schema(a) => {
            if a.markdown {
                print!("{}", crate::config::schema::markdown());
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&crate::config::schema::schema())?
                );
            }
            Ok(Outcome::Success)
        }
    }
}
