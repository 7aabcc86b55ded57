//! `dispatch delete base-image|image NAME`, `dispatch delete -f PATH`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use dispatch::model::{Address, Kind};
use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use crate::cli::{DeleteArgs, DeleteWhat};

pub fn run(ws: &Workspace, args: DeleteArgs, quiet: bool) -> Result<ExitCode> {
    let (request, keep) = match (args.what, args.file) {
        (Some(DeleteWhat::BaseImage { name, keep, .. }), _) => {
            (Request::Delete(Address::new(Kind::BaseImage, name)), keep)
        }
        (Some(DeleteWhat::Image { name, keep, .. }), _) => {
            (Request::Delete(Address::new(Kind::Image, name)), keep)
        }
        (None, Some(file)) => (Request::DeleteFrom(file), args.keep),
        (None, None) => bail!(
            "say what to delete: `delete base-image NAME`, `delete image NAME`, or `delete -f FILE`"
        ),
    };
    super::change(ws, request, keep.keep_images, quiet)
}
