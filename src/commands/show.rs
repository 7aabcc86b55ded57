//! `dispatch show FILE`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::PlanOutput;

pub fn run(file: &Path, output: &PlanOutput) -> Result<ExitCode> {
    let saved = dispatch::planfile::load(file).map_err(dispatch::ops::Error::from)?;
    super::print_plan(&saved.plan, output)?;
    Ok(ExitCode::SUCCESS)
}
