//! Known vulnerabilities among what images declare and hold, and the `vulnerabilities` rule
//! that decides which of them count. Before merge, each pinned dependency of a manifest (read
//! as the `packages` rule reads them) is matched against the advisories and reported at its
//! own line: a warning, unless a policy's rule counts it (then at the rule's severity) or
//! accepts the risk (an ignore, until its day). At apply, a built image's whole catalog is held
//! to the rules alone. Pure: the advisories come indexed, and today as a date.

use std::collections::HashMap;

use super::check::{manifest_location, manifest_of, manifests};
use crate::advisory::find::named;
use crate::advisory::{Hit, Index, severity};
use crate::decl::Declarations;
use crate::model::Address;
use crate::model::advisory::{Advisory, ecosystems_of};
use crate::model::catalog::{Entry, Origin, Package};
use crate::model::diag::Location;
use crate::model::policy::{
    Ignore, Policy, Rule, RuleKind, Severity, Violation, Vulnerabilities, Vulnerable,
};

/// A declared dependency an advisory affects, before the rules judge it.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    pub address: &'a Address,
    /// The manifest's line.
    pub at: Location,
    /// The dependency as written: `requests==2.19.1`.
    pub text: String,
    pub advisory: &'a Advisory,
    pub vulnerable: Vulnerable,
}

/// The OSV ecosystems of the manifests the images of `declarations` declare (`PyPI` for a
/// python3 image's requirements.txt): the advisories to load for [`declared`].
pub fn ecosystems(declarations: &Declarations) -> Vec<String> {
    let mut found: Vec<String> = (declarations.resources.values())
        .filter_map(|declared| manifest_of(declarations, declared))
        .flat_map(|(language, _)| {
            ecosystems_of(&Package::plain(language.facts().ecosystem, "", ""))
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Every pinned dependency the images of `declarations` declare that an advisory of `index`
/// affects, by image, line and advisory id. A dependency pinned by many images is matched once.
pub fn declared<'a>(declarations: &'a Declarations, index: &'a Index) -> Vec<Finding<'a>> {
    let mut matched: HashMap<Package, Vec<(&'a Advisory, Vulnerable)>> = HashMap::new();
    let mut found = Vec::new();
    for (address, declared, dependencies) in manifests(declarations) {
        for dependency in dependencies {
            let Some(version) = &dependency.pinned else {
                continue;
            };
            let package = Package::plain(dependency.ecosystem, &dependency.name, version);
            let hits = matched.entry(package).or_insert_with_key(|package| {
                (index.affecting(package).iter())
                    .map(|hit| (hit.advisory, vulnerable(package, hit)))
                    .collect()
            });
            if hits.is_empty() {
                continue;
            }
            let at = manifest_location(declared, dependency.pos);
            for (advisory, vulnerable) in hits.iter() {
                found.push(Finding {
                    address,
                    at: at.clone(),
                    text: dependency.text.clone(),
                    advisory,
                    vulnerable: vulnerable.clone(),
                });
            }
        }
    }
    found
}

/// What `findings` are once the policies' `vulnerabilities` rules have judged them on `today`
/// (`YYYY-MM-DD`, or an RFC 3339 time), in their order: each counted by a rule at the most
/// severe of those rules' severities; one a rule accepts the risk of (and no other counts) left
/// out; the rest warnings. An expired ignore is said in the message.
pub fn judge(policies: &[Policy], findings: Vec<Finding<'_>>, today: &str) -> Vec<Violation> {
    let mut judged = Vec::with_capacity(findings.len());
    for finding in findings {
        let vulnerable = finding.vulnerable;
        let mut accepted = false;
        let mut expired = Vec::new();
        let mut counted: Option<(Severity, &Policy)> = None;
        for (policy, rule, ignore) in rules(policies, finding.advisory) {
            match ignore {
                Some(ignore) if !ignore.expired(today) => {
                    accepted = true;
                    continue;
                }
                Some(ignore) => expired.push(ignore),
                None => {}
            }
            let counts = rule
                .value
                .counts(vulnerable.severity, !vulnerable.fixed.is_empty());
            if counts && counted.is_none_or(|(severity, _)| rule.severity < severity) {
                counted = Some((rule.severity, policy));
            }
        }
        let (severity, policy) = match counted {
            Some((severity, policy)) => (severity, Some(policy)),
            None if accepted => continue,
            None => (Severity::Warning, None),
        };
        let mut message = finding.text;
        message.push_str(" is affected by ");
        message.push_str(&advisory(&vulnerable, None));
        if let Some(policy) = policy {
            message.push_str(&format!(", which policy {} does not accept", policy.name));
        }
        message.push_str(&expiries(&expired));
        judged.push(Violation {
            at: finding.at,
            severity,
            address: finding.address.clone(),
            policy: policy.map(|p| p.name.clone()),
            rule: RuleKind::Vulnerabilities,
            message,
            vulnerability: Some(Box::new(vulnerable)),
        });
    }
    judged
}

/// What the packages an image holds (`entries`, its base's included) break of the policies'
/// `vulnerabilities` rules on `today`: each finding a rule counts and does not accept the risk
/// of, placed at the rule.
pub fn held(
    policies: &[Policy],
    index: &Index,
    address: &Address,
    entries: &[Entry],
    today: &str,
) -> Vec<Violation> {
    if !policies.iter().any(|p| p.vulnerabilities.is_some()) {
        return Vec::new();
    }
    let mut found = Vec::new();
    for entry in entries {
        let package = &entry.package;
        for hit in index.affecting(package) {
            let vulnerable = vulnerable(package, &hit);
            for (policy, rule, ignore) in rules(policies, hit.advisory) {
                if ignore.is_some_and(|i| !i.expired(today))
                    || !rule
                        .value
                        .counts(vulnerable.severity, !vulnerable.fixed.is_empty())
                {
                    continue;
                }
                let of_base = if entry.origin == Origin::Base {
                    ", of its base"
                } else {
                    ""
                };
                let fixed = match vulnerable.fixed.as_slice() {
                    [] => "no fix known".to_string(),
                    fixed => format!("fixed in {}", fixed.join(", ")),
                };
                let message = format!(
                    "it holds {} {} ({}{of_base}), affected by {}, which policy {} does not accept{}",
                    package.name,
                    package.version,
                    package.ecosystem,
                    advisory(&vulnerable, Some(&fixed)),
                    policy.name,
                    expiries(ignore.as_slice()),
                );
                found.push(Violation {
                    at: rule.at.clone(),
                    severity: rule.severity,
                    address: address.clone(),
                    policy: Some(policy.name.clone()),
                    rule: RuleKind::Vulnerabilities,
                    message,
                    vulnerability: Some(Box::new(vulnerable.clone())),
                });
            }
        }
    }
    found
}

/// Each policy with a `vulnerabilities` rule, the rule, and its ignore of `advisory` (by id or
/// alias), if it has one.
fn rules<'p>(
    policies: &'p [Policy],
    advisory: &Advisory,
) -> impl Iterator<Item = (&'p Policy, &'p Rule<Vulnerabilities>, Option<&'p Ignore>)> {
    policies.iter().filter_map(move |policy| {
        let rule = policy.vulnerabilities.as_ref()?;
        let ignore = rule.value.ignore.iter().find(|i| named(advisory, &i.id));
        Some((policy, rule, ignore))
    })
}

fn vulnerable(package: &Package, hit: &Hit<'_>) -> Vulnerable {
    Vulnerable::new(
        package,
        hit.advisory,
        severity::of(hit.advisory),
        hit.fixed.clone(),
    )
}

/// `PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg; severity unknown)`, with `more`
/// said after the severity.
fn advisory(vulnerable: &Vulnerable, more: Option<&str>) -> String {
    let mut said = format!("{} (", vulnerable.id);
    if !vulnerable.aliases.is_empty() {
        said.push_str(&vulnerable.aliases.join(", "));
        said.push_str("; ");
    }
    said.push_str("severity ");
    said.push_str(vulnerable.severity.as_str());
    if let Some(more) = more {
        said.push_str("; ");
        said.push_str(more);
    }
    said.push(')');
    said
}

/// `; the ignore of PYSEC-2018-28 expired on 2027-03-31`, for each of `expired`.
fn expiries(expired: &[&Ignore]) -> String {
    (expired.iter())
        .map(|i| format!("; the ignore of {} expired on {}", i.id, i.until))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decl::{self, LoadOptions};
    use crate::model::Kind;
    use crate::model::catalog::Ecosystem;
    use crate::source::memory::MemorySource;

    /// PyPA's record of requests (no severity), one of urllib3 rated high, one of jinja2
    /// listing its versions (rated medium, no fix), one of lodash rated critical.
    const ADVISORIES: &str = r#"[
      {"id": "PYSEC-2018-28", "modified": "2024-01-01T00:00:00Z",
       "aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
       "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}]}]},
      {"id": "TEST-HIGH", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.24.2"},
                                                    {"introduced": "1.25"}, {"fixed": "1.25.9"}]}]}],
       "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]},
      {"id": "TEST-MEDIUM", "modified": "2024-01-01T00:00:00Z",
       "affected": [{"package": {"ecosystem": "PyPI", "name": "Jinja2"}, "versions": ["2.10"]}],
       "database_specific": {"severity": "MODERATE"}},
      {"id": "TEST-NPM", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2021-23337"],
       "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
         "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}],
       "database_specific": {"severity": "CRITICAL"}}
    ]"#;

    const BASES: &str = "kind: BaseImage\nname: py\ndockerUrl: 127.0.0.1:5000/base/py:3\nlanguage: python3\n---\nkind: BaseImage\nname: node\ndockerUrl: 127.0.0.1:5000/base/node:18\nlanguage: nodejs\n";
    const IMAGES: &str = "kind: Image\nname: api\nbaseImageName: py\nruntimeDependencies:\n  manifest: '@requirements.txt'\n---\nkind: Image\nname: web\nbaseImageName: node\nruntimeDependencies:\n  manifest: '{\"dependencies\": {\"lodash\": \"4.17.20\", \"express\": \"^4\"}}'\n";
    const REQUIREMENTS: &str =
        "# pinned\nrequests==2.19.1\nurllib3==1.24.1\nJinja2==2.10\nsix\nrequests>=2.0\n";
    const TODAY: &str = "2027-03-31T12:00:00Z";

    fn index() -> Index {
        Index::new(serde_json::from_str(ADVISORIES).unwrap())
    }

    fn load(policy: &str) -> Declarations {
        let files = [
            ("bases.yaml", BASES),
            ("images.yaml", IMAGES),
            ("requirements.txt", REQUIREMENTS),
            ("policy.yaml", policy),
        ];
        decl::load(&MemorySource::new(&files), LoadOptions::default()).unwrap()
    }

    /// `file:line:col severity [policy] message | hint` of each finding, judged by `rules`.
    fn judged(rules: &str) -> Vec<String> {
        let policy = match rules {
            "" => String::new(),
            rules => format!("kind: Policy\nname: security\nvulnerabilities:\n{rules}"),
        };
        let declarations = load(&policy);
        let index = index();
        let found = declared(&declarations, &index);
        judge(&declarations.policies, found, TODAY)
            .iter()
            .map(|v| {
                let d = v.diagnostic();
                let policy = v.policy.as_deref().unwrap_or("-");
                let hint = d.hint.unwrap_or_default();
                format!("{} {} {policy} {} | {hint}", v.at, v.severity, v.message)
            })
            .collect()
    }

    #[test]
    fn pinned_dependencies_are_named_at_their_line_with_the_fix() {
        assert_eq!(
            judged(""),
            [
                "./requirements.txt:2:1 warning - requests==2.19.1 is affected by PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg; severity unknown) | use requests>=2.20.0",
                "./requirements.txt:3:1 warning - urllib3==1.24.1 is affected by TEST-HIGH (severity high) | use a fixed version of urllib3: 1.24.2, 1.25.9",
                "./requirements.txt:4:1 warning - Jinja2==2.10 is affected by TEST-MEDIUM (severity medium) | no fixed version is known",
                "./images.yaml:11:3 warning - \"lodash\": \"4.17.20\" is affected by TEST-NPM (CVE-2021-23337; severity critical) | use lodash@>=4.17.21",
            ],
            "unpinned dependencies (six, requests>=2.0, express ^4) are left to the catalog"
        );
        let declarations = load("");
        assert_eq!(ecosystems(&declarations), ["PyPI", "npm"]);
        let none = Index::new(Vec::new());
        assert!(declared(&declarations, &none).is_empty());
    }

    #[test]
    fn the_rule_counts_by_severity_and_fix_and_unknown_severity_counts() {
        let found = judged("  minSeverity: high\n");
        let errors: Vec<&String> = found.iter().filter(|f| f.contains(" error ")).collect();
        assert_eq!(errors.len(), 3, "{found:#?}");
        assert!(errors[0].starts_with("./requirements.txt:2:1 error security requests==2.19.1 is affected by PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg; severity unknown), which policy security does not accept | use requests>=2.20.0, or accept the risk in the rule's `ignore` list (policy `security`, rule vulnerabilities)"), "{found:#?}");
        // Medium is below high: still a warning, no policy's.
        assert!(found[2].starts_with("./requirements.txt:4:1 warning - Jinja2==2.10"));
        // Only those with a fix: jinja2's has none.
        let found = judged("  onlyFixed: true\n  severity: warning\n");
        let counted = found.iter().filter(|f| f.contains(" security ")).count();
        assert_eq!(counted, 3, "{found:#?}");
        assert!(found[2].contains(" warning - Jinja2==2.10"));
        let both = judged("  minSeverity: critical\n  onlyFixed: true\n");
        let counted: Vec<&String> = both.iter().filter(|f| f.contains(" error ")).collect();
        assert_eq!(
            counted.len(),
            2,
            "lodash (critical) and requests (unknown): {both:#?}"
        );
    }

    #[test]
    fn an_ignore_by_id_or_alias_silences_until_its_day() {
        let ignore = |id: &str, until: &str| {
            judged(&format!(
                "  ignore:\n    - {{id: {id}, until: {until}, reason: not reachable}}\n"
            ))
        };
        for id in ["PYSEC-2018-28", "cve-2018-18074", "GHSA-x84v-xcm2-53pg"] {
            let found = ignore(id, "2027-03-31");
            assert_eq!(found.len(), 3, "{id}: {found:#?}");
            assert!(!found.iter().any(|f| f.contains("requests")), "{id}");
        }
        // The day after its `until`, it silences nothing and says so.
        let found = ignore("CVE-2018-18074", "2027-03-30");
        assert_eq!(found.len(), 4);
        assert_eq!(
            found[0],
            "./requirements.txt:2:1 error security requests==2.19.1 is affected by PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg; severity unknown), which policy security does not accept; the ignore of CVE-2018-18074 expired on 2027-03-30 | use requests>=2.20.0, or accept the risk in the rule's `ignore` list (policy `security`, rule vulnerabilities)"
        );
        // Another policy's rule still counts what one accepts.
        let declarations = load(
            "kind: Policy\nname: team\nvulnerabilities:\n  ignore: [{id: PYSEC-2018-28, until: 2030-01-01, reason: r}]\n---\nkind: Policy\nname: platform\nvulnerabilities:\n  severity: warning\n",
        );
        let index = index();
        let found = judge(
            &declarations.policies,
            declared(&declarations, &index),
            TODAY,
        );
        let requests: Vec<&Violation> = (found.iter())
            .filter(|v| v.message.starts_with("requests"))
            .collect();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].policy.as_deref(), Some("platform"));
        assert_eq!(requests[0].severity, Severity::Warning);
    }

    #[test]
    fn a_catalog_is_held_to_the_rules_alone() {
        let address = Address::new(Kind::Image, "api");
        let entry = |name: &str, version: &str, origin| Entry {
            package: Package::plain(Ecosystem::Pypi, name, version),
            origin,
        };
        let entries = [
            entry("urllib3", "1.25.3", Origin::Base),
            entry("requests", "2.19.1", Origin::Image),
            entry("requests", "2.32.3", Origin::Image),
        ];
        let policies = |rules: &str| {
            let text = format!("kind: Policy\nname: security\nvulnerabilities:\n{rules}");
            decl::load_policies(&MemorySource::new(&[("p.yaml", text.as_str())])).unwrap()
        };
        let index = index();
        let messages = |rules: &str, today: &str| -> Vec<String> {
            held(&policies(rules), &index, &address, &entries, today)
                .iter()
                .map(|v| format!("{} {} {}", v.at, v.severity, v.message))
                .collect()
        };
        assert_eq!(
            messages("  severity: error\n", TODAY),
            [
                "./p.yaml:4:3 error it holds urllib3 1.25.3 (pypi, of its base), affected by TEST-HIGH (severity high; fixed in 1.25.9), which policy security does not accept",
                "./p.yaml:4:3 error it holds requests 2.19.1 (pypi), affected by PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg; severity unknown; fixed in 2.20.0), which policy security does not accept",
            ]
        );
        let ignored = "  ignore:\n    - {id: GHSA-x84v-xcm2-53pg, until: 2027-03-31, reason: r}\n";
        assert_eq!(messages(ignored, TODAY).len(), 1);
        let expired = messages(ignored, "2027-04-01T00:00:00Z");
        assert!(
            expired[1].ends_with("; the ignore of GHSA-x84v-xcm2-53pg expired on 2027-03-31"),
            "{expired:?}"
        );
        assert!(
            messages("  minSeverity: critical\n", TODAY).len() == 1,
            "unknown counts"
        );
        let none =
            decl::load_policies(&MemorySource::new(&[("p.yaml", "kind: Policy\nname: p\n")]));
        assert!(held(&none.unwrap(), &index, &address, &entries, TODAY).is_empty());
        // What apply records: the findings, in the reason it is refused for.
        let refused = crate::policy::check::verdict(&held(
            &policies("  severity: error\n"),
            &index,
            &address,
            &entries,
            TODAY,
        ));
        assert!(refused.unwrap_err().to_string().starts_with(
            "refused by policy: it holds urllib3 1.25.3 (pypi, of its base), affected by TEST-HIGH"
        ));
    }
}
