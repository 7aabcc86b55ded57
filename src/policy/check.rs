//! The checks: pure functions from declarations, catalogs and dates to the rules they break.
//! Declarations are checked at `validate` and `plan` (a manifest's own lines included);
//! catalogs at apply, once an image is built and before it is pushed.

use std::path::Path;
use std::time::Duration;

use super::vulns;
use crate::advisory::Index;
use crate::decl::{Declarations, Declared};
use crate::manifest::{self, Declared as Dependency};
use crate::model::catalog::{Ecosystem, Entry, Origin, Package};
use crate::model::diag::{Diagnostics, Location, Pos};
use crate::model::policy::{Broken, PackageRule, Packages, Policy, RuleKind, Severity, Violation};
use crate::model::{Address, Language, Spec};
use crate::state::State;

/// What the policies among `declarations` say before anything runs, the ages of the bases
/// `state` records included, and the known vulnerabilities of the dependencies images declare
/// when `advisories` are given: the broken rules of error severity stop the command as an
/// invalid declaration does; the rest are the warnings to show.
pub fn enforce(
    declarations: &Declarations,
    state: Option<&State>,
    advisories: Option<&Index>,
    now: &str,
) -> Result<Vec<Violation>, Broken> {
    let policies = &declarations.policies;
    let mut violations = self::declarations(policies, declarations);
    if let Some(state) = state {
        violations.extend(recorded_bases(policies, declarations, state, now));
    }
    if let Some(index) = advisories.filter(|index| !index.is_empty()) {
        let found = vulns::declared(declarations, index);
        violations.extend(vulns::judge(policies, found, now));
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = violations
        .into_iter()
        .partition(|v| v.severity == Severity::Error);
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(Broken {
            errors: Diagnostics(errors.iter().map(Violation::diagnostic).collect()),
            warnings,
        })
    }
}

/// What the declarations break: base images' references and languages, and the
/// dependencies images declare in their manifests.
pub fn declarations(policies: &[Policy], declarations: &Declarations) -> Vec<Violation> {
    let mut found = Vec::new();
    for (address, declared) in &declarations.resources {
        let broke = |severity: Severity, policy: &Policy, kind, at: Location, message: String| {
            violation(policy, severity, kind, address, at, message)
        };
        let Spec::BaseImage(base) = &declared.resource.spec else {
            continue;
        };
        let url = base.docker_url.as_str();
        for policy in policies {
            if let Some(rule) = &policy.allowed_base_images
                && !rule.value.iter().any(|p| p.matcher.is_match(url))
            {
                let allowed: Vec<&str> = rule.value.iter().map(|p| p.text.as_str()).collect();
                found.push(broke(
                    rule.severity,
                    policy,
                    RuleKind::AllowedBaseImages,
                    declared.at("dockerUrl"),
                    format!(
                        "{url} is not an allowed base image: policy {} allows {}",
                        policy.name,
                        allowed.join(", ")
                    ),
                ));
            }
            if let Some(rule) = &policy.require_digest
                && base.docker_url.digest.is_none()
            {
                found.push(broke(
                    rule.severity,
                    policy,
                    RuleKind::RequireDigest,
                    declared.at("dockerUrl"),
                    format!(
                        "{url} is not pinned by digest, as policy {} requires",
                        policy.name
                    ),
                ));
            }
            if let Some(rule) = &policy.languages
                && !rule.value.contains(&base.language)
            {
                let allowed: Vec<&str> = rule.value.iter().map(|l| l.as_str()).collect();
                found.push(broke(
                    rule.severity,
                    policy,
                    RuleKind::Languages,
                    declared.at("language"),
                    format!(
                        "language {} is not allowed by policy {} (allowed: {})",
                        base.language,
                        policy.name,
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
    if policies.iter().any(|p| p.packages.is_some()) {
        for (address, declared, dependencies) in manifests(declarations) {
            for policy in policies {
                let Some(rule) = &policy.packages else {
                    continue;
                };
                for dependency in &dependencies {
                    if let Some(message) = declared_breaks(&rule.value, dependency, &policy.name) {
                        let at = manifest_location(declared, dependency.pos);
                        found.push(violation(
                            policy,
                            rule.severity,
                            RuleKind::Packages,
                            address,
                            at,
                            message,
                        ));
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// Each image that declares a manifest, with the dependencies it declares in it.
pub(super) fn manifests(
    declarations: &Declarations,
) -> Vec<(&Address, &Declared, Vec<Dependency>)> {
    (declarations.resources.iter())
        .filter_map(|(address, declared)| {
            let (language, manifest) = manifest_of(declarations, declared)?;
            Some((address, declared, manifest::declared(language, manifest)))
        })
        .collect()
}

/// The manifest an image declares, and the language of its base, which says how to read it.
pub(super) fn manifest_of<'d>(
    declarations: &Declarations,
    declared: &'d Declared,
) -> Option<(Language, &'d str)> {
    let Spec::Image(image) = &declared.resource.spec else {
        return None;
    };
    let runtime = image.runtime_dependencies.as_ref()?;
    let base = declarations.get(&declared.resource.depends_on()?)?;
    match &base.spec {
        Spec::BaseImage(b) => Some((b.language, &runtime.manifest)),
        Spec::Image(_) => None,
    }
}

/// What a declared dependency breaks, if anything. A dependency that names no exact version
/// breaks a rule only when the rule covers every version: which one pip or npm picks is known
/// once the image is built, and its catalog is checked then.
fn declared_breaks(rules: &Packages, dependency: &Dependency, policy: &str) -> Option<String> {
    let as_package = |version: &str| Package {
        ecosystem: dependency.ecosystem,
        name: dependency.name.clone(),
        version: version.to_string(),
        purl: String::new(),
        source: None,
        license: None,
    };
    let covers = |rule: &PackageRule| match &dependency.pinned {
        Some(version) => rule.query.matches(&as_package(version)),
        None => rule.query.ranges.is_empty() && rule.query.matches(&as_package("")),
    };
    if let Some(rule) = rules.deny.iter().find(|r| covers(r)) {
        return Some(format!(
            "{} is denied by policy {policy} ({rule})",
            dependency.text
        ));
    }
    let allowed_here = rules
        .allow
        .iter()
        .filter(|r| r.query.ecosystem == Some(dependency.ecosystem));
    let mut allowed_here = allowed_here.peekable();
    if dependency.pinned.is_some() && allowed_here.peek().is_some() && !allowed_here.any(covers) {
        return Some(format!(
            "{} is not among the {} packages policy {policy} allows",
            dependency.text, dependency.ecosystem
        ));
    }
    None
}

/// Where a manifest's line is: in its own file when it was read from one (`@requirements.txt`,
/// beside the YAML that names it), else at the declaration's `runtimeDependencies`.
pub(super) fn manifest_location(declared: &Declared, pos: Pos) -> Location {
    match &declared.manifest {
        Some(name) => Location {
            file: declared
                .origin
                .file
                .parent()
                .unwrap_or(Path::new(""))
                .join(name),
            pos,
        },
        None => declared.at("runtimeDependencies"),
    }
}

/// What the packages an image holds break: a denied package anywhere in it, and, where a
/// policy lists the packages it allows in an ecosystem, one the image's own layers add that
/// it does not list (a base's packages are its administrators' choice); and, with
/// `advisories`, the known vulnerabilities a `vulnerabilities` rule counts on `today`.
/// Each is placed at the rule it breaks: at apply, that is where to look.
pub fn catalog(
    policies: &[Policy],
    advisories: Option<&Index>,
    address: &Address,
    entries: &[Entry],
    today: &str,
) -> Vec<Violation> {
    let mut found = Vec::new();
    for policy in policies {
        let Some(rule) = &policy.packages else {
            continue;
        };
        for entry in entries {
            let package = &entry.package;
            let held = || {
                format!(
                    "{} {} ({})",
                    package.name, package.version, package.ecosystem
                )
            };
            let (message, at) =
                if let Some(deny) = rule.value.deny.iter().find(|r| r.query.matches(package)) {
                    (
                        format!(
                            "it holds {}, denied by policy {} ({deny})",
                            held(),
                            policy.name
                        ),
                        &deny.at,
                    )
                } else if entry.origin == Origin::Image
                    && listed(&rule.value.allow, package.ecosystem)
                    && !rule.value.allow.iter().any(|r| r.query.matches(package))
                {
                    let message = format!(
                        "it holds {}, not among the {} packages policy {} allows",
                        held(),
                        package.ecosystem,
                        policy.name
                    );
                    (message, &rule.at)
                } else {
                    continue;
                };
            found.push(violation(
                policy,
                rule.severity,
                RuleKind::Packages,
                address,
                at.clone(),
                message,
            ));
        }
    }
    if let Some(index) = advisories {
        found.extend(vulns::held(policies, index, address, entries, today));
    }
    found
}

fn listed(allow: &[PackageRule], ecosystem: Ecosystem) -> bool {
    allow.iter().any(|r| r.query.ecosystem == Some(ecosystem))
}

/// Whether a base image made at `created` is older at `now` than a policy allows (both
/// RFC 3339, as the engine and the host say). Each is placed at the rule it breaks.
pub fn base_age(policies: &[Policy], base: &Address, created: &str, now: &str) -> Vec<Violation> {
    // Engines write fractions of a second, which the weak parser does not take.
    let time = |t: &str| humantime::parse_rfc3339_weak(t.split('.').next().unwrap_or(t)).ok();
    let (Some(made), Some(now)) = (time(created), time(now)) else {
        return Vec::new();
    };
    let age = now.duration_since(made).unwrap_or(Duration::ZERO);
    policies
        .iter()
        .filter_map(|policy| {
            let rule = policy.max_base_age.as_ref()?;
            let message = format!(
                "base image {} was made {} ago, more than the {} policy {} allows",
                base.name,
                roughly(age),
                roughly(rule.value),
                policy.name
            );
            (age > rule.value).then(|| {
                violation(
                    policy,
                    rule.severity,
                    RuleKind::MaxBaseAge,
                    base,
                    rule.at.clone(),
                    message,
                )
            })
        })
        .collect()
}

/// The ages of the base images `state` records as pulled for what is still declared, each
/// placed at its `dockerUrl`: a base pulled long ago ages at every plan. One whose declaration
/// changed is checked when it is pulled again.
pub fn recorded_bases(
    policies: &[Policy],
    declarations: &Declarations,
    state: &State,
    now: &str,
) -> Vec<Violation> {
    let mut found = Vec::new();
    for (address, declared) in &declarations.resources {
        let Some(recorded) = state.resources.get(address) else {
            continue;
        };
        let created = recorded
            .observed
            .as_ref()
            .and_then(|o| o.created.as_deref());
        let (Spec::BaseImage(_), Some(created)) = (&declared.resource.spec, created) else {
            continue;
        };
        if recorded.spec_digest != declared.digest {
            continue;
        }
        found.extend(
            base_age(policies, address, created, now)
                .into_iter()
                .map(|v| Violation {
                    at: declared.at("dockerUrl"),
                    ..v
                }),
        );
    }
    found
}

/// A duration as a person reads an age: in its largest whole unit, from days to seconds.
fn roughly(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| secs >= *size)
        .map_or((secs, "second"), |(size, unit)| (secs / size, unit));
    crate::model::words::count(n as usize, unit)
}

pub(super) fn violation(
    policy: &Policy,
    severity: Severity,
    kind: RuleKind,
    address: &Address,
    at: Location,
    message: String,
) -> Violation {
    Violation {
        at,
        severity,
        address: address.clone(),
        policy: Some(policy.name.clone()),
        rule: kind,
        message,
        vulnerability: None,
    }
}

/// Whether any policy checks what images hold (the packages, their known vulnerabilities):
/// then an image that cannot be catalogued cannot be let through.
pub fn checks_packages(policies: &[Policy]) -> bool {
    (policies.iter()).any(|p| p.packages.is_some() || p.vulnerabilities.is_some())
}

/// An image the policies refuse: the rules it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by policy: {0}")]
pub struct Refused(pub String);

/// The most broken rules an image's reason names (a base with many known vulnerabilities
/// breaks a rule many times); the rest are counted.
const MAX_REASONS: usize = 10;

/// What `violations` of an image mean at apply: the reason it is refused for (its errors),
/// or a note of its warnings.
pub fn verdict(violations: &[Violation]) -> Result<Option<String>, Refused> {
    let messages = |severity| {
        let found: Vec<&str> = violations
            .iter()
            .filter(|v| v.severity == severity)
            .map(|v| v.message.as_str())
            .collect();
        let mut said = found[..found.len().min(MAX_REASONS)].join("; ");
        if found.len() > MAX_REASONS {
            said.push_str(&format!("; and {} more", found.len() - MAX_REASONS));
        }
        (!found.is_empty()).then_some(said)
    };
    match messages(Severity::Error) {
        Some(errors) => Err(Refused(errors)),
        None => Ok(messages(Severity::Warning).map(|w| format!("policy warning: {w}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decl::{self, LoadOptions};
    use crate::model::Kind;
    use crate::source::memory::MemorySource;

    const BASES: &str = "kind: BaseImage\nname: ok\ndockerUrl: 127.0.0.1:5000/base/py@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nlanguage: python3\n---\nkind: BaseImage\nname: stray\ndockerUrl: 127.0.0.1:5000/other/team/node:18\nlanguage: nodejs\n";
    const IMAGES: &str = "kind: Image\nname: fn\nbaseImageName: ok\nruntimeDependencies:\n  manifest: '@requirements.txt'\n";
    const REQUIREMENTS: &str = "# pinned\nrequests==2.31.0\npandas==0.23.0\nnumpy>=1.0\nflask\n";

    /// `file:line:col severity rule message` of each violation of `policy` by the sample.
    fn violations(policy: &str) -> Vec<String> {
        let files = [
            ("bases.yaml", BASES),
            ("images.yaml", IMAGES),
            ("requirements.txt", REQUIREMENTS),
            ("policy.yaml", policy),
        ];
        let loaded = decl::load(&MemorySource::new(&files), LoadOptions::default()).unwrap();
        declarations(&loaded.policies, &loaded)
            .iter()
            .map(|v| format!("{} {} {} {}", v.at, v.severity, v.rule.as_str(), v.message))
            .collect()
    }

    fn policy(rules: &str) -> String {
        format!("kind: Policy\nname: p\n{rules}")
    }

    #[test]
    fn base_images_outside_the_patterns_are_named_at_their_docker_url() {
        let found = violations(&policy(
            "allowedBaseImages:\n  images: ['127.0.0.1:5000/base/*']\n",
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("./bases.yaml:8:12 error allowedBaseImages 127.0.0.1:5000/other/team/node:18 is not an allowed base image"), "{found:?}");
        // `*` stops at `/`; `**` does not.
        assert_eq!(
            violations(&policy(
                "allowedBaseImages:\n  images: ['127.0.0.1:5000/*/*']\n"
            ))
            .len(),
            1
        );
        assert!(
            violations(&policy(
                "allowedBaseImages:\n  images: ['127.0.0.1:5000/**']\n"
            ))
            .is_empty()
        );
    }

    #[test]
    fn digests_and_languages_with_their_severity() {
        let found = violations(&policy(
            "requireDigest: {severity: warning}\nlanguages:\n  allowed: [python3]\n",
        ));
        assert_eq!(
            found,
            [
                "./bases.yaml:8:12 warning requireDigest 127.0.0.1:5000/other/team/node:18 is not pinned by digest, as policy p requires",
                "./bases.yaml:9:11 error languages language nodejs is not allowed by policy p (allowed: python3)",
            ]
        );
        assert_eq!(violations(&policy("requireDigest: true\n")).len(), 1);
    }

    #[test]
    fn denied_dependencies_are_named_at_their_manifest_line() {
        let deny =
            |entry: &str| violations(&policy(&format!("packages:\n  deny:\n    - {entry}\n")));
        assert_eq!(
            deny("{ecosystem: pypi, name: pandas, versions: '<1.0'}"),
            [
                "./requirements.txt:3:1 error packages pandas==0.23.0 is denied by policy p (pandas<1.0)"
            ]
        );
        // The boundary: 1.0 itself is outside `<1.0`, inside `<=0.23.0`.
        assert!(deny("{ecosystem: pypi, name: pandas, versions: '<0.23.0'}").is_empty());
        assert_eq!(
            deny("{ecosystem: pypi, name: Pandas, versions: '<=0.23.0'}").len(),
            1
        );
        // An unpinned dependency breaks only a rule on every version; its catalog decides later.
        assert!(deny("{ecosystem: pypi, name: numpy, versions: '<2'}").is_empty());
        assert_eq!(
            deny("{ecosystem: pypi, name: flask}"),
            ["./requirements.txt:5:1 error packages flask is denied by policy p (flask)"]
        );
        // Another ecosystem's rule does not apply.
        assert!(deny("{ecosystem: npm, name: pandas}").is_empty());
    }

    #[test]
    fn an_allow_list_names_the_pinned_dependencies_it_does_not_list() {
        let found = violations(&policy(
            "packages:\n  allow:\n    - {ecosystem: pypi, name: requests}\n    - {ecosystem: pypi, name: numpy}\n",
        ));
        assert_eq!(
            found,
            [
                "./requirements.txt:3:1 error packages pandas==0.23.0 is not among the pypi packages policy p allows"
            ]
        );
    }

    const NOW: &str = "2026-05-28T12:00:00Z";

    fn entry(ecosystem: Ecosystem, name: &str, version: &str, origin: Origin) -> Entry {
        Entry {
            package: Package::plain(ecosystem, name, version),
            origin,
        }
    }

    fn policies(rules: &str) -> Vec<Policy> {
        let files = [("policy.yaml", policy(rules))];
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        decl::load_policies(&MemorySource::new(&files)).unwrap()
    }

    #[test]
    fn a_catalog_is_checked_for_denied_packages_anywhere_and_unlisted_ones_of_its_own() {
        let address = Address::new(Kind::Image, "fn");
        let entries = [
            entry(Ecosystem::Deb, "openssl", "3.0.11-1", Origin::Base),
            entry(Ecosystem::Pypi, "six", "1.16.0", Origin::Image),
            entry(Ecosystem::Pypi, "pip", "23.0.1", Origin::Base),
            entry(Ecosystem::Rpm, "openssl-libs", "3.0.8-1.ph5", Origin::Base),
            entry(Ecosystem::Rpm, "curl", "8.1.2~rc1-1.ph5", Origin::Base),
        ];
        let denied = policies(
            "packages:\n  deny:\n    - {ecosystem: pypi, name: six, versions: '<=1.16.0'}\n    - {ecosystem: deb, name: openssl, versions: '<< 3.0.12'}\n    - {ecosystem: rpm, name: openssl-libs, versions: '<3.0.9'}\n    - {ecosystem: rpm, name: curl, versions: '>=8.1.2'}\n",
        );
        let found: Vec<String> = catalog(&denied, None, &address, &entries, NOW)
            .iter()
            .map(|v| format!("{} {}", v.at, v.message))
            .collect();
        assert_eq!(
            found,
            [
                "./policy.yaml:6:7 it holds openssl 3.0.11-1 (deb), denied by policy p (openssl@<< 3.0.12)",
                "./policy.yaml:5:7 it holds six 1.16.0 (pypi), denied by policy p (six<=1.16.0)",
                "./policy.yaml:7:7 it holds openssl-libs 3.0.8-1.ph5 (rpm), denied by policy p (openssl-libs@<3.0.9)",
            ]
        );
        assert!(
            verdict(&catalog(&denied, None, &address, &entries, NOW))
                .unwrap_err()
                .to_string()
                .starts_with("refused by policy: it holds openssl")
        );
        // Allowing pypi packages leaves the base's own pip alone.
        let allowed = policies(
            "packages:\n  allow:\n    - {ecosystem: pypi, name: requests}\n  severity: warning\n",
        );
        let found = catalog(&allowed, None, &address, &entries, NOW);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].message,
            "it holds six 1.16.0 (pypi), not among the pypi packages policy p allows"
        );
        assert_eq!(
            verdict(&found),
            Ok(Some("policy warning: it holds six 1.16.0 (pypi), not among the pypi packages policy p allows".into())),
            "a warning refuses nothing"
        );
        assert!(checks_packages(&allowed) && !checks_packages(&policies("requireDigest: true\n")));
    }

    #[test]
    fn a_recorded_base_ages_at_its_docker_url_until_its_declaration_changes() {
        let rules = "kind: Policy\nname: p\nmaxBaseAge: {age: 30days}\n";
        let load = |bases: &str| {
            let files = [("bases.yaml", bases), ("policy.yaml", rules)];
            decl::load(&MemorySource::new(&files), LoadOptions::default()).unwrap()
        };
        let declared = load(BASES);
        let mut state = State::new();
        for (address, d) in &declared.resources {
            let mut recorded =
                crate::state::ResourceState::applied(d.resource.clone(), "2026-01-01T00:00:00Z");
            recorded.observed = Some(crate::state::Observed {
                image_id: None,
                digest: None,
                reference: None,
                created: Some("2026-01-01T00:00:00.123456789Z".into()),
                ..Default::default()
            });
            state.resources.insert(address.clone(), recorded);
        }
        let found: Vec<String> = recorded_bases(
            &declared.policies,
            &declared,
            &state,
            "2026-03-01T00:00:00Z",
        )
        .iter()
        .map(|v| format!("{} {}", v.at, v.message))
        .collect();
        assert_eq!(
            found,
            [
                "./bases.yaml:3:12 base image ok was made 59 days ago, more than the 30 days policy p allows",
                "./bases.yaml:8:12 base image stray was made 59 days ago, more than the 30 days policy p allows",
            ]
        );
        // Declared otherwise now: it is pulled again, and checked then.
        let changed = load(&BASES.replace("node:18", "node:20"));
        assert_eq!(
            recorded_bases(&changed.policies, &changed, &state, "2026-03-01T00:00:00Z").len(),
            1
        );
    }

    #[test]
    fn a_base_older_than_allowed_is_named() {
        let rules = policies("maxBaseAge:\n  age: 30days\n  severity: warning\n");
        let base = Address::new(Kind::BaseImage, "py");
        let now = "2026-05-28T12:00:00Z";
        let day = 86_400;
        let made = |secs: u64| {
            let then = humantime::parse_rfc3339(now).unwrap() - Duration::from_secs(secs);
            humantime::format_rfc3339_nanos(then).to_string()
        };
        assert!(base_age(&rules, &base, &made(30 * day), now).is_empty());
        let found = base_age(&rules, &base, &made(30 * day + 1), now);
        assert_eq!(
            found[0].message,
            "base image py was made 30 days ago, more than the 30 days policy p allows"
        );
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(base_age(&rules, &base, "not a date", now).is_empty());
        let fresh = policies("maxBaseAge: {age: 90s}\n");
        let found = base_age(&fresh, &base, &made(3 * 3_600 + 5), now);
        assert_eq!(
            found[0].message,
            "base image py was made 3 hours ago, more than the 1 minute policy p allows"
        );
        assert_eq!(found[0].severity, Severity::Error);
    }
}
