//! `kind: Policy` documents: read like every other document, each problem at its place.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::Loader;
use super::schema::{Fields, Shape};
use super::yaml::{Node, Value};
use crate::model::Language;
use crate::model::advisory::Level;
use crate::model::catalog::Ecosystem;
use crate::model::diag::{Location, suggest};
use crate::model::policy::{
    Ignore, PackageRule, Packages, Pattern, Policy, Rule, Severity, Vulnerabilities,
};
use crate::model::versions::{Query, Range};

pub(super) const POLICY: Shape = Shape {
    noun: "a Policy",
    name: "Policy",
    fields: &[
        "kind",
        "name",
        "description",
        "allowedBaseImages",
        "requireDigest",
        "languages",
        "packages",
        "maxBaseAge",
        "vulnerabilities",
    ],
    hint: "a Policy needs `name`, and has rules: `allowedBaseImages`, `requireDigest`, `languages`, `packages`, `maxBaseAge`, `vulnerabilities`",
};

const ALLOWED_BASE_IMAGES: Shape = Shape {
    noun: "`allowedBaseImages`",
    name: "allowedBaseImages",
    fields: &["images", "severity"],
    hint: "write `allowedBaseImages:` / `  images: [\"127.0.0.1:5000/base/*\"]` (`*` is any characters but `/`, `**` any)",
};

const REQUIRE_DIGEST: Shape = Shape {
    noun: "`requireDigest`",
    name: "requireDigest",
    fields: &["severity"],
    hint: "write `requireDigest: true`, or `requireDigest: {severity: warning}`",
};

const LANGUAGES: Shape = Shape {
    noun: "`languages`",
    name: "languages",
    fields: &["allowed", "severity"],
    hint: "write `languages:` / `  allowed: [python3, nodejs]`",
};

const PACKAGES: Shape = Shape {
    noun: "`packages`",
    name: "packages",
    fields: &["deny", "allow", "severity"],
    hint: "write `packages:` / `  deny:` / `    - {ecosystem: pypi, name: pandas, versions: \"<1.0\"}`",
};

const PACKAGE_RULE: Shape = Shape {
    noun: "a package rule",
    name: "package rule",
    fields: &["ecosystem", "name", "versions"],
    hint: "write `- {ecosystem: pypi, name: pandas, versions: \"<1.0\"}` (versions in the ecosystem's own syntax; all versions without)",
};

const MAX_BASE_AGE: Shape = Shape {
    noun: "`maxBaseAge`",
    name: "maxBaseAge",
    fields: &["age", "severity"],
    hint: "write `maxBaseAge:` / `  age: 180days` / `  severity: warning`",
};

const VULNERABILITIES: Shape = Shape {
    noun: "`vulnerabilities`",
    name: "vulnerabilities",
    fields: &["severity", "minSeverity", "onlyFixed", "ignore"],
    hint: "write `vulnerabilities:` / `  minSeverity: high` / `  onlyFixed: true` / `  ignore: [{id: PYSEC-2018-28, until: 2027-03-31, reason: \"...\"}]`",
};

const IGNORE: Shape = Shape {
    noun: "an ignore",
    name: "ignore",
    fields: &["id", "until", "reason"],
    hint: "write `- {id: PYSEC-2018-28, until: 2027-03-31, reason: \"not reachable: no redirects\"}` (the advisory's id or an alias, the last day it is accepted, and why)",
};

impl Loader<'_> {
    /// Reads a `kind: Policy` document whose `kind` has been taken from `fields`.
    pub(super) fn policy(
        &mut self,
        file: &Path,
        doc: &Node,
        mut fields: Fields<'_>,
    ) -> Option<Policy> {
        let name = self
            .require(file, doc, &mut fields, "name", &POLICY)
            .and_then(|node| self.name(file, node));
        if let Some(node) = fields.take("description") {
            self.string(file, "description", node);
        }
        // Each rule: absent (`None`), or read (`Some`, `None` inside when invalid).
        let allowed_base_images = fields.take("allowedBaseImages").map(|node| {
            self.rule(file, node, &ALLOWED_BASE_IMAGES, |this, fields| {
                let list = this.require(file, node, fields, "images", &ALLOWED_BASE_IMAGES)?;
                let items = this.list(file, "images", list, &ALLOWED_BASE_IMAGES)?;
                let patterns: Vec<_> = items.iter().map(|item| this.pattern(file, item)).collect();
                patterns.into_iter().collect()
            })
        });
        let require_digest = fields.take("requireDigest").map(|node| match &node.value {
            Value::Bool(true) => Some(Rule {
                severity: Severity::Error,
                at: location(file, node),
                value: (),
            }),
            _ => self.rule(file, node, &REQUIRE_DIGEST, |_, _| Some(())),
        });
        let languages = fields.take("languages").map(|node| {
            self.rule(file, node, &LANGUAGES, |this, fields| {
                let list = this.require(file, node, fields, "allowed", &LANGUAGES)?;
                let items = this.list(file, "allowed", list, &LANGUAGES)?;
                let names = Language::ALL.map(Language::as_str);
                let languages: Vec<_> = items
                    .iter()
                    .map(|item| this.parsed::<Language>(file, "allowed", item, &names))
                    .collect();
                languages.into_iter().collect()
            })
        });
        let packages = fields.take("packages").map(|node| {
            self.rule(file, node, &PACKAGES, |this, fields| {
                let mut entries = |key: &str| match fields.take(key) {
                    None => Some(Vec::new()),
                    Some(list) => {
                        let items = this.list(file, key, list, &PACKAGE_RULE)?;
                        let rules: Vec<_> = items
                            .iter()
                            .map(|item| this.package_rule(file, item))
                            .collect();
                        rules.into_iter().collect()
                    }
                };
                let (deny, allow) = (entries("deny"), entries("allow"));
                Some(Packages {
                    deny: deny?,
                    allow: allow?,
                })
            })
        });
        let max_base_age = fields.take("maxBaseAge").map(|node| {
            self.rule(file, node, &MAX_BASE_AGE, |this, fields| {
                let value = this.require(file, node, fields, "age", &MAX_BASE_AGE)?;
                let text = this.string(file, "age", value)?;
                match humantime::parse_duration(&text) {
                    Ok(age) if !age.is_zero() => Some(age),
                    Ok(_) => this.invalid(
                        file,
                        value,
                        format!("invalid age {text:?}: it must be longer than zero"),
                        AGE_HINT,
                    ),
                    Err(e) => {
                        this.invalid(file, value, format!("invalid age {text:?}: {e}"), AGE_HINT)
                    }
                }
            })
        });
        let vulnerabilities = fields.take("vulnerabilities").map(|node| {
            self.rule(file, node, &VULNERABILITIES, |this, fields| {
                this.vulnerabilities(file, fields)
            })
        });
        self.unknown_fields(file, fields, &POLICY);
        let mut valid = true;
        let policy = Policy {
            name: name?,
            origin: location(file, doc),
            allowed_base_images: present(allowed_base_images, &mut valid),
            require_digest: present(require_digest, &mut valid),
            languages: present(languages, &mut valid),
            packages: present(packages, &mut valid),
            max_base_age: present(max_base_age, &mut valid),
            vulnerabilities: present(vulnerabilities, &mut valid),
        };
        valid.then_some(policy)
    }

    /// A rule's mapping: its `severity` (error by default) and what `read` takes from it.
    fn rule<T>(
        &mut self,
        file: &Path,
        node: &Node,
        shape: &Shape,
        read: impl FnOnce(&mut Self, &mut Fields<'_>) -> Option<T>,
    ) -> Option<Rule<T>> {
        let mut fields = self.fields(file, node, shape)?;
        let severity = match fields.take("severity") {
            None => Some(Severity::Error),
            Some(value) => self.parsed::<Severity>(file, "severity", value, &["error", "warning"]),
        };
        let value = read(self, &mut fields);
        self.unknown_fields(file, fields, shape);
        Some(Rule {
            severity: severity?,
            at: location(file, node),
            value: value?,
        })
    }

    /// What the `vulnerabilities` rule counts, and the risks it accepts.
    fn vulnerabilities(&mut self, file: &Path, fields: &mut Fields<'_>) -> Option<Vulnerabilities> {
        let min_severity = match fields.take("minSeverity") {
            None => Some(None),
            Some(value) => {
                let names = Level::RATED.map(Level::as_str);
                self.parsed::<Level>(file, "minSeverity", value, &names)
                    .map(Some)
            }
        };
        let only_fixed = match fields.take("onlyFixed") {
            None => Some(false),
            Some(node) => match node.value {
                Value::Bool(b) => Some(b),
                _ => self.invalid(
                    file,
                    node,
                    format!(
                        "`onlyFixed` must be true or false, found {}",
                        node.value.kind()
                    ),
                    VULNERABILITIES.hint,
                ),
            },
        };
        let ignore = match fields.take("ignore") {
            None => Some(Vec::new()),
            Some(list) => {
                let items = self.list(file, "ignore", list, &IGNORE)?;
                let ignores: Vec<_> = items.iter().map(|item| self.ignore(file, item)).collect();
                ignores.into_iter().collect()
            }
        };
        Some(Vulnerabilities {
            min_severity: min_severity?,
            only_fixed: only_fixed?,
            ignore: ignore?,
        })
    }

    /// An accepted risk: each of its fields is required.
    fn ignore(&mut self, file: &Path, node: &Node) -> Option<Ignore> {
        let mut fields = self.fields(file, node, &IGNORE)?;
        let mut required = |this: &mut Self, key: &str| {
            let value = this.require(file, node, &mut fields, key, &IGNORE)?;
            let text = this.string(file, key, value)?;
            if text.trim().is_empty() {
                let message = format!("`{key}` must not be empty");
                return this.invalid(file, value, message, IGNORE.hint);
            }
            Some((value, text))
        };
        let id = required(self, "id");
        let until = required(self, "until");
        let reason = required(self, "reason");
        let until = until.and_then(|(value, text)| {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(&text, format) {
                Ok(_) => Some(text),
                Err(e) => self.invalid(
                    file,
                    value,
                    format!("invalid date {text:?}: {e}"),
                    "write the last day the risk is accepted as YYYY-MM-DD, such as 2027-03-31",
                ),
            }
        });
        self.unknown_fields(file, fields, &IGNORE);
        Some(Ignore {
            id: id?.1,
            until: until?,
            reason: reason?.1,
            at: location(file, node),
        })
    }

    fn pattern(&mut self, file: &Path, node: &Node) -> Option<Pattern> {
        let text = self.string(file, "images", node)?;
        match globset::GlobBuilder::new(&text)
            .literal_separator(true)
            .build()
        {
            Ok(glob) => Some(Pattern {
                matcher: glob.compile_matcher(),
                text,
            }),
            Err(e) => self.invalid(
                file,
                node,
                format!("invalid pattern {text:?}: {}", e.kind()),
                ALLOWED_BASE_IMAGES.hint,
            ),
        }
    }

    fn package_rule(&mut self, file: &Path, node: &Node) -> Option<PackageRule> {
        let mut fields = self.fields(file, node, &PACKAGE_RULE)?;
        let names = Ecosystem::ALL.map(Ecosystem::as_str);
        let ecosystem = self
            .require(file, node, &mut fields, "ecosystem", &PACKAGE_RULE)
            .and_then(|value| self.parsed::<Ecosystem>(file, "ecosystem", value, &names));
        let name = self
            .require(file, node, &mut fields, "name", &PACKAGE_RULE)
            .and_then(|value| self.string(file, "name", value))
            .filter(|name| !name.trim().is_empty());
        let ranges = match (fields.take("versions"), ecosystem) {
            (None, _) => Some(Vec::new()),
            (Some(_), None) => None,
            (Some(value), Some(ecosystem)) => {
                let text = self.string(file, "versions", value)?;
                match Range::parse(ecosystem, &text) {
                    Ok(range) => Some(vec![range]),
                    Err(e) => self.invalid(file, value, e.to_string(), PACKAGE_RULE.hint),
                }
            }
        };
        self.unknown_fields(file, fields, &PACKAGE_RULE);
        Some(PackageRule {
            query: Query {
                ecosystem: Some(ecosystem?),
                name: name?,
                ranges: ranges?,
            },
            at: location(file, node),
        })
    }

    /// A string naming one of `names`, parsed; anything else is an error with a suggestion.
    fn parsed<T: FromStr<Err: fmt::Display>>(
        &mut self,
        file: &Path,
        key: &str,
        node: &Node,
        names: &[&str],
    ) -> Option<T> {
        let text = self.string(file, key, node)?;
        match text.parse() {
            Ok(value) => Some(value),
            Err(e) => {
                let hint = suggest(&text, names.iter().copied())
                    .unwrap_or_else(|| format!("one of: {}", names.join(", ")));
                self.invalid(file, node, e.to_string(), &hint)
            }
        }
    }

    /// Reports `message` at `node`; nothing is read from it.
    fn invalid<T>(&mut self, file: &Path, node: &Node, message: String, hint: &str) -> Option<T> {
        self.error(file, node.pos, message).set_hint(hint);
        None
    }
}

/// A rule as read: absent, or present and valid; `valid` turns false for an invalid one.
fn present<T>(rule: Option<Option<T>>, valid: &mut bool) -> Option<T> {
    *valid &= !matches!(rule, Some(None));
    rule.flatten()
}

const AGE_HINT: &str = "write a duration such as `90days`, `26weeks` or `1year`";

fn location(file: &Path, node: &Node) -> Location {
    Location {
        file: file.to_path_buf(),
        pos: node.pos,
    }
}

#[cfg(test)]
mod tests {
    use crate::decl::{self, LoadOptions};
    use crate::source::memory::MemorySource;

    /// `line:col: message` of each problem in a declarations file holding `yaml`.
    fn problems(yaml: &str) -> Vec<String> {
        match decl::load(
            &MemorySource::new(&[("p.yaml", yaml)]),
            LoadOptions::default(),
        ) {
            Ok(_) => Vec::new(),
            Err(d) => {
                d.0.iter()
                    .map(|d| {
                        format!(
                            "{}:{}: {}",
                            d.location.pos.line, d.location.pos.col, d.message
                        )
                    })
                    .collect()
            }
        }
    }

    #[test]
    fn a_policy_is_read_with_every_rule() {
        let yaml = "kind: Policy\nname: admins\ndescription: what the platform team allows\nallowedBaseImages:\n  images: ['127.0.0.1:5000/base/*', '*/approved/*:*']\nrequireDigest: true\nlanguages:\n  allowed: [python3, nodejs]\npackages:\n  deny:\n    - {ecosystem: pypi, name: pandas, versions: '<1.0'}\n  allow:\n    - {ecosystem: npm, name: lodash}\n  severity: warning\nmaxBaseAge:\n  age: 180days\n";
        let loaded = decl::load(
            &MemorySource::new(&[("p.yaml", yaml)]),
            LoadOptions::default(),
        )
        .unwrap();
        assert!(loaded.resources.is_empty());
        let [policy] = loaded.policies.as_slice() else {
            panic!("one policy: {:?}", loaded.policies);
        };
        assert_eq!(policy.name, "admins");
        let patterns = &policy.allowed_base_images.as_ref().unwrap().value;
        assert!(patterns[1].matcher.is_match("127.0.0.1:5000/approved/py:3"));
        assert!(policy.require_digest.is_some());
        let packages = policy.packages.as_ref().unwrap();
        assert_eq!(packages.severity, crate::model::policy::Severity::Warning);
        assert_eq!(packages.value.deny[0].to_string(), "pandas<1.0");
        assert_eq!(packages.value.deny[0].at.pos.line, 11);
        assert_eq!(
            policy.max_base_age.as_ref().unwrap().value.as_secs(),
            180 * 86_400
        );
        assert!(policy.vulnerabilities.is_none());
    }

    #[test]
    fn a_vulnerabilities_rule_is_read_with_its_accepted_risks() {
        let yaml = "kind: Policy\nname: security\nvulnerabilities:\n  severity: error\n  minSeverity: high\n  onlyFixed: true\n  ignore:\n    - {id: PYSEC-2018-28, until: 2027-03-31, reason: \"not reachable: no redirects\"}\n";
        let loaded = decl::load(
            &MemorySource::new(&[("p.yaml", yaml)]),
            LoadOptions::default(),
        )
        .unwrap();
        let rule = loaded.policies[0].vulnerabilities.as_ref().unwrap();
        assert_eq!(rule.severity, crate::model::policy::Severity::Error);
        assert_eq!(
            rule.value.min_severity,
            Some(crate::model::advisory::Level::High)
        );
        assert!(rule.value.only_fixed);
        let ignore = &rule.value.ignore[0];
        assert_eq!(
            (
                ignore.id.as_str(),
                ignore.until.as_str(),
                ignore.reason.as_str()
            ),
            ("PYSEC-2018-28", "2027-03-31", "not reachable: no redirects")
        );
        assert_eq!((ignore.at.pos.line, ignore.at.pos.col), (8, 7));
        assert!(!ignore.expired("2027-03-31T23:59:59Z") && ignore.expired("2027-04-01"));
        // Every field is optional but the ignores': an empty rule counts every finding.
        let empty = "kind: Policy\nname: p\nvulnerabilities: {}\n";
        let loaded = decl::load(
            &MemorySource::new(&[("p.yaml", empty)]),
            LoadOptions::default(),
        )
        .unwrap();
        let rule = &loaded.policies[0].vulnerabilities.as_ref().unwrap().value;
        assert!(rule.min_severity.is_none() && !rule.only_fixed && rule.ignore.is_empty());
    }

    #[test]
    fn every_mistake_of_a_vulnerabilities_rule_is_named_at_its_place() {
        let yaml = "kind: Policy\nname: p\nvulnerabilities:\n  severity: fatal\n  minSeverity: unknown\n  onlyFixed: yes\n  minSeverty: high\n  ignore:\n    - {id: PYSEC-2018-28, until: 2027-02-30, reason: r}\n    - {id: X-1, until: 31/03/2027, reason: r, owner: me}\n    - {id: X-2, reason: ''}\n    - PYSEC-2018-28\n";
        assert_eq!(
            problems(yaml),
            [
                "4:13: unknown severity \"fatal\": expected error or warning",
                "5:16: unknown severity level \"unknown\": expected none, low, medium, high or critical",
                "6:14: `onlyFixed` must be true or false, found a string",
                "7:3: unknown field `minSeverty` in vulnerabilities",
                "9:34: invalid date \"2027-02-30\": day was not in range",
                "10:24: invalid date \"31/03/2027\": the 'year' component could not be parsed",
                "10:47: unknown field `owner` in ignore",
                "11:7: missing field `until` in ignore",
                "11:25: `reason` must not be empty",
                "12:7: an ignore must be a mapping, found a string",
            ]
        );
        let hints: Vec<Option<String>> = match decl::load(
            &MemorySource::new(&[("p.yaml", yaml)]),
            LoadOptions::default(),
        ) {
            Err(d) => d.0.into_iter().map(|d| d.hint).collect(),
            Ok(_) => panic!("invalid"),
        };
        assert_eq!(
            hints[1].as_deref(),
            Some("one of: none, low, medium, high, critical")
        );
        assert_eq!(hints[3].as_deref(), Some("did you mean `minSeverity`?"));
        assert!(hints[4].as_deref().unwrap().contains("YYYY-MM-DD"));
        let list = "kind: Policy\nname: p\nvulnerabilities:\n  ignore: PYSEC-2018-28\n";
        assert_eq!(
            problems(list),
            ["4:11: `ignore` must be a list, found a string"]
        );
    }

    #[test]
    fn every_mistake_is_named_at_its_place() {
        let yaml = "kind: Policy\nname: p\nallowedBaseImage: {}\nrequireDigest: {severity: fatal}\nlanguages:\n  allowed: [python, cobol]\npackages:\n  deny:\n    - {ecosystem: pip, name: pandas}\n    - {ecosystem: pypi, name: pandas, versions: '<<1'}\n    - {ecosystem: npm, nmae: x}\nmaxBaseAge: {age: soon}\n";
        assert_eq!(
            problems(yaml),
            [
                "3:1: unknown field `allowedBaseImage` in Policy",
                "4:27: unknown severity \"fatal\": expected error or warning",
                "6:13: unsupported language \"python\": expected one of python3, nodejs, java, powershell",
                "6:21: unsupported language \"cobol\": expected one of python3, nodejs, java, powershell",
                "9:19: unknown ecosystem \"pip\": expected one of deb, apk, rpm, pypi, npm, maven, powershell",
                "10:49: invalid pypi version range \"<<1\": expected a PEP 440 specifier such as <1.0,>=0.23 (Failed to parse version: no such comparison operator \"<<\", must be one of ~= == != <= >= < > ===:)",
                // A misspelt field is named as such, not also as a missing one.
                "11:24: unknown field `nmae` in package rule",
                "12:19: invalid age \"soon\": expected number at 0",
            ]
        );
        // Two policies of one name.
        let twice = "kind: Policy\nname: p\n---\nkind: Policy\nname: p\n";
        assert_eq!(
            problems(twice),
            ["4:1: duplicate Policy `p`: already declared at ./p.yaml:1:1"]
        );
        // Patterns are checked as globs.
        let glob = "kind: Policy\nname: p\nallowedBaseImages:\n  images: ['a/[b']\n";
        assert_eq!(
            problems(glob)[0],
            "4:12: invalid pattern \"a/[b\": unclosed character class; missing ']'"
        );
    }
}
