//! Policies: the administrators' rules over what base images may be and what images may hold,
//! as read from `kind: Policy` documents. Plain data; the checks are [`crate::policy`]'s.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::catalog::Ecosystem;
use super::diag::{Diagnostic, Diagnostics, Location};
use super::versions::Query;
use super::{Address, Language};

/// How much a broken rule matters: an error stops `validate`, `plan` and the image at apply;
/// a warning is printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A severity that is neither `error` nor `warning`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected error or warning")]
pub struct UnknownSeverity(pub String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, UnknownSeverity> {
        match s {
            "error" => Ok(Severity::Error),
            "warning" => Ok(Severity::Warning),
            _ => Err(UnknownSeverity(s.into())),
        }
    }
}

/// One rule of a policy: what it says, how much it matters, and where it is written.
#[derive(Debug, Clone)]
pub struct Rule<T> {
    pub severity: Severity,
    pub at: Location,
    pub value: T,
}

/// A reference pattern of `allowedBaseImages`: `*` stands for any characters but `/`, `**`
/// for any at all.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub matcher: globset::GlobMatcher,
}

/// A package entry of `packages.deny` or `packages.allow`: an ecosystem, a name and,
/// optionally, the versions it covers.
#[derive(Debug, Clone)]
pub struct PackageRule {
    pub query: Query,
    pub at: Location,
}

impl fmt::Display for PackageRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.query.name)?;
        for range in &self.query.ranges {
            // As each ecosystem writes a requirement: `pandas<1.0`, `lodash@<4.17.21`.
            match self.query.ecosystem {
                Some(Ecosystem::Pypi) => write!(f, "{range}")?,
                _ => write!(f, "@{range}")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Packages {
    pub deny: Vec<PackageRule>,
    /// When there are any for an ecosystem, the packages an image adds in it must be listed.
    pub allow: Vec<PackageRule>,
}

/// A `kind: Policy` document.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub origin: Location,
    pub allowed_base_images: Option<Rule<Vec<Pattern>>>,
    pub require_digest: Option<Rule<()>>,
    pub languages: Option<Rule<Vec<Language>>>,
    pub packages: Option<Rule<Packages>>,
    pub max_base_age: Option<Rule<Duration>>,
}

/// The rules a policy may have, by their field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum RuleKind {
    #[serde(rename = "allowedBaseImages")]
    AllowedBaseImages,
    #[serde(rename = "requireDigest")]
    RequireDigest,
    #[serde(rename = "languages")]
    Languages,
    #[serde(rename = "packages")]
    Packages,
    #[serde(rename = "maxBaseAge")]
    MaxBaseAge,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::AllowedBaseImages => "allowedBaseImages",
            RuleKind::RequireDigest => "requireDigest",
            RuleKind::Languages => "languages",
            RuleKind::Packages => "packages",
            RuleKind::MaxBaseAge => "maxBaseAge",
        }
    }
}

/// Rules of error severity broken, with the warnings found beside them: a report of the
/// errors must not lose the warnings (GitLab's widget compares both branches' reports).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{errors}")]
pub struct Broken {
    pub errors: Diagnostics,
    pub warnings: Vec<Violation>,
}

/// A rule broken by a resource, and where to look.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// Where the offending value is: a `dockerUrl`, a manifest's line, the resource.
    pub at: Location,
    pub severity: Severity,
    pub address: Address,
    pub policy: String,
    pub rule: RuleKind,
    pub message: String,
}

impl Violation {
    /// As a diagnostic at its place, the hint saying whose rule it is.
    pub fn diagnostic(&self) -> Diagnostic {
        let hint = match self.rule {
            RuleKind::AllowedBaseImages => "use a base image the policy allows",
            RuleKind::RequireDigest => "pin it: dockerUrl: REPOSITORY@sha256:DIGEST",
            RuleKind::Languages => "use a language the policy allows",
            RuleKind::Packages => "use another version, or ask the policy's owners",
            RuleKind::MaxBaseAge => "rebuild or update the base image",
        };
        Diagnostic::new(self.at.clone(), &self.message)
            .with_hint(format!(
                "{hint} (policy `{}`, rule {})",
                self.policy,
                self.rule.as_str()
            ))
            .with_rule(format!("policy/{}", self.rule.as_str()))
    }
}
