//! `dispatch create base-image|image ...`, `dispatch create -f PATH`.

use std::process::ExitCode;

use anyhow::{Result, bail};

use dispatch::ops::Workspace;
use dispatch::ops::change::Request;

use crate::cli::{CreateArgs, CreateWhat, RunArgs};

pub fn run(ws: &Workspace, args: CreateArgs) -> Result<ExitCode> {
    let (request, run): (Request, RunArgs) = match (args.what, args.file) {
        (
            Some(CreateWhat::BaseImage {
                name,
                url,
                language,
                tags,
                run,
            }),
            _,
        ) => (
            Request::CreateBaseImage {
                name,
                url,
                language,
                tags,
            },
            run,
        ),
        (
            Some(CreateWhat::Image {
                name,
                base,
                runtime_deps,
                system_deps,
                tags,
                run,
            }),
            _,
        ) => (
            Request::CreateImage {
                name,
                base,
                runtime_deps,
                system_deps,
                tags,
            },
            run,
        ),
        (None, Some(file)) => (Request::CreateFrom(file), args.run),
        (None, None) => bail!(
            "say what to create: `create base-image NAME URL --language L`, `create image NAME BASE`, or `create -f FILE`"
        ),
    };
    super::change(ws, request, &run)
}
