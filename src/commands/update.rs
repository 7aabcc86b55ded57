//! `dispatch update -f PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use crate::cli::RunArgs;

pub fn run(ws: &Workspace, file: PathBuf, run: &RunArgs) -> Result<ExitCode> {
    super::change(ws, Request::UpdateFrom(file), run)
}
