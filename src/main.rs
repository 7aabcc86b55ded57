//! `dispatch`: parse the command line, run one command, map the outcome to an exit code.
//!
//! Exit codes: 0 success, 1 any error (usage errors included), 2 only for "changes present"
//! under `--detailed-exitcode`.

mod commands;
mod console;
mod views;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use dispatch::model::diag::Hint;
use dispatch::report::{self, Painter};

/// mimalloc, not the system's: a plan of many resources is mostly small allocations and frees,
/// which it makes about a third cheaper (README, "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if cli.no_color {
        anstream::ColorChoice::Never.write_global();
    }
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let failure = err.downcast_ref::<dispatch::ops::Error>();
            let diagnostics = failure.map(|e| e.diagnostics()).unwrap_or_default();
            let hint = failure.and_then(Hint::hint);
            let painter = Painter {
                color: console::stderr_color(),
            };
            // The policies' warnings first, as after a plan, so the error ends the output.
            let warnings = failure.map(|e| e.warnings()).unwrap_or_default();
            if !warnings.is_empty() {
                let said = report::text::warnings(&painter, warnings);
                console::eprint(&format!("{}\n", said.trim_start()));
            }
            console::eprint(&report::error::render(
                diagnostics,
                &format!("{err:#}"),
                hint.as_deref(),
                painter,
            ));
            ExitCode::from(1)
        }
    }
}

/// The command line, or the exit code of a usage error (1, not clap's 2, which under
/// `--detailed-exitcode` means "changes present"), help or version (0).
fn parse() -> Result<commands::Cli, ExitCode> {
    let no_color = std::env::args_os().any(|a| a == "--no-color");
    let mut command = commands::Cli::command();
    if no_color {
        command = command.color(clap::ColorChoice::Never);
    }
    command
        .clone()
        .try_get_matches()
        .and_then(|matches| commands::Cli::from_arg_matches(&matches))
        .map_err(|err| {
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            commands::explain(err, &command, &args)
        })
        .map_err(|err| {
            let _ = err.print();
            if err.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        })
}
