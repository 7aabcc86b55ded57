//! `dispatch update -f PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

pub fn run(ws: &Workspace, file: PathBuf, keep_images: bool, quiet: bool) -> Result<ExitCode> {
    super::change(ws, Request::UpdateFrom(file), keep_images, quiet)
}
