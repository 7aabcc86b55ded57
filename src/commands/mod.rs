//! One file per command: its flags become a request, one library call does the work, and the
//! outcome becomes output and an exit code.

mod apply;
mod create;
mod delete;
mod get;
mod plan;
mod show;
mod state;
mod update;
mod validate;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::config::Config;
use dispatch::ops::Workspace;
use dispatch::plan::Plan;
use dispatch::report::{self, text::TextOptions};

use crate::cli::{Cli, Command, Output};

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let config =
        Config::load(Path::new("."), cli.overrides()).map_err(dispatch::ops::Error::from)?;
    let ws = Workspace::local(config, command_line());
    match cli.command {
        Command::Validate { source } => validate::run(&ws, &source),
        Command::Plan(args) => plan::run(&ws, &args),
        Command::Show { file, output } => show::run(&file, &output),
        Command::Apply(args) => apply::run(&ws, &args),
        Command::Create(args) => create::run(&ws, args),
        Command::Update { file, run } => update::run(&ws, file, &run),
        Command::Delete(args) => delete::run(&ws, args),
        Command::Get(args) => get::run(&ws, &args),
        Command::State(command) => state::run(&ws, &command),
    }
}

/// The command line as typed, recorded in the lock so a second writer can name the holder.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Whether standard output gets colour.
fn color() -> bool {
    dispatch::console::stdout_color()
}

/// Prints `plan` as `output` asks: text (or compact text), or JSON.
fn print_plan(plan: &Plan, output: &Output) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if output.json {
        serde_json::to_writer_pretty(&mut stdout, &report::json::plan(plan))?;
        writeln!(stdout)?;
    } else {
        let options = TextOptions {
            color: color(),
            compact: output.compact,
        };
        stdout.write_all(report::text::plan(plan, options).as_bytes())?;
    }
    Ok(())
}

/// Prints how an apply (or an original command) went; exit 1 unless everything succeeded.
fn finish(tally: &dispatch::apply::record::Tally) -> ExitCode {
    println!("\n{}", report::text::tally(tally));
    if tally.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs one of the original commands' requests with `run`'s flags.
fn change(
    ws: &Workspace,
    request: dispatch::ops::change::Request,
    run: &crate::cli::RunArgs,
) -> Result<ExitCode> {
    let reporter = dispatch::console::progress::for_stdout(run.quiet);
    let tally = dispatch::ops::change::change(ws, request, run.keep_images, reporter.as_ref())?;
    Ok(finish(&tally))
}
