//! The command line: one file per command holds its flags (`Args`) and its `run`, which turns
//! them into a request, makes one library call and hands the result to the view `-o` chose.
//! The flag groups several commands share are in [`flags`].

mod advisories;
mod apply;
mod catalog;
mod create;
mod delete;
mod diff;
mod flags;
mod get;
mod original;
mod plan;
mod reference;
mod show;
mod state;
mod update;
mod validate;
mod vulns;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use dispatch::apply::record::Tally;
use dispatch::config::Config;
use dispatch::model::words;
use dispatch::ops::{self, Workspace};
use dispatch::report;

use crate::console::Terminal;
use crate::views::{ApplyView, Said, View};
use flags::Given;

#[derive(Debug, Parser)]
#[command(
    name = "dispatch",
    version,
    about = "Declarative reconciler for container images",
    max_term_width = 100,
    after_help = "Examples:
  dispatch validate images/                 check the declarations
  dispatch plan --detailed-exitcode         what apply would do (exit 2 on changes)
  dispatch apply --auto-approve             pull and build it
  dispatch -C deploy get images -o json     the images, from another folder's state"
)]
pub struct Cli {
    /// Run as if started in DIR: dispatch.toml and the default state are found there
    #[arg(
        short = 'C',
        long = "chdir",
        global = true,
        env = "DISPATCH_CHDIR",
        value_name = "DIR"
    )]
    pub chdir: Option<PathBuf>,

    /// State file [default: `state` in dispatch.toml, else .dispatch/state.json]
    #[arg(long, global = true, env = "DISPATCH_STATE", value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Never colour the output (NO_COLOR=1 does the same)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Print only the result, no progress (before or after the command: `apply -q`)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::Args),
    Plan(plan::Args),
    Show(show::Args),
    Diff(diff::Args),
    Apply(apply::Args),
    Create(create::Args),
    Update(update::Args),
    Delete(delete::Args),
    Get(get::Args),
    Catalog(catalog::Args),
    Vulns(vulns::Args),
    #[command(subcommand)]
    Advisories(advisories::Command),
    #[command(subcommand)]
    State(state::Command),
    ForceUnlock(state::UnlockArgs),
    Completions(reference::CompletionsArgs),
    Man(reference::ManArgs),
}

impl Command {
    /// The settings this command's flags give.
    fn given(&self) -> Given<'_> {
        match self {
            Command::Validate(args) => Given {
                policies: Some(&args.policies),
                ..Given::default()
            },
            Command::Plan(args) => Given {
                network: Some(&args.network),
                policies: Some(&args.policies),
                ..Given::default()
            },
            Command::Diff(args) => Given {
                policies: Some(&args.policies),
                ..Given::default()
            },
            Command::Apply(args) => Given {
                policies: Some(&args.policies),
                ..Given::batch(&args.batch)
            },
            Command::Update(args) => Given {
                policies: Some(&args.policies),
                ..Given::batch(&args.batch)
            },
            Command::Create(args) => args.given(),
            Command::Delete(args) => args.given(),
            Command::State(command) => command.given(),
            Command::Advisories(command) => command.given(),
            _ => Given::default(),
        }
    }
}

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Result<ExitCode> {
    if let Some(dir) = &cli.chdir {
        std::env::set_current_dir(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot change to the folder {} (-C): {}",
                dir.display(),
                dispatch::model::diag::io_reason(&e)
            )
        })?;
    }
    let given = cli.command.given();
    let quiet = cli.quiet;
    // Commands that need neither settings nor state.
    match &cli.command {
        Command::Completions(args) => return reference::completions(args),
        Command::Man(args) => return reference::man(args),
        _ => {}
    }
    let overrides = given.overrides(cli.state.clone());
    let config = Config::load(Path::new("."), overrides).map_err(ops::Error::from)?;
    let ws = Workspace::new(config, command_line())?;
    match cli.command {
        Command::Validate(args) => validate::run(&ws, &args),
        Command::Plan(args) => plan::run(&ws, &args),
        Command::Diff(args) => diff::run(&ws, &args),
        Command::Show(args) => show::run(&args),
        Command::Apply(args) => apply::run(&ws, &args, quiet),
        Command::Create(args) => create::run(&ws, args, quiet),
        Command::Update(args) => update::run(&ws, args, quiet),
        Command::Delete(args) => delete::run(&ws, args, quiet),
        Command::Get(args) => get::run(&ws, &args),
        Command::Catalog(args) => catalog::run(&ws, &args),
        Command::Vulns(args) => vulns::run(&ws, &args),
        Command::Advisories(command) => advisories::run(&ws, &command, quiet),
        Command::State(command) => state::run(&ws, &command, quiet),
        Command::ForceUnlock(args) => state::force_unlock(&ws, &args),
        Command::Completions(_) | Command::Man(_) => unreachable!("handled above"),
    }
}

/// A usage error in words that help: a flag of the original Dispatch CLI says why dispatch
/// does not take it (`create base-image --public`), and a flag another command has says which
/// one, instead of clap's advice to pass it as a value (`plan --parallelism 3`). `args` is the
/// command line, the program's name first.
pub fn explain(mut err: clap::Error, cli: &clap::Command, args: &[String]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let flag = arg.split('=').next().unwrap_or_default().to_string();
    if err.kind() != ErrorKind::UnknownArgument {
        return err;
    }
    let path = original::command_path(cli, args);
    if let Some(why) = original::refused(&path, &flag) {
        // Without clap's guess at a similar flag (`--public`: `--policy`), which its usage
        // line would show too.
        let mut refused = clap::Error::new(ErrorKind::UnknownArgument).with_cmd(cli);
        refused.insert(ContextKind::InvalidArg, ContextValue::String(arg.clone()));
        refused.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![why.into()]),
        );
        let mut built = cli.clone();
        built.build();
        let command = (path.iter()).try_fold(&mut built, |c, word| c.find_subcommand_mut(word));
        if let Some(command) = command {
            refused.insert(
                ContextKind::Usage,
                ContextValue::StyledStr(command.render_usage()),
            );
        }
        return refused;
    }
    // The commands (not their subcommands) that take it: `dispatch create`, not its two.
    let commands = cli
        .get_subcommands()
        .filter(|c| !owners(c, &flag).is_empty());
    let names: Vec<String> = commands
        .map(|c| format!("`dispatch {}`", c.get_name()))
        .collect();
    if !names.is_empty() {
        // Instead of clap's tip to pass it as a value (`-- --flag`).
        let tip = format!("{flag} is a flag of {}", words::list(&names));
        err.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.into()]),
        );
    }
    err
}

/// `command` and its subcommands that take `flag` (`--name` or `-x`).
fn owners<'c>(command: &'c clap::Command, flag: &str) -> Vec<&'c clap::Command> {
    let takes = command.get_arguments().any(|a| {
        a.get_long().is_some_and(|l| format!("--{l}") == flag)
            || a.get_short().is_some_and(|s| format!("-{s}") == flag)
    });
    let mut found: Vec<&clap::Command> = takes.then_some(command).into_iter().collect();
    for sub in command.get_subcommands() {
        found.extend(owners(sub, flag));
    }
    found
}

/// The command line as typed, recorded in the lock so a second writer can name the holder.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// `result`, after `view` pointed at what failed; a failure the view said all of ends the
/// command with exit 1 and nothing more.
fn viewed<T>(view: &dyn View, result: Result<T, ops::Error>) -> Result<Result<T, ExitCode>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(error) => match view.failed(&error)? {
            Said::All => Ok(Err(ExitCode::from(1))),
            Said::Partly => Err(error.into()),
        },
    }
}

/// 2 when `detailed` asks for it and something would change, else 0.
fn changes_code(detailed: bool, has_changes: bool) -> ExitCode {
    if detailed && has_changes {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// How an apply went, in `view`; exit 1 unless everything succeeded.
fn finish(
    view: &dyn ApplyView,
    line: &str,
    tally: &Tally,
    terminal: Terminal,
    origins: &std::collections::BTreeMap<dispatch::model::Address, dispatch::model::diag::Location>,
) -> Result<ExitCode> {
    view.applied(line, &terminal.failures(), origins)?;
    Ok(if tally.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs one of the original commands' requests; ends with that command's own summary.
fn change(
    ws: &Workspace,
    request: ops::change::Request,
    keep_images: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let verb = request.verb();
    let terminal = Terminal::new(quiet);
    let tally = ops::change::change(ws, request, keep_images, &terminal)?;
    let line = report::text::changed(verb, &tally);
    let view = crate::views::Human::default();
    finish(&view, &line, &tally, terminal, &Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    /// Every command with its full name, `dispatch state rm` say.
    fn commands(command: &clap::Command, prefix: &str) -> Vec<(String, clap::Command)> {
        let name = format!("{prefix}{}", command.get_name());
        let mut all = vec![(name.clone(), command.clone())];
        for sub in command.get_subcommands() {
            all.extend(commands(sub, &format!("{name} ")));
        }
        all
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_an_example_and_described_arguments() {
        for (name, mut command) in commands(&Cli::command(), "") {
            if command.get_name() == "help" {
                continue;
            }
            let help = command.render_long_help().to_string();
            let runnable =
                !command.has_subcommands() || command.is_args_conflicts_with_subcommands_set();
            if runnable || name == "dispatch" {
                assert!(help.contains("Examples:"), "{name} has no example:\n{help}");
            }
            for arg in command.get_arguments().filter(|a| a.is_positional()) {
                assert!(
                    arg.get_help().is_some(),
                    "{name}: argument {} has no description",
                    arg.get_id()
                );
            }
        }
    }

    /// Every `dispatch` command line in `text` (shell lines of a CI configuration).
    fn invocations(value: &serde_json::Value, found: &mut Vec<Vec<String>>) {
        match value {
            serde_json::Value::String(script) => {
                for line in script.lines() {
                    let line = line.trim();
                    let Some(words) = line.strip_prefix("dispatch ").and_then(shlex::split) else {
                        continue;
                    };
                    // Redirections, pipes and lists are the shell's, not dispatch's.
                    let shell = |w: &String| {
                        w.starts_with(['>', '<', '|', '&', ';']) || w.starts_with("2>")
                    };
                    let words: Vec<String> = words.into_iter().take_while(|w| !shell(w)).collect();
                    found.push([vec!["dispatch".to_string()], words].concat());
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| invocations(v, found)),
            serde_json::Value::Object(map) => map.values().for_each(|v| invocations(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_ci_examples_use_only_flags_that_exist() {
        for (file, text) in [
            (
                "github-workflow.yml",
                include_str!("../../examples/ci/github-workflow.yml"),
            ),
            (
                "gitlab-ci.yml",
                include_str!("../../examples/ci/gitlab-ci.yml"),
            ),
        ] {
            let config: serde_json::Value = serde_saphyr::from_str(text).unwrap();
            let mut found = Vec::new();
            invocations(&config, &mut found);
            let commands: Vec<&str> = found.iter().map(|words| words[1].as_str()).collect();
            for expected in ["validate", "diff", "plan", "apply"] {
                assert!(
                    commands.contains(&expected),
                    "{file} runs no `dispatch {expected}`"
                );
            }
            for words in &found {
                // `--version` and `--help` end the parse with what they print.
                let printed = [ErrorKind::DisplayVersion, ErrorKind::DisplayHelp];
                if let Err(e) = Cli::try_parse_from(words)
                    && !printed.contains(&e.kind())
                {
                    panic!("{file}: `{}` does not parse:\n{e}", words.join(" "));
                }
            }
        }
    }
}
