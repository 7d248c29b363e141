//! `jobd import systemd PATH` / `jobd import crontab FILE|-`: print the
//! jobd YAML for existing systemd user units or a crontab; every key or
//! feature without an equivalent is a warning on stderr. No daemon needed.

use std::io::Read as _;
use std::path::PathBuf;

use super::Outcome;
use crate::import;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// A `.timer` (its `.service` comes along), a `.service`, or a
    /// directory of them (e.g. ~/.config/systemd/user).
    Systemd {
        /// Unit file or directory.
        path: PathBuf,
    },
    /// A crontab file (`crontab -l` output); `-` reads standard input.
    Crontab {
        /// Crontab file, or `-`.
        file: String,
    },
}

pub fn run(args: &Args) -> Outcome {
    let imported = match args {
        Args::Systemd { path } => match import::systemd::import(path) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("jobd: cannot import {e}");
                return Outcome::Failed;
            }
        },
        Args::Crontab { file } => {
            let text = if file == "-" {
                let mut t = String::new();
                if let Err(e) = std::io::stdin().read_to_string(&mut t) {
                    eprintln!("jobd: cannot read standard input: {e}");
                    return Outcome::Failed;
                }
                t
            } else {
                match std::fs::read_to_string(file) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("jobd: cannot read {file}: {e}");
                        return Outcome::Failed;
                    }
                }
            };
            let source = if file == "-" { "<stdin>" } else { file };
            import::crontab::import(&text, source)
        }
    };
    for w in &imported.warnings {
        eprintln!("jobd: warning: {w}");
    }
    print!("{}", imported.yaml());
    Outcome::Success
}
