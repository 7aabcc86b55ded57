//! `dispatch plan [DIR]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
use dispatch::ops::{self, Workspace, plan::PlanRequest};

use crate::cli::{PlanArgs, Report};

pub fn run(ws: &Workspace, args: &PlanArgs) -> Result<ExitCode> {
    let request = PlanRequest {
        input: args.source.input(),
        refresh: args.refresh,
        targets: &args.targets,
        out: args.out.as_deref(),
    };
    let format = args.output.format();
    let plan = super::for_ci(
        ops::plan::plan(ws, &request),
        format == Report::Github,
        format == Report::Gitlab,
    )?;
    super::print_plan(&plan, &args.output)?;
    if let Some(out) = &args.out
        && matches!(format, Report::Text | Report::Github)
    {
        console::print(&format!("\nSaved the plan to: {}\n", out.display()))?;
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
