//! For a pull request's comment.

use anyhow::Result;

use dispatch::plan::Plan;
use dispatch::report::markdown;

use dispatch::ops;

use dispatch::decl::Declarations;

use super::{PlanView, Said, VerdictView, View};
use crate::console;

/// A Markdown summary of the plan, sized for a comment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl View for Markdown {
    fn failed(&self, error: &ops::Error) -> Result<Said> {
        console::print(&super::failure(error))?;
        Ok(Said::Partly)
    }
}

impl VerdictView for Markdown {
    fn valid(&self, declarations: &Declarations) -> Result<()> {
        super::warn(declarations);
        Ok(console::print(&super::verdict(declarations))?)
    }
}

impl PlanView for Markdown {
    fn plan(&self, plan: &Plan) -> Result<()> {
        let summary = markdown::summary(plan, markdown::COMMENT_LIMIT, &super::links());
        Ok(console::print(&summary)?)
    }
}
