//! The `jobd` command line: argument definitions and one module per
//! command. Commands return an [`ExitCode`]-worthy result; `main` alone
//! prints the final error and exits.

use clap::{Parser, Subcommand};

pub mod calendar;

/// What a command reports back to `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the operation failed (what failed was already printed).
    Failed,
}

/// A per-user job scheduler and supervisor: systemd calendar and cron
/// schedules, restart policies, journal logging, one YAML file.
#[derive(Debug, Parser)]
#[command(name = "jobd", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the normalized form and next elapses of calendar expressions,
    /// like `systemd-analyze calendar`.
    Calendar(calendar::Args),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Calendar(args) => calendar::run(&args),
    }
}
