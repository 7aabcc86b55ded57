//! `dispatch`: parse the command line, run one command, map the outcome to an exit code.

mod cli;
mod commands;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use dispatch::model::diag::Hint;
use dispatch::report::{self, Painter};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
                color: dispatch::console::stderr_color(),
            };
            let text =
                report::error::render(diagnostics, &format!("{err:#}"), hint.as_deref(), painter);
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
            ExitCode::from(1)
        }
    }
}
