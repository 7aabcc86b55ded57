//! One file per command: its flags become a request, one library call does the work, and the
//! outcome becomes output and an exit code.

mod apply;
mod create;
mod delete;
mod get;
mod plan;
mod reference;
mod show;
mod state;
mod update;
mod validate;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::apply::record::Tally;
use dispatch::config::Config;
use dispatch::console;
use dispatch::ops::Workspace;
use dispatch::plan::Plan;
use dispatch::report::{self, text::TextOptions};

use crate::cli::{Cli, Command, Format, PlanOutput};

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
    let quiet = cli.quiet();
    // Commands that need neither settings nor state.
    match &cli.command {
        Command::Completions { shell } => return reference::completions(*shell),
        Command::Man { out_dir } => return reference::man(out_dir.as_deref()),
        _ => {}
    }
    let config =
        Config::load(Path::new("."), cli.overrides()).map_err(dispatch::ops::Error::from)?;
    let ws = Workspace::local(config, command_line());
    match cli.command {
        Command::Validate { source, output } => validate::run(&ws, &source, output.format()),
        Command::Plan(args) => plan::run(&ws, &args),
        Command::Show { file, output } => show::run(&file, &output),
        Command::Apply(args) => apply::run(&ws, &args, quiet),
        Command::Create(args) => create::run(&ws, args, quiet),
        Command::Update { file, keep, .. } => update::run(&ws, file, keep.keep_images, quiet),
        Command::Delete(args) => delete::run(&ws, args, quiet),
        Command::Get(args) => get::run(&ws, &args),
        Command::State(command) => state::run(&ws, &command),
        Command::Completions { .. } | Command::Man { .. } => unreachable!("handled above"),
    }
}

/// The command line as typed, recorded in the lock so a second writer can name the holder.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Whether standard output gets colour.
fn color() -> bool {
    console::stdout_color()
}

/// Prints `plan` as `output` asks: text (or compact text), or JSON.
fn print_plan(plan: &Plan, output: &PlanOutput) -> Result<()> {
    let text = match output.output.format() {
        Format::Json => json(&report::json::plan(plan))?,
        Format::Text => report::text::plan(
            plan,
            TextOptions {
                color: color(),
                compact: output.compact,
            },
        ),
    };
    Ok(console::print(&text)?)
}

/// `value` as pretty JSON, on a line of its own.
fn json(value: &impl serde::Serialize) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// Prints how an apply went; exit 1 unless everything succeeded.
fn finish(line: &str, tally: &Tally) -> Result<ExitCode> {
    console::print(&format!("\n{line}\n"))?;
    Ok(if tally.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs one of the original commands' requests; ends with that command's own summary.
fn change(
    ws: &Workspace,
    request: dispatch::ops::change::Request,
    keep_images: bool,
    quiet: bool,
) -> Result<ExitCode> {
    let verb = request.verb();
    let reporter = console::progress::for_stdout(quiet);
    let tally = dispatch::ops::change::change(ws, request, keep_images, reporter.as_ref())?;
    finish(&report::text::changed(verb, &tally), &tally)
}
