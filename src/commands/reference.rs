//! `dispatch completions SHELL` and `dispatch man`: the command line's own reference.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::Cli;
use crate::console;

/// Print a shell's completion script
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch completions bash > /etc/bash_completion.d/dispatch
  dispatch completions zsh > \"${fpath[1]}/_dispatch\"
  dispatch completions fish > ~/.config/fish/completions/dispatch.fish")]
pub struct CompletionsArgs {
    /// The shell to complete for
    shell: clap_complete::Shell,
}

/// Print the manual page, or write one page per command into a folder
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch man | man -l -
  dispatch man --out-dir /usr/local/share/man/man1")]
pub struct ManArgs {
    /// Write dispatch.1 and a page per command (dispatch-plan.1, ...) into DIR
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "dispatch", &mut script);
    console::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// The manual page on stdout, or every page (`dispatch.1`, `dispatch-plan.1`, ...) in a folder.
pub fn man(args: &ManArgs) -> Result<ExitCode> {
    let command = Cli::command();
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            console::print(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
