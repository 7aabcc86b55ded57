//! One file per command: its flags become a request, one library call does the work, and the
//! outcome becomes output and an exit code.

mod apply;
mod catalog;
mod create;
mod delete;
mod diff;
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

use crate::cli::{Cli, Command, PlanOutput, Report};

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
    let ws = Workspace::new(config, command_line())?;
    match cli.command {
        Command::Validate { source, output } => validate::run(&ws, &source, output.format()),
        Command::Plan(args) => plan::run(&ws, &args),
        Command::Diff(args) => diff::run(&ws, &args),
        Command::Show { file, output } => show::run(&file, &output),
        Command::Apply(args) => apply::run(&ws, &args, quiet),
        Command::Create(args) => create::run(&ws, args, quiet),
        Command::Update { file, keep, .. } => update::run(&ws, file, keep.keep_images, quiet),
        Command::Delete(args) => delete::run(&ws, args, quiet),
        Command::Get(args) => get::run(&ws, &args),
        Command::Catalog(args) => catalog::run(&ws, &args),
        Command::State(command) => state::run(&ws, &command),
        Command::ForceUnlock { lock_id } => state::force_unlock(&ws, &lock_id),
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

/// Prints `plan` as `output` asks: text (or compact text), JSON, or for a CI system.
fn print_plan(plan: &Plan, output: &PlanOutput) -> Result<()> {
    let text = || {
        report::text::plan(
            plan,
            TextOptions {
                color: color(),
                compact: output.compact,
            },
        )
    };
    match output.format() {
        Report::Text => console::print(&text())?,
        Report::Json => console::print(&json(&report::json::plan(plan))?)?,
        Report::Markdown => console::print(&report::markdown::summary(
            plan,
            report::markdown::COMMENT_LIMIT,
        ))?,
        Report::Github => {
            console::print(&text())?;
            let warnings = report::github::Annotation::warnings(&plan.warnings);
            console::print(&report::github::annotations(&warnings))?;
            step_summary(&report::markdown::summary(
                plan,
                report::markdown::STEP_SUMMARY_LIMIT,
            ))?;
        }
        Report::Gitlab => {
            // The report is the problems: a plan that could be made has only warnings.
            console::print(&json(&report::gitlab::advice(&plan.warnings))?)?;
            eprint!("{}", text());
        }
    }
    Ok(())
}

/// Appends `markdown` to the job's step summary, when GitHub Actions gives one.
fn step_summary(markdown: &str) -> Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)?;
    std::io::Write::write_all(&mut file, format!("{markdown}\n").as_bytes())?;
    Ok(())
}

/// What a CI system reads of a failure: annotations (GitHub) or a code quality report
/// (GitLab) of the problems in the declarations; then the failure itself, for the log.
fn for_ci<T>(result: Result<T, dispatch::ops::Error>, github: bool, gitlab: bool) -> Result<T> {
    if let Err(err) = &result {
        let diagnostics = err.diagnostics();
        if github {
            let annotations: Vec<_> = diagnostics
                .iter()
                .map(|d| report::github::Annotation::of(d, "dispatch"))
                .collect();
            console::print(&report::github::annotations(&annotations))?;
        }
        if gitlab {
            console::print(&json(&report::gitlab::code_quality(diagnostics))?)?;
        }
    }
    Ok(result?)
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
