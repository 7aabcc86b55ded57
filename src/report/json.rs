//! The plan for programs: a versioned JSON document, documented in README.md ("JSON plan
//! format").

use serde::Serialize;

use crate::model::{Kind, Resource};
use crate::plan::{Action, Plan, Summary};

/// The version of the JSON plan format; bumped on any incompatible change.
pub const JSON_FORMAT_VERSION: &str = "1.0";

/// The machine-readable plan.
#[derive(Debug, Serialize)]
pub struct JsonPlan<'a> {
    pub format_version: &'static str,
    pub dispatch_version: &'static str,
    pub resource_changes: Vec<JsonChange<'a>>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct JsonChange<'a> {
    pub address: String,
    pub kind: Kind,
    pub name: &'a str,
    /// `["create"]`, `["update"]`, `["delete"]`, `["no-op"]`, or `["delete", "create"]` for a replace.
    pub actions: Vec<&'static str>,
    pub reason: &'a [String],
    pub before: Option<&'a Resource>,
    pub after: Option<&'a Resource>,
}

pub fn plan(plan: &Plan) -> JsonPlan<'_> {
    let resource_changes = plan
        .changes
        .iter()
        .map(|c| JsonChange {
            address: c.address.to_string(),
            kind: c.address.kind,
            name: &c.address.name,
            actions: match c.action {
                Action::NoOp => vec!["no-op"],
                Action::Create => vec!["create"],
                Action::Update => vec!["update"],
                Action::Replace => vec!["delete", "create"],
                Action::Delete => vec!["delete"],
            },
            reason: &c.reasons,
            before: c.before.as_ref(),
            after: c.after.as_ref(),
        })
        .collect();
    JsonPlan {
        format_version: JSON_FORMAT_VERSION,
        dispatch_version: env!("CARGO_PKG_VERSION"),
        resource_changes,
        summary: plan.summary(),
    }
}
