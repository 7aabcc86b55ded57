//! `dispatch diff [RANGE] [DIR]`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::{self, Input, Workspace};

use crate::cli::{DiffArgs, Report};

pub fn run(ws: &Workspace, args: &DiffArgs) -> Result<ExitCode> {
    // `dispatch diff images/`: one argument that is a folder and no range is the folder.
    let (range, path) = match args.range.as_deref() {
        Some(range)
            if args.path == Path::new(".")
                && !range.contains("..")
                && Path::new(range).exists() =>
        {
            (None, Path::new(range).to_path_buf())
        }
        range => (range, args.path.clone()),
    };
    let input = Input {
        path,
        revision: None,
        repo: args.repo.clone(),
        allow_outside_refs: args.allow_outside_refs,
    };
    let format = args.output.format();
    let plan = super::for_ci(
        ops::diff::diff(ws, range, &input),
        format == Report::Github,
        format == Report::Gitlab,
    )?;
    super::print_plan(&plan, &args.output)?;
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
