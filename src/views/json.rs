//! For a program: one JSON document on stdout.

use anyhow::Result;

use dispatch::decl::Declarations;
use dispatch::model::Kind;
use dispatch::model::diag::Diagnostic;
use dispatch::model::policy::Violation;
use dispatch::ops;
use dispatch::plan::Plan;
use dispatch::report;

use super::{PlanView, Said, VerdictView, View, json};
use crate::console;

/// The plan's versioned document, or `validate`'s verdict as `terraform validate -json`
/// gives it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json {
    /// The output is a verdict: invalid declarations are said in it, not on stderr.
    pub verdict: bool,
}

impl View for Json {
    fn failed(&self, error: &ops::Error) -> Result<Said> {
        match error {
            ops::Error::Declarations(_) | ops::Error::Policies(_) if self.verdict => {
                let warnings: Vec<Diagnostic> =
                    error.warnings().iter().map(Violation::diagnostic).collect();
                let verdict = report::json::validation(error.diagnostics(), &warnings, None);
                console::print(&json(&verdict)?)?;
                Ok(Said::All)
            }
            _ => Ok(Said::Partly),
        }
    }
}

impl PlanView for Json {
    fn plan(&self, plan: &Plan) -> Result<()> {
        Ok(console::print(&json(&report::json::plan(plan))?)?)
    }
}

impl VerdictView for Json {
    fn valid(&self, declarations: &Declarations) -> Result<()> {
        let counts = (
            declarations.count(Kind::BaseImage),
            declarations.count(Kind::Image),
        );
        let warnings: Vec<Diagnostic> = declarations
            .warnings
            .iter()
            .map(Violation::diagnostic)
            .collect();
        let verdict = report::json::validation(&[], &warnings, Some(counts));
        Ok(console::print(&json(&verdict)?)?)
    }
}
