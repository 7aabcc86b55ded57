//! `dispatch update -f PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use super::flags::{Batch, Keep, Policies};

/// Update resources declared in a file or directory that already exist
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  dispatch update -f images/pandas.yaml")]
pub struct Args {
    /// File or directory of declarations
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    file: PathBuf,
    #[command(flatten)]
    pub batch: Batch,
    #[command(flatten)]
    keep: Keep,
    #[command(flatten)]
    pub policies: Policies,
}

pub fn run(ws: &Workspace, args: Args, quiet: bool) -> Result<ExitCode> {
    super::change(
        ws,
        Request::UpdateFrom(args.file),
        args.keep.keep_images,
        quiet,
    )
}
