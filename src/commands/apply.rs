//! `dispatch apply [DIR|PLANFILE]`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Result;

use dispatch::apply::Reporter;
use dispatch::apply::record::Outcome;
use dispatch::console::{self, ApprovalError};
use dispatch::model::Address;
use dispatch::model::catalog::Filled;
use dispatch::model::diag::Location;
use dispatch::model::image::Progress as Moving;
use dispatch::ops::apply::{Applied, ApplyRequest, Interaction};
use dispatch::ops::{self, Workspace};
use dispatch::plan::Plan;
use dispatch::report::github::Annotation;
use dispatch::report::{self, text::TextOptions};

use crate::cli::{ApplyArgs, Progress};

/// The person at the terminal: sees the plan, says yes, watches the progress. What failed is
/// kept, for a CI system to point at.
struct Terminal {
    reporter: Box<dyn Reporter>,
    failed: Mutex<Vec<(Address, String)>>,
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
        self
    }
}

impl Reporter for Terminal {
    fn started(&self, address: &Address, what: &str) {
        self.reporter.started(address, what);
    }

    fn progress(&self, address: &Address, progress: &Moving) {
        self.reporter.progress(address, progress);
    }

    fn finished(&self, address: &Address, outcome: Outcome, message: &str) {
        if outcome == Outcome::Failed {
            let mut failed = self.failed.lock().expect("failures lock");
            failed.push((address.clone(), message.to_string()));
        }
        self.reporter.finished(address, outcome, message);
    }
}

pub fn run(ws: &Workspace, args: &ApplyArgs, quiet: bool) -> Result<ExitCode> {
    let request = ApplyRequest {
        input: args.revision.input(&args.path, args.allow_outside_refs),
        auto_approve: args.auto_approve,
        refresh: args.refresh,
        targets: &args.targets,
        keep_images: args.keep.keep_images,
    };
    let terminal = Terminal {
        reporter: console::progress::for_stdout(quiet),
        failed: Mutex::new(Vec::new()),
    };
    let github = args.output == Progress::Github;
    let applied = super::for_ci(ops::apply::apply(ws, &request, &terminal), github, false)?;
    let (tally, origins) = match applied {
        Applied::NoChanges { filled } => {
            catalogued(&filled)?;
            return Ok(ExitCode::SUCCESS);
        }
        Applied::Ran {
            tally,
            origins,
            filled,
        } => {
            catalogued(&filled)?;
            (tally, origins)
        }
    };
    let line = report::text::tally(&tally);
    let code = super::finish(&line, &tally)?;
    if github {
        let failed = terminal.failed.into_inner().expect("failures lock");
        annotate(&failed, &origins, &line)?;
    }
    Ok(code)
}

/// What filling in missing catalogs did; what it could not do, as warnings.
fn catalogued(filled: &Filled) -> Result<()> {
    for failure in &filled.failed {
        console::warn(&format!("not catalogued: {failure}"));
    }
    console::print(&report::text::filled(filled))?;
    Ok(())
}

/// An annotation per failure, at its declaration; the closing line in the step summary.
fn annotate(
    failed: &[(Address, String)],
    origins: &BTreeMap<Address, Location>,
    line: &str,
) -> Result<()> {
    let annotations: Vec<Annotation> = failed
        .iter()
        .map(|(address, reason)| Annotation {
            at: origins.get(address).cloned(),
            title: format!("{address} failed"),
            message: reason.clone(),
            warning: false,
        })
        .collect();
    console::print(&report::github::annotations(&annotations))?;
    let mut summary = format!("## dispatch apply\n\n{line}\n");
    for (address, reason) in failed {
        summary.push_str(&report::markdown::failure(address, reason));
    }
    super::step_summary(&summary)
}
