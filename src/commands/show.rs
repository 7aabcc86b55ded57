//! `dispatch show FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::flags::PlanOutput;

/// Print a plan saved with `dispatch plan --out FILE`
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch show release.plan
  dispatch show -o json release.plan")]
pub struct Args {
    /// The saved plan
    file: PathBuf,
    #[command(flatten)]
    output: PlanOutput,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let saved = dispatch::planfile::load(&args.file).map_err(dispatch::ops::Error::from)?;
    args.output.view().plan(&saved.plan)?;
    Ok(ExitCode::SUCCESS)
}
