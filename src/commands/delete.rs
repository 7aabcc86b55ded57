//! `dispatch delete base-image|image NAME`, `dispatch delete -f PATH`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use dispatch::model::{Address, Kind};
use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use crate::cli::{DeleteArgs, DeleteWhat};

pub fn run(ws: &Workspace, args: DeleteArgs) -> Result<ExitCode> {
    let (request, run) = match (args.what, args.file) {
        (Some(DeleteWhat::BaseImage { name, run }), _) => {
            (Request::Delete(Address::new(Kind::BaseImage, name)), run)
        }
        (Some(DeleteWhat::Image { name, run }), _) => {
            (Request::Delete(Address::new(Kind::Image, name)), run)
        }
        (None, Some(file)) => (Request::DeleteFrom(file), args.run),
        (None, None) => bail!(
            "say what to delete: `delete base-image NAME`, `delete image NAME`, or `delete -f FILE`"
        ),
    };
    super::change(ws, request, &run)
}
