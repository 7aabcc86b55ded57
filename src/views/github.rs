//! For GitHub Actions: the words in the log, annotations on the pull request's files, and a
//! summary in `$GITHUB_STEP_SUMMARY`.

use std::collections::BTreeMap;

use anyhow::Result;

use dispatch::decl::Declarations;
use dispatch::model::Address;
use dispatch::model::diag::Location;
use dispatch::ops;
use dispatch::plan::Plan;
use dispatch::report::github::{Annotation, annotations};
use dispatch::report::markdown;

use super::human::{Human, validated};
use super::{ApplyView, PlanView, Said, VerdictView, View, step_summary};
use crate::console;

/// What a person reads, plus an annotation per problem and the step summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Github {
    pub human: Human,
}

impl View for Github {
    fn failed(&self, error: &ops::Error) -> Result<Said> {
        let mut found: Vec<Annotation> = (error.diagnostics().iter())
            .map(|d| Annotation::of(d, "dispatch"))
            .collect();
        found.extend(Annotation::warnings(error.warnings()));
        annotate(&found)?;
        step_summary(&super::failure(error))?;
        Ok(Said::Partly)
    }
}

impl PlanView for Github {
    fn plan(&self, plan: &Plan) -> Result<()> {
        self.human.plan(plan)?;
        let mut found = Annotation::warnings(&plan.warnings);
        found.extend(Annotation::stale(&plan.advisories));
        annotate(&found)?;
        let links = super::links();
        step_summary(&markdown::summary(
            plan,
            markdown::STEP_SUMMARY_LIMIT,
            &links,
        ))
    }
}

impl VerdictView for Github {
    fn valid(&self, declarations: &Declarations) -> Result<()> {
        super::warn(declarations);
        annotate(&Annotation::warnings(&declarations.warnings))?;
        console::print(&validated(declarations))?;
        step_summary(&super::verdict(declarations))
    }
}

impl ApplyView for Github {
    /// An annotation per failure, at its declaration; the closing line in the step summary.
    fn applied(
        &self,
        line: &str,
        failed: &[(Address, String)],
        origins: &BTreeMap<Address, Location>,
    ) -> Result<()> {
        self.human.applied(line, failed, origins)?;
        let found: Vec<Annotation> = failed
            .iter()
            .map(|(address, reason)| Annotation {
                at: origins.get(address).cloned(),
                title: format!("{address} failed"),
                message: reason.clone(),
                warning: false,
            })
            .collect();
        annotate(&found)?;
        let mut summary = format!("## dispatch apply\n\n{line}\n");
        for (address, reason) in failed {
            summary.push_str(&markdown::failure(address, reason));
        }
        step_summary(&summary)
    }
}

/// Prints `found` as annotations, their files named from the repository's root: GitHub checks
/// out at `$GITHUB_WORKSPACE`, and `-C` may have moved us below it.
fn annotate(found: &[Annotation]) -> Result<()> {
    let workspace = std::env::var_os("GITHUB_WORKSPACE").map(std::path::PathBuf::from);
    let here = std::env::current_dir().ok();
    let within = match (workspace, here) {
        (Some(root), Some(here)) => {
            let root = std::fs::canonicalize(&root).unwrap_or(root);
            let here = std::fs::canonicalize(&here).unwrap_or(here);
            here.strip_prefix(root)
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default()
        }
        _ => Default::default(),
    };
    Ok(console::print(&annotations(found, &within))?)
}
