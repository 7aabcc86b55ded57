//! `dispatch plan [DIR]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::{self, Workspace, plan::PlanRequest};

use super::flags::{Network, PlanFormat, PlanOutput, Planning, Policies, Source};
use crate::console;

/// Show what apply would do to make the images match the declarations
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch plan                                   every *.yaml under the current folder
  dispatch plan --detailed-exitcode images/       exit 0: no changes, 2: changes, 1: error
  dispatch plan --out release.plan                save it for `dispatch apply release.plan`
  dispatch plan -o json | jq '.resource_changes[].change.actions'")]
pub struct Args {
    #[command(flatten)]
    source: Source,

    #[command(flatten)]
    output: PlanOutput,

    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    detailed_exitcode: bool,

    /// Save the plan to FILE (mode 0600), for `dispatch apply FILE`
    #[arg(long = "out", value_name = "FILE")]
    out: Option<PathBuf>,

    #[command(flatten)]
    planning: Planning,

    #[command(flatten)]
    pub network: Network,
    #[command(flatten)]
    pub policies: Policies,
}

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    let request = PlanRequest {
        input: args.source.input(),
        refresh: args.planning.refresh,
        targets: &args.planning.targets,
        rebuild: args.planning.rebuild,
        out: args.out.as_deref(),
    };
    let view = args.output.view();
    let plan = match super::viewed(view.as_ref(), ops::plan::plan(ws, &request))? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    view.plan(&plan)?;
    if let Some(out) = &args.out
        && matches!(args.output.format(), PlanFormat::Text | PlanFormat::Github)
    {
        console::print(&format!("\nSaved the plan to: {}\n", out.display()))?;
    }
    Ok(super::changes_code(
        args.detailed_exitcode,
        plan.has_changes(),
    ))
}
