//! `jobd completions SHELL` and `jobd man`: shell completions and the man
//! page, generated from the same clap definitions the parser uses, so
//! they never drift from the real options.

use clap::CommandFactory as _;

use super::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    shell: Shell,
}

/// The shells jobd's users have. (Not `clap_complete::Shell`: naming
/// only these three keeps the other generators out of the binary, whose
/// every byte is resident on this kernel.)
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Prints the completion script for a shell.
pub fn completions(args: &CompletionsArgs) -> Outcome {
    use clap_complete::shells;
    let mut cmd = Cli::command();
    let out = &mut std::io::stdout();
    match args.shell {
        Shell::Bash => clap_complete::generate(shells::Bash, &mut cmd, "jobd", out),
        Shell::Zsh => clap_complete::generate(shells::Zsh, &mut cmd, "jobd", out),
        Shell::Fish => clap_complete::generate(shells::Fish, &mut cmd, "jobd", out),
    }
    Outcome::Success
}

/// Prints `jobd(1)` as roff: the command, its global options, and a
/// section per subcommand.
pub fn man() -> Outcome {
    let cmd = Cli::command();
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(cmd.clone());
    if page.render(&mut out).is_err() {
        return Outcome::Failed;
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        out.extend_from_slice(format!(".SH \"JOBD {}\"\n", name.to_uppercase()).as_bytes());
        let sub = sub.clone().bin_name(format!("jobd {name}"));
        let section = clap_mangen::Man::new(sub);
        let _ = section.render_synopsis_section(&mut out);
        let _ = section.render_description_section(&mut out);
        let _ = section.render_options_section(&mut out);
    }
    use std::io::Write as _;
    if std::io::stdout().write_all(&out).is_err() {
        return Outcome::Failed;
    }
    Outcome::Success
}
