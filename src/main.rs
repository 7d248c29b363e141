//! The `jobd` binary: parse the command line, run, and turn the result into
//! one line on stderr and an exit code (0 done, 1 failed, 2 bad usage). This
//! is the only place that exits.

use std::process::ExitCode;

use clap::Parser as _;
use jobd::cli::{self, Outcome};

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            return if usage_error {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli::run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Usage) => ExitCode::from(2),
        Err(e) => {
            // Errors that reach here are failures (a daemon that cannot
            // start, a file that cannot be read), one line each.
            eprintln!("jobd: {e:#}");
            ExitCode::from(1)
        }
    }
}
