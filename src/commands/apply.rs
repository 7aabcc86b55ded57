//! `dispatch apply [DIR|PLANFILE]`.

use std::process::ExitCode;

use anyhow::Result;

use dispatch::apply::Reporter;
use dispatch::console::{self, ApprovalError};
use dispatch::decl::LoadOptions;
use dispatch::ops::apply::{Applied, ApplyRequest, Interaction};
use dispatch::ops::{self, Workspace};
use dispatch::plan::Plan;
use dispatch::report::{self, text::TextOptions};

use crate::cli::ApplyArgs;

/// The person at the terminal: sees the plan, says yes, watches the progress.
struct Terminal {
    reporter: Box<dyn Reporter>,
}

impl Interaction for Terminal {
    fn show(&self, plan: &Plan) -> std::io::Result<()> {
        let options = TextOptions {
            color: super::color(),
            compact: false,
        };
        console::print(&report::text::plan(plan, options))
    }

    fn approve(&self) -> Result<(), ApprovalError> {
        console::approve()
    }

    fn reporter(&self) -> &dyn Reporter {
        self.reporter.as_ref()
    }
}

pub fn run(ws: &Workspace, args: &ApplyArgs, quiet: bool) -> Result<ExitCode> {
    let request = ApplyRequest {
        path: &args.path,
        load: LoadOptions {
            allow_outside_refs: args.allow_outside_refs,
            ..LoadOptions::default()
        },
        auto_approve: args.auto_approve,
        refresh: args.refresh,
        targets: &args.targets,
        keep_images: args.keep.keep_images,
    };
    let terminal = Terminal {
        reporter: console::progress::for_stdout(quiet),
    };
    Ok(match ops::apply::apply(ws, &request, &terminal)? {
        Applied::NoChanges => ExitCode::SUCCESS,
        Applied::Ran(tally) => super::finish(&report::text::tally(&tally), &tally)?,
    })
}
