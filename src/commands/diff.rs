//! `dispatch diff [RANGE] [DIR]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::{self, Workspace};

use super::flags::{Declarations, PlanOutput, Policies};

/// Show what merging would do: the declarations at two revisions compared (no state, engine
/// or registry)
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch diff                          HEAD against the work tree
  dispatch diff main...feature images/   what merging feature into main changes
  dispatch diff v1.4..v1.5 -o json       one tag against another, for a program
  dispatch diff origin/main... -o markdown > comment.md")]
pub struct Args {
    /// `A..B` (A against B), `A...B` (the merge-base of A and B against B: what a pull request
    /// from B into A changes), or `A` (A against the work tree) [default: HEAD]
    range: Option<String>,

    #[command(flatten)]
    declarations: Declarations,

    #[command(flatten)]
    output: PlanOutput,

    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    detailed_exitcode: bool,
    #[command(flatten)]
    pub policies: Policies,
}

pub fn run(ws: &Workspace, args: &Args) -> Result<ExitCode> {
    // `dispatch diff images/`: one argument that is a folder and no range is the folder.
    let declared = &args.declarations.path;
    let (range, path) = match args.range.as_deref() {
        Some(range)
            if declared == Path::new(".") && !range.contains("..") && Path::new(range).exists() =>
        {
            (None, Path::new(range))
        }
        range => (range, declared.as_path()),
    };
    let input = args.declarations.at(path, None);
    let view = args.output.view();
    let plan = match super::viewed(view.as_ref(), ops::diff::diff(ws, range, &input))? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    view.plan(&plan)?;
    Ok(super::changes_code(
        args.detailed_exitcode,
        plan.has_changes(),
    ))
}
