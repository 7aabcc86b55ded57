//! `dispatch delete base-image|image NAME`, `dispatch delete -f PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;

use dispatch::model::{Address, Kind};
use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use super::flags::{Batch, Given, Keep, Network, Writing};

/// Delete resources, and the images dispatch built for them
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  dispatch delete image pandas
  dispatch delete base-image python3 --keep-images
  dispatch delete -f images/"
)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,

    /// Delete everything declared in a file or directory
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    file: Option<PathBuf>,

    #[command(flatten)]
    batch: Batch,
    #[command(flatten)]
    keep: Keep,
}

/// One resource, by kind and name.
#[derive(Debug, clap::Args)]
struct Named {
    #[command(flatten)]
    writing: Writing,
    #[command(flatten)]
    keep: Keep,
    #[command(flatten)]
    network: Network,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Delete a base image from the state (a base image still used by an image cannot be deleted)
    #[command(
        visible_alias = "base-images",
        after_help = "Examples:
  dispatch delete base-image python3"
    )]
    BaseImage {
        /// The base image's name
        #[arg(value_parser = super::flags::name)]
        name: String,
        #[command(flatten)]
        flags: Named,
    },
    /// Delete an image from the state and its built image from the engine
    #[command(
        visible_alias = "images",
        after_help = "Examples:
  dispatch delete image pandas --keep-images"
    )]
    Image {
        /// The image's name
        #[arg(value_parser = super::flags::name)]
        name: String,
        #[command(flatten)]
        flags: Named,
    },
}

impl Args {
    /// The settings these flags give.
    pub fn given(&self) -> Given<'_> {
        match &self.what {
            Some(What::BaseImage { flags, .. } | What::Image { flags, .. }) => Given {
                writing: Some(&flags.writing),
                network: Some(&flags.network),
                ..Given::default()
            },
            None => Given::batch(&self.batch),
        }
    }
}

pub fn run(ws: &Workspace, args: Args, quiet: bool) -> Result<ExitCode> {
    let (request, keep) = match (args.what, args.file) {
        (Some(What::BaseImage { name, flags }), _) => (
            Request::Delete(Address::new(Kind::BaseImage, name)),
            flags.keep,
        ),
        (Some(What::Image { name, flags }), _) => {
            (Request::Delete(Address::new(Kind::Image, name)), flags.keep)
        }
        (None, Some(file)) => (Request::DeleteFrom(file), args.keep),
        (None, None) => bail!(
            "say what to delete: `delete base-image NAME`, `delete image NAME`, or `delete -f FILE`"
        ),
    };
    super::change(ws, request, keep.keep_images, quiet)
}
