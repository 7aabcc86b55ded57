//! `dispatch plan [DIR]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::console;
use dispatch::decl::LoadOptions;
use dispatch::ops::{self, Workspace, plan::PlanRequest};

use crate::cli::{Format, PlanArgs};

pub fn run(ws: &Workspace, args: &PlanArgs) -> Result<ExitCode> {
    let request = PlanRequest {
        path: &args.source.path,
        load: LoadOptions {
            allow_outside_refs: args.source.allow_outside_refs,
            ..LoadOptions::default()
        },
        refresh: args.refresh,
        targets: &args.targets,
        out: args.out.as_deref(),
    };
    let plan = ops::plan::plan(ws, &request)?;
    super::print_plan(&plan, &args.output)?;
    if let Some(out) = &args.out
        && args.output.output.format() == Format::Text
    {
        console::print(&format!("\nSaved the plan to: {}\n", out.display()))?;
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
