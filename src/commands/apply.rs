//! `dispatch apply [DIR|PLANFILE]`.

use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;

use dispatch::model::catalog::Filled;
use dispatch::ops::apply::{Applied, ApplyRequest};
use dispatch::ops::{self, Workspace};
use dispatch::report;

use super::flags::{Batch, Keep, Planning, Policies, Source};
use crate::console::{self, Terminal};
use crate::views::{ApplyView, Github, Human};

/// Pull and build what the plan says, then record the outcome in the state
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:
  dispatch apply                        plan, ask for yes, apply
  dispatch apply --auto-approve images/ in CI, after review
  dispatch apply release.plan           exactly what `plan --out release.plan` showed",
    mut_arg("path", |path| path.help(
        "Directory or file of declarations (*.yaml, *.yml), or a plan saved with `plan --out`"
    ))
)]
pub struct Args {
    #[command(flatten)]
    source: Source,

    /// Apply without asking for `yes`
    #[arg(long)]
    auto_approve: bool,

    /// Output format
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    output: Progress,

    #[command(flatten)]
    planning: Planning,

    #[command(flatten)]
    pub batch: Batch,

    /// When the state moved since the saved plan was made: `replan` plans its declarations
    /// again and applies that only if it makes the changes that were reviewed
    #[arg(long, value_enum, default_value_t, value_name = "WHAT")]
    if_stale: IfStale,

    #[command(flatten)]
    keep: Keep,
    #[command(flatten)]
    pub policies: Policies,
}

/// What to do with a saved plan the state has moved past.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum IfStale {
    /// Refuse it
    #[default]
    Fail,
    /// Plan again, and apply if it does what was reviewed
    Replan,
}

/// How `apply` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Progress {
    /// Bars on a terminal, timestamped lines elsewhere
    #[default]
    Text,
    /// As text, plus an error annotation per failure and a summary in $GITHUB_STEP_SUMMARY
    Github,
}

impl Progress {
    fn view(self) -> Box<dyn ApplyView> {
        match self {
            Progress::Text => Box::new(Human::default()),
            Progress::Github => Box::new(Github::default()),
        }
    }
}

pub fn run(ws: &Workspace, args: &Args, quiet: bool) -> Result<ExitCode> {
    let request = ApplyRequest {
        input: args.source.input(),
        auto_approve: args.auto_approve,
        refresh: args.planning.refresh,
        targets: &args.planning.targets,
        rebuild: args.planning.rebuild,
        keep_images: args.keep.keep_images,
        replan_if_stale: args.if_stale == IfStale::Replan,
    };
    let view = args.output.view();
    let terminal = Terminal::new(quiet);
    let applied = ops::apply::apply(ws, &request, &terminal);
    match super::viewed(view.as_ref(), applied)? {
        Err(code) => Ok(code),
        Ok(Applied::NoChanges { filled }) => {
            catalogued(&filled)?;
            Ok(ExitCode::SUCCESS)
        }
        Ok(Applied::Ran {
            tally,
            origins,
            filled,
        }) => {
            catalogued(&filled)?;
            let line = report::text::tally(&tally);
            super::finish(view.as_ref(), &line, &tally, terminal, &origins)
        }
    }
}

/// What filling in missing catalogs did; what it could not do, as warnings.
fn catalogued(filled: &Filled) -> Result<()> {
    for failure in &filled.failed {
        console::warn(&format!("not catalogued: {failure}"));
    }
    console::print(&report::text::filled(filled))?;
    Ok(())
}
