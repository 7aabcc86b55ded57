//! Advisories by package, and whether a package's version is affected: OSV's evaluation
//! (<https://ossf.github.io/osv-schema/#evaluation>) in each ecosystem's own order of versions
//! (`model::versions::order`). Records are indexed by OSV ecosystem and normalized name, and
//! an entry's versions are read the first time a package of its name is asked about: matching
//! 10,000 images reads only the records of the packages they hold.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::model::advisory::{
    Advisory, Affected, Event, RangeKind, ecosystem, ecosystems_of, key, matched_as,
};
use crate::model::catalog::Package;
use crate::model::versions::{Scheme, Version, normal_name};

/// Where an advisory's affected package is: (advisory, affected entry), by position.
type At = (usize, usize);

/// The advisories, each affected package under its OSV ecosystem and normalized name.
pub struct Index {
    advisories: Vec<Advisory>,
    packages: HashMap<(String, String), Bucket>,
}

/// The entries of one name, compiled when first asked about.
struct Bucket {
    at: Vec<At>,
    compiled: OnceLock<Vec<Entry>>,
}

/// One affected package, ready to test versions.
struct Entry {
    advisory: usize,
    ranges: Vec<Compiled>,
    /// The versions listed one by one, as written.
    versions: Vec<String>,
    /// The scheme `versions` are compared in beside their text (the ecosystem's).
    scheme: Option<Scheme>,
    /// Every `fixed` version of its ranges.
    fixed: Vec<String>,
}

/// A range's events, sorted by version, in the scheme it is evaluated in.
struct Compiled {
    scheme: Scheme,
    events: Vec<(Kind, Bound)>,
    limits: Vec<Bound>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
}

/// An event's version: `0` before every version, `*` after every one.
enum Bound {
    Zero,
    At(Version, String),
    Infinite,
}

impl Bound {
    fn read(scheme: Scheme, text: &str) -> Option<Bound> {
        match text {
            "0" => Some(Bound::Zero),
            "*" => Some(Bound::Infinite),
            _ => Version::parse(scheme, text).map(|v| Bound::At(v, text.to_string())),
        }
    }

    /// `version` against this bound.
    fn against(&self, version: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Greater,
            Bound::Infinite => Ordering::Less,
            Bound::At(bound, _) => version.partial_cmp(bound).unwrap_or(Ordering::Less),
        }
    }

    fn order(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinite, Bound::Infinite) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinite) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinite, _) => Ordering::Greater,
            (Bound::At(a, _), Bound::At(b, _)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        }
    }
}

impl Compiled {
    /// The range as OSV's evaluation reads it, or `None` for a `GIT` range or one whose
    /// versions are not its scheme's (checked records have none).
    fn new(scheme: Scheme, events: &[Event]) -> Option<Compiled> {
        let mut sorted = Vec::new();
        let mut limits = Vec::new();
        for event in events {
            let bound = Bound::read(scheme, event.version())?;
            match event {
                Event::Introduced(_) => sorted.push((Kind::Introduced, bound)),
                Event::Fixed(_) => sorted.push((Kind::Fixed, bound)),
                Event::LastAffected(_) => sorted.push((Kind::LastAffected, bound)),
                Event::Limit(_) => limits.push(bound),
            }
        }
        sorted.sort_by(|(_, a), (_, b)| a.order(b));
        Some(Compiled {
            scheme,
            events: sorted,
            limits,
        })
    }

    /// Whether `version` is in the range: below one of its limits (if it has any), and after
    /// the events up to it, affected.
    fn holds(&self, version: &Version) -> bool {
        let below_limit = |limit: &Bound| limit.against(version) == Ordering::Less;
        if !self.limits.is_empty() && !self.limits.iter().any(below_limit) {
            return false;
        }
        let mut affected = false;
        for (kind, bound) in &self.events {
            let order = bound.against(version);
            match kind {
                Kind::Introduced if order != Ordering::Less => affected = true,
                Kind::Fixed if order != Ordering::Less => affected = false,
                Kind::LastAffected if order == Ordering::Greater => affected = false,
                _ => {}
            }
        }
        affected
    }
}

impl Entry {
    fn new(advisory: usize, affected: &Affected) -> Entry {
        let ecosystem = ecosystem(&affected.package.ecosystem);
        let ranges = (affected.ranges.iter())
            .filter_map(|range| {
                let scheme = range.kind.scheme(ecosystem?)?;
                Compiled::new(scheme, &range.events)
            })
            .collect();
        let fixed = (affected.ranges.iter())
            .filter(|r| r.kind != RangeKind::Git)
            .flat_map(|r| &r.events)
            .filter_map(|e| match e {
                Event::Fixed(v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        Entry {
            advisory,
            ranges,
            versions: affected.versions.clone(),
            scheme: ecosystem.and_then(Scheme::of),
            fixed,
        }
    }

    /// The fixed versions above `version` of the ranges it is in (all of them, when it is only
    /// listed),
    /// or `None` when it is not affected.
    fn affects(&self, version: &str, parsed: &mut Parsed) -> Option<Vec<String>> {
        let mut fixed = Vec::new();
        let mut hit = false;
        for range in &self.ranges {
            let Some(v) = parsed.get(range.scheme, version) else {
                continue;
            };
            if range.holds(v) {
                hit = true;
                // The fixes above it: those of the range's later events.
                let later = |bound: &Bound| bound.against(v) == Ordering::Less;
                fixed.extend(range.events.iter().filter_map(|(kind, bound)| match bound {
                    Bound::At(_, text) if *kind == Kind::Fixed && later(bound) => {
                        Some(text.clone())
                    }
                    _ => None,
                }));
            }
        }
        if !hit && self.listed(version, parsed) {
            hit = true;
            fixed = self.fixed.clone();
        }
        hit.then_some(fixed)
    }

    /// Whether `version` is one of the versions listed, as written or in its ecosystem's order
    /// (`1.0` is PEP 440's `1.0.0`).
    fn listed(&self, version: &str, parsed: &mut Parsed) -> bool {
        if self.versions.iter().any(|v| v == version) {
            return true;
        }
        let Some(scheme) = self.scheme else {
            return false;
        };
        let Some(v) = parsed.get(scheme, version).cloned() else {
            return false;
        };
        (self.versions.iter()).any(|listed| Version::parse(scheme, listed).is_some_and(|l| l == v))
    }
}

/// One package's version as each scheme reads it, read once.
#[derive(Default)]
struct Parsed(Vec<(Scheme, Option<Version>)>);

impl Parsed {
    fn get(&mut self, scheme: Scheme, text: &str) -> Option<&Version> {
        let at = match self.0.iter().position(|(s, _)| *s == scheme) {
            Some(at) => at,
            None => {
                self.0.push((scheme, Version::parse(scheme, text)));
                self.0.len() - 1
            }
        };
        self.0[at].1.as_ref()
    }
}

/// An advisory that affects a package, and the versions that fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    pub advisory: &'a Advisory,
    /// The fixed versions of the ranges the package's version is in; empty: no fix is known.
    pub fixed: Vec<String>,
}

impl Index {
    /// `advisories` indexed; withdrawn ones affect nothing and are left out.
    pub fn new(advisories: Vec<Advisory>) -> Index {
        let mut packages: HashMap<(String, String), Bucket> = HashMap::new();
        for (i, advisory) in advisories.iter().enumerate() {
            if advisory.withdrawn.is_some() {
                continue;
            }
            for (j, affected) in advisory.affected.iter().enumerate() {
                let package = &affected.package;
                let Some(ecosystem) = ecosystem(&package.ecosystem) else {
                    continue;
                };
                let key = (
                    key(&package.ecosystem).to_string(),
                    normal_name(ecosystem, &package.name),
                );
                let bucket = packages.entry(key).or_insert_with(|| Bucket {
                    at: Vec::new(),
                    compiled: OnceLock::new(),
                });
                bucket.at.push((i, j));
            }
        }
        Index {
            advisories,
            packages,
        }
    }

    /// How many advisories it holds.
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// The advisories affecting `package`, each once, by id: a distribution's package by the
    /// name and version of its source ([`matched_as`]).
    pub fn affecting(&self, package: &Package) -> Vec<Hit<'_>> {
        let (name, version) = matched_as(package);
        let name = normal_name(package.ecosystem, name);
        let mut parsed = Parsed::default();
        let mut hits: Vec<Hit<'_>> = Vec::new();
        for osv in ecosystems_of(package) {
            let Some(bucket) = self.packages.get(&(osv, name.clone())) else {
                continue;
            };
            let entries = bucket.compiled.get_or_init(|| {
                (bucket.at.iter())
                    .map(|&(i, j)| Entry::new(i, &self.advisories[i].affected[j]))
                    .collect()
            });
            for entry in entries {
                let Some(fixed) = entry.affects(version, &mut parsed) else {
                    continue;
                };
                let advisory = &self.advisories[entry.advisory];
                match hits.iter_mut().find(|h| h.advisory.id == advisory.id) {
                    Some(hit) => hit.fixed.extend(fixed),
                    None => hits.push(Hit { advisory, fixed }),
                }
            }
        }
        for hit in &mut hits {
            hit.fixed.sort();
            hit.fixed.dedup();
        }
        hits.sort_by(|a, b| a.advisory.id.cmp(&b.advisory.id));
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::advisory::{AffectedPackage, Range};
    use crate::model::catalog::{Ecosystem, Source};

    /// A record affecting `name` in `osv` by `ranges` and `versions`.
    fn advisory(osv: &str, name: &str, ranges: Vec<Range>, versions: &[&str]) -> Advisory {
        Advisory {
            id: "TEST-1".into(),
            modified: "2024-01-01T00:00:00Z".into(),
            published: None,
            withdrawn: None,
            aliases: vec!["CVE-2024-1".into()],
            summary: None,
            affected: vec![Affected {
                package: AffectedPackage {
                    ecosystem: osv.into(),
                    name: name.into(),
                    purl: None,
                },
                ranges,
                versions: versions.iter().map(|v| v.to_string()).collect(),
            }],
            severity: vec![],
            database_specific: None,
            imported: None,
        }
    }

    fn range(kind: RangeKind, events: &[(&str, &str)]) -> Range {
        let events = (events.iter())
            .map(|&(key, v)| match key {
                "introduced" => Event::Introduced(v.into()),
                "fixed" => Event::Fixed(v.into()),
                "last_affected" => Event::LastAffected(v.into()),
                _ => Event::Limit(v.into()),
            })
            .collect();
        Range { kind, events }
    }

    fn package(ecosystem: Ecosystem, name: &str, version: &str) -> Package {
        let purl = match ecosystem {
            Ecosystem::Deb => format!("pkg:deb/debian/{name}@{version}?distro=debian-12"),
            Ecosystem::Apk => format!("pkg:apk/alpine/{name}@{version}?distro=alpine-3.18.4"),
            _ => format!("pkg:{ecosystem}/{name}@{version}"),
        };
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            purl,
            source: None,
            license: None,
        }
    }

    /// Which of `versions` of `name` in `ecosystem` the record affects.
    fn affected<'a>(
        record: Advisory,
        ecosystem: Ecosystem,
        name: &str,
        versions: &[&'a str],
    ) -> Vec<&'a str> {
        let index = Index::new(vec![record]);
        (versions.iter().copied())
            .filter(|v| !index.affecting(&package(ecosystem, name, v)).is_empty())
            .collect()
    }

    #[test]
    fn every_event_boundary_in_each_ecosystem() {
        use RangeKind::{Ecosystem as Eco, Semver};
        /// OSV ecosystem, catalog ecosystem, range, versions, those affected.
        type Case<'a> = (&'a str, Ecosystem, Range, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                "PyPI",
                Ecosystem::Pypi,
                range(Eco, &[("introduced", "1.0"), ("fixed", "2.0")]),
                vec![
                    "0.9",
                    "1.0rc1",
                    "1.0",
                    "1.0.0",
                    "1.5",
                    "2.0rc1",
                    "2.0",
                    "2.0.post1",
                    "x",
                ],
                vec!["1.0", "1.0.0", "1.5", "2.0rc1"],
            ),
            (
                "PyPI",
                Ecosystem::Pypi,
                range(Eco, &[("introduced", "0"), ("last_affected", "1.4")]),
                vec!["0.1", "1.4", "1.4.0", "1.4.post1", "1.4.1"],
                vec!["0.1", "1.4", "1.4.0"],
            ),
            (
                "PyPI",
                Ecosystem::Pypi,
                range(Eco, &[("introduced", "0"), ("limit", "2.0")]),
                vec!["1.9", "2.0", "2.1"],
                vec!["1.9"],
            ),
            (
                "PyPI",
                Ecosystem::Pypi,
                range(Eco, &[("introduced", "1.0"), ("limit", "*")]),
                vec!["0.9", "1.0", "99"],
                vec!["1.0", "99"],
            ),
            (
                "npm",
                Ecosystem::Npm,
                range(Semver, &[("introduced", "0"), ("fixed", "4.17.21")]),
                vec![
                    "1.0.0",
                    "4.17.20",
                    "4.17.21-beta.1",
                    "4.17.21",
                    "5.0.0",
                    "4.17",
                ],
                vec!["1.0.0", "4.17.20", "4.17.21-beta.1"],
            ),
            (
                "npm",
                Ecosystem::Npm,
                range(Eco, &[("introduced", "2.0.0"), ("last_affected", "2.3.1")]),
                vec!["1.9.9", "2.0.0-rc.1", "2.0.0", "2.3.1", "2.3.2"],
                vec!["2.0.0", "2.3.1"],
            ),
            (
                "Maven",
                Ecosystem::Maven,
                range(Eco, &[("introduced", "2.0-beta9"), ("fixed", "2.15.0")]),
                vec![
                    "2.0-beta8",
                    "2.0-beta9",
                    "2.0",
                    "2.14.1",
                    "2.15.0-rc1",
                    "2.15.0",
                    "2.17.1",
                ],
                vec!["2.0-beta9", "2.0", "2.14.1", "2.15.0-rc1"],
            ),
            (
                "Debian:12",
                Ecosystem::Deb,
                range(Eco, &[("introduced", "0"), ("fixed", "3.0.11-1~deb12u2")]),
                vec![
                    "3.0.9-1",
                    "3.0.11-1~deb12u1",
                    "3.0.11-1~deb12u2",
                    "3.0.11-1",
                    "1:1.0",
                ],
                vec!["3.0.9-1", "3.0.11-1~deb12u1"],
            ),
            (
                "Debian",
                Ecosystem::Deb,
                range(Eco, &[("introduced", "1.0-1"), ("last_affected", "1.0-3")]),
                vec!["1.0-0", "1.0-1", "1.0-3", "1.0-3+b1"],
                vec!["1.0-1", "1.0-3"],
            ),
            (
                "Alpine:v3.18",
                Ecosystem::Apk,
                range(Eco, &[("introduced", "3.1.0-r0"), ("fixed", "3.1.4-r1")]),
                vec![
                    "3.0.9-r3",
                    "3.1.0_rc1-r0",
                    "3.1.0-r0",
                    "3.1.4-r0",
                    "3.1.4-r1",
                    "3.1.5-r0",
                ],
                vec!["3.1.0-r0", "3.1.4-r0"],
            ),
        ];
        for (osv, ecosystem, range, versions, expected) in cases {
            let record = advisory(osv, "pkg", vec![range], &[]);
            assert_eq!(
                affected(record, ecosystem, "pkg", &versions),
                expected,
                "{osv}"
            );
        }
    }

    #[test]
    fn ranges_are_evaluated_in_order_whatever_order_they_are_written_in() {
        let reintroduced = range(
            RangeKind::Ecosystem,
            &[
                ("fixed", "2.3"),
                ("introduced", "2.0"),
                ("fixed", "1.5"),
                ("introduced", "1.0"),
            ],
        );
        let record = advisory("PyPI", "pkg", vec![reintroduced], &[]);
        let versions = ["0.5", "1.0", "1.4", "1.5", "1.9", "2.0", "2.2", "2.3"];
        assert_eq!(
            affected(record.clone(), Ecosystem::Pypi, "pkg", &versions),
            ["1.0", "1.4", "2.0", "2.2"]
        );
        let index = Index::new(vec![record]);
        let hits = index.affecting(&package(Ecosystem::Pypi, "pkg", "2.1"));
        assert_eq!(hits[0].fixed, ["2.3"], "the fix of the range it is in");
    }

    #[test]
    fn listed_versions_git_ranges_names_releases_and_withdrawals() {
        let git = range(RangeKind::Git, &[("introduced", "abc"), ("fixed", "def")]);
        let listed = advisory("PyPI", "Flask_Cors", vec![git], &["1.0", "3.0.7"]);
        assert_eq!(
            affected(
                listed.clone(),
                Ecosystem::Pypi,
                "flask-cors",
                &["1.0.0", "2.0", "3.0.7", "3.0.8"]
            ),
            ["1.0.0", "3.0.7"],
            "PEP 503 names; listed versions compared in PEP 440's order; GIT ranges skipped"
        );
        let index = Index::new(vec![listed.clone()]);
        assert_eq!(
            index.affecting(&package(Ecosystem::Pypi, "flask-cors", "3.0.7"))[0].fixed,
            Vec::<String>::new(),
            "no fix known"
        );
        let mut withdrawn = listed;
        withdrawn.withdrawn = Some("2024-02-01T00:00:00Z".into());
        assert!(affected(withdrawn, Ecosystem::Pypi, "flask-cors", &["3.0.7"]).is_empty());
        // Debian's records of a release match only that release's packages.
        let bookworm = advisory(
            "Debian:11",
            "openssl",
            vec![range(RangeKind::Ecosystem, &[("introduced", "0")])],
            &[],
        );
        assert!(affected(bookworm, Ecosystem::Deb, "openssl", &["3.0.11-1"]).is_empty());
        // Nor does a Debian record match a Python package of the same name.
        let debian = advisory(
            "Debian",
            "six",
            vec![range(RangeKind::Ecosystem, &[("introduced", "0")])],
            &[],
        );
        assert!(affected(debian.clone(), Ecosystem::Pypi, "six", &["1.0"]).is_empty());
        assert_eq!(affected(debian, Ecosystem::Deb, "SIX", &["1.0"]), ["1.0"]);
    }

    #[test]
    fn ubuntu_and_rpm_distributions_match_by_their_release() {
        let with = |name: &str, version: &str, purl: &str, ecosystem| Package {
            purl: purl.into(),
            ..package(ecosystem, name, version)
        };
        let fixed = |osv: &str, name: &str, at: &str| {
            let events = [("introduced", "0"), ("fixed", at)];
            Index::new(vec![advisory(
                osv,
                name,
                vec![range(RangeKind::Ecosystem, &events)],
                &[],
            )])
        };
        // Ubuntu's `:LTS` releases are looked up by the release os-release names.
        let jammy = fixed("Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.15");
        let on = |release: &str, version: &str| {
            let purl = format!("pkg:deb/ubuntu/openssl@{version}?distro=ubuntu-{release}");
            with("openssl", version, &purl, Ecosystem::Deb)
        };
        assert_eq!(jammy.affecting(&on("22.04", "3.0.2-0ubuntu1.14")).len(), 1);
        assert!(
            jammy
                .affecting(&on("22.04", "3.0.2-0ubuntu1.15"))
                .is_empty()
        );
        assert!(
            jammy
                .affecting(&on("24.04", "3.0.2-0ubuntu1.14"))
                .is_empty()
        );
        // rpm's order, epochs included; a major release names all its minor ones.
        let alma = fixed("AlmaLinux:9", "openssl-libs", "1:3.0.7-27.el9");
        let rpm = |version: &str, distro: &str| {
            let purl = format!("pkg:rpm/almalinux/openssl-libs@{version}?distro={distro}");
            with("openssl-libs", version, &purl, Ecosystem::Rpm)
        };
        assert_eq!(
            alma.affecting(&rpm("1:3.0.7-25.el9", "almalinux-9.4"))
                .len(),
            1
        );
        assert!(
            alma.affecting(&rpm("1:3.0.7-27.el9", "almalinux-9.4"))
                .is_empty()
        );
        assert!(
            alma.affecting(&rpm("2:1.0-1.el9", "almalinux-9.4"))
                .is_empty()
        );
        assert!(
            alma.affecting(&rpm("1:3.0.7-25.el8", "almalinux-8.9"))
                .is_empty()
        );
    }

    /// `package` built from the source `name`, of its own `version` where given.
    fn built_from(mut package: Package, name: &str, version: Option<&str>) -> Package {
        package.source = Some(Source {
            name: name.into(),
            version: version.map(str::to_string),
        });
        package
    }

    #[test]
    fn distribution_packages_are_matched_by_their_source() {
        let openssl = |osv: &str| {
            let fixed = range(
                RangeKind::Ecosystem,
                &[("introduced", "0"), ("fixed", "3.0.11-1~deb12u2")],
            );
            advisory(osv, "openssl", vec![fixed], &[])
        };
        let index = Index::new(vec![openssl("Debian:12")]);
        let libssl = package(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u1");
        assert!(index.affecting(&libssl).is_empty(), "no source recorded");
        let hits = index.affecting(&built_from(libssl, "openssl", None));
        assert_eq!(hits[0].fixed, ["3.0.11-1~deb12u2"], "libssl3 is openssl's");
        let patched = package(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2");
        assert!(
            index
                .affecting(&built_from(patched, "openssl", None))
                .is_empty()
        );
        // A record naming the binary does not match it: Debian's name sources.
        let binary = Index::new(vec![advisory(
            "Debian:12",
            "libssl3",
            vec![range(RangeKind::Ecosystem, &[("introduced", "0")])],
            &[],
        )]);
        let libssl = package(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u1");
        assert!(
            binary
                .affecting(&built_from(libssl, "openssl", None))
                .is_empty()
        );

        // A binNMU (`+b1`) is matched by its source's version: the last affected one, and the
        // one listed, which the binary's own version is after and is not.
        let last = range(
            RangeKind::Ecosystem,
            &[("introduced", "0"), ("last_affected", "2.36-9")],
        );
        for record in [
            advisory("Debian", "glibc", vec![last], &[]),
            advisory("Debian", "glibc", vec![], &["2.36-9"]),
        ] {
            let index = Index::new(vec![record]);
            let libc = package(Ecosystem::Deb, "libc6", "2.36-9+b1");
            assert!(
                index
                    .affecting(&built_from(libc.clone(), "glibc", None))
                    .is_empty()
            );
            let hits = index.affecting(&built_from(libc, "glibc", Some("2.36-9")));
            assert_eq!(hits.len(), 1);
        }

        // Alpine's records name the origin.
        let alpine = Index::new(vec![advisory(
            "Alpine:v3.18",
            "openssl",
            vec![range(
                RangeKind::Ecosystem,
                &[("introduced", "0"), ("fixed", "3.1.4-r1")],
            )],
            &[],
        )]);
        let libcrypto = package(Ecosystem::Apk, "libcrypto3", "3.1.4-r0");
        assert_eq!(
            alpine.affecting(&built_from(libcrypto, "openssl", None))[0].fixed,
            ["3.1.4-r1"]
        );
        // Other ecosystems' packages are themselves, whatever source they record.
        let pypi = Index::new(vec![advisory(
            "PyPI",
            "other",
            vec![range(RangeKind::Ecosystem, &[("introduced", "0")])],
            &[],
        )]);
        let six = package(Ecosystem::Pypi, "six", "1.0");
        assert!(pypi.affecting(&built_from(six, "other", None)).is_empty());
    }
}
