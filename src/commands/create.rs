//! `dispatch create base-image|image ...`, `dispatch create -f PATH`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use crate::cli::{CreateArgs, CreateWhat};

pub fn run(ws: &Workspace, args: CreateArgs, quiet: bool) -> Result<ExitCode> {
    let request = match (args.what, args.file) {
        (Some(what), _) => request(what),
        (None, Some(file)) => Request::CreateFrom(file),
        (None, None) => bail!(
            "say what to create: `create base-image NAME URL --language L`, `create image NAME BASE`, or `create -f FILE`"
        ),
    };
    // Creating removes no image.
    super::change(ws, request, false, quiet)
}

fn request(what: CreateWhat) -> Request {
    match what {
        CreateWhat::BaseImage {
            name,
            url,
            language,
            tags,
            ..
        } => Request::CreateBaseImage {
            name,
            url,
            language,
            tags,
        },
        CreateWhat::Image {
            name,
            base,
            runtime_deps,
            system_deps,
            tags,
            ..
        } => Request::CreateImage {
            name,
            base,
            runtime_deps,
            system_deps,
            tags,
        },
    }
}
