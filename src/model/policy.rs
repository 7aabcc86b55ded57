//! Policies: the administrators' rules over what base images may be and what images may hold,
//! as read from `kind: Policy` documents. Plain data; the checks are [`crate::policy`]'s.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::advisory::{Advisory, Level};
use super::catalog::{Ecosystem, Package};
use super::diag::{Diagnostic, Diagnostics, Location};
use super::versions::{Query, Scheme, Version};
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

/// The `vulnerabilities` rule: which known vulnerabilities it counts, and the risks accepted.
#[derive(Debug, Clone, Default)]
pub struct Vulnerabilities {
    /// Only findings at least this severe count (one of unknown severity always does).
    pub min_severity: Option<Level>,
    /// Only findings a fixed version is known for count.
    pub only_fixed: bool,
    pub ignore: Vec<Ignore>,
}

impl Vulnerabilities {
    /// Whether the rule counts a finding of `severity`, fixed or not.
    pub fn counts(&self, severity: Level, fixed: bool) -> bool {
        let severe = severity == Level::Unknown || self.min_severity.is_none_or(|m| severity >= m);
        severe && (fixed || !self.only_fixed)
    }
}

/// An accepted risk: the advisory it names (by id or alias), until when, and why.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub id: String,
    /// The last day it silences its finding, `YYYY-MM-DD`.
    pub until: String,
    pub reason: String,
    pub at: Location,
}

impl Ignore {
    /// Whether it has expired on `today` (`YYYY-MM-DD`, or an RFC 3339 time): it holds through
    /// its `until` day.
    pub fn expired(&self, today: &str) -> bool {
        today.get(..10).unwrap_or(today) > self.until.as_str()
    }
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
    pub vulnerabilities: Option<Rule<Vulnerabilities>>,
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
    #[serde(rename = "vulnerabilities")]
    Vulnerabilities,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::AllowedBaseImages => "allowedBaseImages",
            RuleKind::RequireDigest => "requireDigest",
            RuleKind::Languages => "languages",
            RuleKind::Packages => "packages",
            RuleKind::MaxBaseAge => "maxBaseAge",
            RuleKind::Vulnerabilities => "vulnerabilities",
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

/// A rule broken by a resource, or a known vulnerability it declares, and where to look.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// Where the offending value is: a `dockerUrl`, a manifest's line, the resource.
    pub at: Location,
    pub severity: Severity,
    pub address: Address,
    /// The policy whose rule it breaks; `None` for a known vulnerability no policy's rule
    /// counts (a warning whatever the policies say).
    pub policy: Option<String>,
    pub rule: RuleKind,
    pub message: String,
    /// For a known vulnerability: which, in what, and its fix.
    pub vulnerability: Option<Box<Vulnerable>>,
}

impl Violation {
    /// As a diagnostic at its place, the hint saying what to do and whose rule it is.
    pub fn diagnostic(&self) -> Diagnostic {
        let hint = match (self.rule, &self.vulnerability) {
            (_, Some(vulnerable)) => match (vulnerable.fix(), &self.policy) {
                (fix, None) => fix.unwrap_or_else(|| NO_FIX.into()),
                (fix, Some(_)) => format!(
                    "{}, or accept the risk in the rule's `ignore` list",
                    fix.unwrap_or_else(|| NO_FIX.into())
                ),
            },
            (RuleKind::AllowedBaseImages, None) => "use a base image the policy allows".into(),
            (RuleKind::RequireDigest, None) => "pin it: dockerUrl: REPOSITORY@sha256:DIGEST".into(),
            (RuleKind::Languages, None) => "use a language the policy allows".into(),
            (RuleKind::Packages | RuleKind::Vulnerabilities, None) => {
                "use another version, or ask the policy's owners".into()
            }
            (RuleKind::MaxBaseAge, None) => "rebuild or update the base image".into(),
        };
        let (hint, rule) = match &self.policy {
            Some(policy) => (
                format!("{hint} (policy `{policy}`, rule {})", self.rule.as_str()),
                format!("policy/{}", self.rule.as_str()),
            ),
            None => (hint, self.rule.as_str().to_string()),
        };
        Diagnostic::new(self.at.clone(), &self.message)
            .with_hint(hint)
            .with_rule(rule)
    }
}

/// The hint of a vulnerability no version fixes yet.
const NO_FIX: &str = "no fixed version is known";

/// A known vulnerability of a package: the package, the advisory, and the versions that fix it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Vulnerable {
    pub ecosystem: Ecosystem,
    pub package: String,
    pub version: String,
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Level,
    /// The versions that fix the ranges its version is in; empty when no fix is known.
    pub fixed: Vec<String>,
}

impl Vulnerable {
    /// `advisory`, rated `severity`, affecting `package`, fixed in `fixed`.
    pub fn new(
        package: &Package,
        advisory: &Advisory,
        severity: Level,
        fixed: Vec<String>,
    ) -> Self {
        Vulnerable {
            ecosystem: package.ecosystem,
            package: package.name.clone(),
            version: package.version.clone(),
            id: advisory.id.clone(),
            aliases: advisory.aliases.clone(),
            severity,
            fixed,
        }
    }

    /// What to use instead: with one fix, as the ecosystem writes a requirement (`use
    /// requests>=2.20.0`, `use lodash@>=4.17.21`); with several (one per release series, or
    /// after a reintroduction) every one, in the ecosystem's order, since no one of them is a
    /// bound above which all is fixed. `None` when no fix is known.
    pub fn fix(&self) -> Option<String> {
        match self.fixed.as_slice() {
            [] => None,
            [fix] => {
                let at = if self.ecosystem == Ecosystem::Pypi {
                    ""
                } else {
                    "@"
                };
                Some(format!("use {}{at}>={fix}", self.package))
            }
            several => {
                let scheme = Scheme::of(self.ecosystem);
                let parsed = |v: &String| scheme.and_then(|s| Version::parse(s, v));
                let mut sorted = several.to_vec();
                sorted.sort_by(|a, b| {
                    match (parsed(a), parsed(b)) {
                        (Some(a), Some(b)) => a.partial_cmp(&b),
                        _ => None,
                    }
                    .unwrap_or_else(|| a.cmp(b))
                });
                let listed = sorted.join(", ");
                Some(format!("use a fixed version of {}: {listed}", self.package))
            }
        }
    }
}
