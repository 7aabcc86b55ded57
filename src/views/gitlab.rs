//! For GitLab: a code quality report on stdout (the file a job uploads), the words on stderr.

use anyhow::Result;

use dispatch::decl::Declarations;
use dispatch::ops;
use dispatch::plan::Plan;
use dispatch::report;

use super::human::{Human, validated};
use super::{PlanView, Said, VerdictView, View, json};
use crate::console;

/// The problems as a code quality report: the errors when it failed, and the policies'
/// warnings whether it failed or not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gitlab {
    pub human: Human,
}

impl View for Gitlab {
    fn failed(&self, error: &ops::Error) -> Result<Said> {
        let mut issues = report::gitlab::code_quality(error.diagnostics());
        issues.extend(report::gitlab::advice(error.warnings()));
        console::print(&json(&issues)?)?;
        Ok(Said::Partly)
    }
}

impl PlanView for Gitlab {
    fn plan(&self, plan: &Plan) -> Result<()> {
        // The report is the problems: a plan that could be made has only warnings.
        console::print(&json(&report::gitlab::advice(&plan.warnings))?)?;
        console::eprint(&self.human.text(plan));
        Ok(())
    }
}

impl VerdictView for Gitlab {
    fn valid(&self, declarations: &Declarations) -> Result<()> {
        super::warn(declarations);
        console::print(&json(&report::gitlab::advice(&declarations.warnings))?)?;
        console::eprint(&validated(declarations));
        Ok(())
    }
}
