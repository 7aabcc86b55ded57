//! Rebase or rebuild: when a base image is patched in place (its tag moves to a new digest),
//! whether an image built on it can have its base layers swapped for the new ones instead of
//! being built again. [`decide`] is pure: what the registries and catalogs say of both bases
//! and of the image comes in, refresh having asked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Language;
use super::catalog::{Catalog, Ecosystem, Package};
use super::language::upstream;

/// A base image's `rebase` field: what may happen to the images on it when it is patched in
/// place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RebasePolicy {
    /// Rebase when the layers and catalogs say it is safe, else rebuild.
    #[default]
    Auto,
    /// Always rebuild.
    Never,
    /// Rebase whatever the catalogs say, as long as the layers allow it.
    Always,
}

impl RebasePolicy {
    pub const ALL: [RebasePolicy; 3] = [
        RebasePolicy::Auto,
        RebasePolicy::Never,
        RebasePolicy::Always,
    ];

    /// The default: left out of a resource's JSON, so that its digest is the one it had
    /// before the field existed.
    pub fn is_auto(&self) -> bool {
        *self == RebasePolicy::Auto
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RebasePolicy::Auto => "auto",
            RebasePolicy::Never => "never",
            RebasePolicy::Always => "always",
        }
    }
}

impl fmt::Display for RebasePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a base image is, as its registry says: its config's platform and layers, and what it
/// holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaseFacts {
    pub os: String,
    pub architecture: String,
    /// Its config's `rootfs.diff_ids`: the digests of its layers, uncompressed.
    pub diff_ids: Vec<String>,
    /// Its catalog's packages; `None` when not read (`rebase: always` needs none).
    pub packages: Option<Vec<Package>>,
}

/// What a built image is, as its registry and recorded catalog say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// Its config's `rootfs.diff_ids`.
    pub diff_ids: Vec<String>,
    /// The system packages (deb, apk) its own layers installed, as `name version`.
    pub system_packages: Vec<String>,
}

impl ImageFacts {
    /// The system packages an image's own layers installed, from its recorded catalog (whose
    /// packages are those its layers add over its base's).
    pub fn own_system_packages(catalog: &Catalog) -> Vec<String> {
        (catalog.packages.iter())
            .filter(|p| catalog.base.is_some() && p.ecosystem.is_system())
            .map(named)
            .collect()
    }
}

/// Where an image moves when its base is to be at `now`: from the digest it was built on
/// (`built_on`; the base's `recorded` one in a state that did not say), onto `now`. `None`
/// when it stays where it is.
pub fn moving(built_on: Option<&str>, recorded: &str, now: &str) -> Option<(String, String)> {
    let from = built_on.unwrap_or(recorded);
    (from != now).then(|| (from.to_string(), now.to_string()))
}

/// What refresh could not find out, and why: the image is rebuilt, saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown(pub String);

/// Facts, or why they are not known.
pub type Known<T> = Result<T, Unknown>;

/// A package whose version differs between the old base and the new.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageChange {
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The old base's version(s); `None` for a package the new base adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The new base's version(s); `None` for a package it removes (`rebase: always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl fmt::Display for PackageChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.from, &self.to) {
            (Some(from), Some(to)) => write!(f, "{} {from} -> {to}", self.name),
            (None, Some(to)) => write!(f, "{} {to} added", self.name),
            (Some(from), None) => write!(f, "{} {from} removed", self.name),
            (None, None) => f.write_str(&self.name),
        }
    }
}

/// Why an image whose base moved is built again rather than rebased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebuild {
    /// Its base says `rebase: never`.
    Never,
    /// The command said `--rebuild`.
    Forced,
    /// It is kept in the engine only: there is no registry to rebase it in.
    NotPushed,
    /// What the bases or the image are could not be found out.
    Unknown(String),
    /// Its first layers are not the old base's.
    Layers,
    /// The new base is for another platform.
    Platform { old: String, new: String },
    /// It installed system packages of its own, built against the old base's libraries.
    OwnPackages(Vec<String>),
    /// The language runtime's line changed, or it is gone: `python3.11 3.11.2`.
    Runtime { old: String, new: Option<String> },
    /// The new base lacks packages the old one had.
    Removed(Vec<String>),
}

impl fmt::Display for Rebuild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rebuild::Never => f.write_str("its base image says `rebase: never`"),
            Rebuild::Forced => f.write_str("--rebuild"),
            Rebuild::NotPushed => f.write_str(
                "it is kept in the engine only, and a rebase is made in the destination registry",
            ),
            Rebuild::Unknown(why) => f.write_str(why),
            Rebuild::Layers => {
                f.write_str("its first layers are not the layers of the base it was built on")
            }
            Rebuild::Platform { old, new } => {
                write!(f, "the new base is for {new}, the old one for {old}")
            }
            Rebuild::OwnPackages(packages) => write!(
                f,
                "it installs system packages of its own ({}), built against the old base's \
                 libraries",
                some(packages)
            ),
            Rebuild::Runtime {
                old,
                new: Some(new),
            } => {
                write!(f, "the runtime changed, {old} -> {new}")
            }
            Rebuild::Runtime { old, new: None } => {
                write!(f, "the new base has no runtime, the old one had {old}")
            }
            Rebuild::Removed(packages) => {
                write!(f, "the new base removes {}", some(packages))
            }
        }
    }
}

/// The first two of `items`, and how many more.
fn some(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        [a, b] => format!("{a}, {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
        [] => String::new(),
    }
}

/// What to do with an image whose base moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Swap its base layers for the new base's: `changed` is what the base changed.
    Rebase {
        changed: Vec<PackageChange>,
    },
    Rebuild(Rebuild),
}

/// What [`decide`] weighs for one image.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a> {
    /// The base's `rebase` field.
    pub policy: RebasePolicy,
    /// The base's language, whose runtime must keep its line.
    pub language: Language,
    /// Whether the image was pushed to a destination registry, where a rebase is made.
    pub pushed: bool,
    /// The base it was built on, the base it moves to, and the image itself.
    pub old: &'a Known<BaseFacts>,
    pub new: &'a Known<BaseFacts>,
    pub image: &'a Known<ImageFacts>,
}

/// Rebase or rebuild, by these rules in turn: a base with `rebase: never` rebuilds, as does an
/// image with no registry to rebase it in; the image's first layers must be exactly the old
/// base's, and the new base of the same platform; then, unless the base says `rebase:
/// always`, the image may have installed no system packages of its own, the runtime must
/// keep its line (python3.11 stays 3.11) and the new base remove no package.
pub fn decide(case: Case<'_>) -> Decision {
    match rebuild(case) {
        Some(why) => Decision::Rebuild(why),
        None => Decision::Rebase {
            changed: match (case.old, case.new) {
                (Ok(old), Ok(new)) => changes(old.packages.as_deref(), new.packages.as_deref()),
                _ => Vec::new(),
            },
        },
    }
}

fn rebuild(case: Case<'_>) -> Option<Rebuild> {
    if case.policy == RebasePolicy::Never {
        return Some(Rebuild::Never);
    }
    if !case.pushed {
        return Some(Rebuild::NotPushed);
    }
    let unknown = |why: &Unknown| Rebuild::Unknown(why.0.clone());
    let old = case.old.as_ref().map_err(unknown).err();
    let new = case.new.as_ref().map_err(unknown).err();
    let image = case.image.as_ref().map_err(unknown).err();
    if let Some(why) = old.or(new).or(image) {
        return Some(why);
    }
    let (Ok(old), Ok(new), Ok(image)) = (case.old, case.new, case.image) else {
        return None;
    };
    if !image.diff_ids.starts_with(&old.diff_ids) || old.diff_ids.is_empty() {
        return Some(Rebuild::Layers);
    }
    let platform = |b: &BaseFacts| format!("{}/{}", b.os, b.architecture);
    if platform(old) != platform(new) {
        return Some(Rebuild::Platform {
            old: platform(old),
            new: platform(new),
        });
    }
    if case.policy == RebasePolicy::Always {
        return None;
    }
    if !image.system_packages.is_empty() {
        return Some(Rebuild::OwnPackages(image.system_packages.clone()));
    }
    let (Some(before), Some(after)) = (&old.packages, &new.packages) else {
        return Some(Rebuild::Unknown(
            "what the bases hold is not known".to_string(),
        ));
    };
    let before = by_name(before);
    let after = by_name(after);
    if let Some(why) = runtime(case.language, &before, &after) {
        return Some(why);
    }
    let removed: Vec<String> = (before.iter())
        .filter(|(key, _)| !after.contains_key(*key))
        .map(|((_, name), versions)| format!("{name} {}", versions_text(versions)))
        .collect();
    (!removed.is_empty()).then_some(Rebuild::Removed(removed))
}

/// `name version`, the version without its epoch and revision.
fn named(package: &Package) -> String {
    format!("{} {}", package.name, upstream(&package.version))
}

type ByName<'a> = BTreeMap<(Ecosystem, &'a str), BTreeSet<&'a str>>;

/// The versions of each package, by ecosystem and name (a name may be installed at two).
fn by_name(packages: &[Package]) -> ByName<'_> {
    let mut map: ByName<'_> = BTreeMap::new();
    for p in packages {
        map.entry((p.ecosystem, p.name.as_str()))
            .or_default()
            .insert(p.version.as_str());
    }
    map
}

fn versions_text(versions: &BTreeSet<&str>) -> String {
    versions.iter().copied().collect::<Vec<_>>().join(", ")
}

/// Why the runtime breaks a rebase: a runtime package of the old base that the new one lacks,
/// or has on another line.
fn runtime(language: Language, before: &ByName<'_>, after: &ByName<'_>) -> Option<Rebuild> {
    let runtime = &language.facts().runtime;
    // Each runtime package, at its newest version.
    let packages = |map: &ByName<'_>| -> BTreeMap<(Ecosystem, String), String> {
        (map.iter())
            .filter(|((ecosystem, name), _)| ecosystem.is_system() && (runtime.is)(name))
            .filter_map(|((ecosystem, name), versions)| {
                let newest = versions.iter().next_back()?;
                Some(((*ecosystem, name.to_string()), newest.to_string()))
            })
            .collect()
    };
    let (old, new) = (packages(before), packages(after));
    let shown = |((_, name), version): (&(Ecosystem, String), &String)| {
        format!("{name} {}", upstream(version))
    };
    // A runtime package gone first: its successor (python3.12 for python3.11) says most.
    if let Some(gone) = old.iter().find(|(key, _)| !new.contains_key(*key)) {
        let successor = new.iter().find(|(key, _)| !old.contains_key(*key));
        return Some(Rebuild::Runtime {
            old: shown(gone),
            new: successor.or(new.iter().next()).map(shown),
        });
    }
    old.iter().find_map(|(key, version)| {
        let now = new.get_key_value(key)?;
        (runtime.line_of(version) != runtime.line_of(now.1)).then(|| Rebuild::Runtime {
            old: shown((key, version)),
            new: Some(shown(now)),
        })
    })
}

/// What the base changed, package by package: versions changed, packages added, packages
/// removed (for `rebase: always`, which rebases anyway), sorted by ecosystem and name.
pub fn changes(before: Option<&[Package]>, after: Option<&[Package]>) -> Vec<PackageChange> {
    let (Some(before), Some(after)) = (before, after) else {
        return Vec::new();
    };
    let (before, after) = (by_name(before), by_name(after));
    let keys: BTreeSet<&(Ecosystem, &str)> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (from, to) = (before.get(key), after.get(key));
            (from != to).then(|| PackageChange {
                ecosystem: key.0,
                name: key.1.to_string(),
                from: from.map(versions_text),
                to: to.map(versions_text),
            })
        })
        .collect()
}

/// `openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2, libc6 2.36-9 -> 2.36-9+deb12u4; 3 more`:
/// the first two changes, and how many others (the JSON plan lists them all).
pub fn summary(changed: &[PackageChange]) -> String {
    if changed.is_empty() {
        return "no package changed".to_string();
    }
    let shown: Vec<String> = changed.iter().take(2).map(|c| c.to_string()).collect();
    match changed.len() {
        0..=2 => shown.join(", "),
        n => format!("{}; {} more", shown.join(", "), n - 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deb(name: &str, version: &str) -> Package {
        Package::plain(Ecosystem::Deb, name, version)
    }

    fn base(packages: &[Package]) -> Known<BaseFacts> {
        Ok(BaseFacts {
            os: "linux".into(),
            architecture: "amd64".into(),
            diff_ids: vec!["sha256:b1".into(), "sha256:b2".into()],
            packages: Some(packages.to_vec()),
        })
    }

    fn patched(packages: &[Package]) -> Known<BaseFacts> {
        let mut facts = base(packages).unwrap();
        facts.diff_ids = vec!["sha256:n1".into(), "sha256:n2".into()];
        Ok(facts)
    }

    fn image(own: &[Package]) -> Known<ImageFacts> {
        Ok(ImageFacts {
            diff_ids: vec!["sha256:b1".into(), "sha256:b2".into(), "sha256:own".into()],
            system_packages: own.iter().map(named).collect(),
        })
    }

    const PYTHON: [(&str, &str); 3] = [
        ("python3", "3.11.2-1+b1"),
        ("python3.11", "3.11.2-6"),
        ("openssl", "3.0.11-1~deb12u1"),
    ];

    fn packages(list: &[(&str, &str)]) -> Vec<Package> {
        list.iter().map(|(n, v)| deb(n, v)).collect()
    }

    fn decided(
        policy: RebasePolicy,
        old: &Known<BaseFacts>,
        new: &Known<BaseFacts>,
        image: &Known<ImageFacts>,
    ) -> Decision {
        decide(Case {
            policy,
            language: Language::Python3,
            pushed: true,
            old,
            new,
            image,
        })
    }

    fn why(decision: Decision) -> String {
        match decision {
            Decision::Rebuild(why) => why.to_string(),
            Decision::Rebase { changed } => panic!("rebased: {changed:?}"),
        }
    }

    #[test]
    fn a_patched_base_under_an_image_of_its_own_layers_rebases() {
        let old = base(&packages(&PYTHON));
        let mut fixed = PYTHON;
        fixed[2].1 = "3.0.11-1~deb12u2";
        fixed[0].1 = "3.11.2-1+b2";
        let mut new_packages = packages(&fixed);
        new_packages.push(deb("tzdata", "2024a-0+deb12u1"));
        let new = patched(&new_packages);
        let decision = decided(RebasePolicy::Auto, &old, &new, &image(&[]));
        let Decision::Rebase { changed } = decision else {
            panic!("{decision:?}");
        };
        let shown: Vec<String> = changed.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            shown,
            [
                "openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2",
                "python3 3.11.2-1+b1 -> 3.11.2-1+b2",
                "tzdata 2024a-0+deb12u1 added",
            ]
        );
        assert_eq!(
            summary(&changed),
            "openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2, python3 3.11.2-1+b1 -> 3.11.2-1+b2; 1 more"
        );
        assert_eq!(
            summary(&changed[..1]),
            "openssl 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2"
        );
        assert_eq!(summary(&[]), "no package changed");
        // An image with no layers of its own (labels only) rebases too.
        let bare = Ok(ImageFacts {
            diff_ids: vec!["sha256:b1".into(), "sha256:b2".into()],
            system_packages: vec![],
        });
        assert!(matches!(
            decided(RebasePolicy::Auto, &old, &new, &bare),
            Decision::Rebase { .. }
        ));
    }

    #[test]
    fn never_and_images_kept_in_the_engine_rebuild() {
        let old = base(&packages(&PYTHON));
        let new = patched(&packages(&PYTHON));
        assert_eq!(
            why(decided(RebasePolicy::Never, &old, &new, &image(&[]))),
            "its base image says `rebase: never`"
        );
        let unpushed = decide(Case {
            policy: RebasePolicy::Always,
            language: Language::Python3,
            pushed: false,
            old: &old,
            new: &new,
            image: &image(&[]),
        });
        assert_eq!(unpushed, Decision::Rebuild(Rebuild::NotPushed));
        let unknown = Err(Unknown(
            "the old base sha256:aa is no longer in its registry".into(),
        ));
        assert_eq!(
            why(decided(RebasePolicy::Auto, &unknown, &new, &image(&[]))),
            "the old base sha256:aa is no longer in its registry"
        );
    }

    #[test]
    fn the_layers_must_start_with_the_old_base_and_the_platform_stay() {
        let old = base(&packages(&PYTHON));
        let new = patched(&packages(&PYTHON));
        for diff_ids in [
            vec!["sha256:b1", "sha256:own"],
            vec!["sha256:b2", "sha256:b1", "sha256:own"],
            vec!["sha256:b1"],
            vec![],
        ] {
            let other = Ok(ImageFacts {
                diff_ids: diff_ids.iter().map(|d| d.to_string()).collect(),
                system_packages: vec![],
            });
            // Whatever the policy: a rebase must know where the base's layers end.
            for policy in [RebasePolicy::Auto, RebasePolicy::Always] {
                assert_eq!(
                    decided(policy, &old, &new, &other),
                    Decision::Rebuild(Rebuild::Layers),
                    "{diff_ids:?}"
                );
            }
        }
        let mut arm = patched(&packages(&PYTHON)).unwrap();
        arm.architecture = "arm64".into();
        assert_eq!(
            why(decided(RebasePolicy::Always, &old, &Ok(arm), &image(&[]))),
            "the new base is for linux/arm64, the old one for linux/amd64"
        );
    }

    #[test]
    fn own_system_packages_rebuild_unless_always() {
        let old = base(&packages(&PYTHON));
        let new = patched(&packages(&PYTHON));
        let own = image(&[deb("curl", "7.88.1-10+deb12u5"), deb("jq", "1.6-2.1")]);
        assert_eq!(
            why(decided(RebasePolicy::Auto, &old, &new, &own)),
            "it installs system packages of its own (curl 7.88.1, jq 1.6), built against the old base's libraries"
        );
        assert!(matches!(
            decided(RebasePolicy::Always, &old, &new, &own),
            Decision::Rebase { .. }
        ));
        // What a recorded catalog says the image's own layers installed.
        let catalog = Catalog {
            base: Some("sha256:base".into()),
            packages: vec![
                deb("curl", "7.88.1"),
                Package::plain(Ecosystem::Pypi, "requests", "2.31.0"),
                Package::plain(Ecosystem::Apk, "jq", "1.7"),
            ],
            removed: vec![],
            ..Default::default()
        };
        let own = ImageFacts::own_system_packages(&catalog);
        assert_eq!(own, ["curl 7.88.1", "jq 1.7"]);
        assert_eq!(
            moving(Some("sha256:a"), "sha256:b", "sha256:c").unwrap().0,
            "sha256:a"
        );
        assert_eq!(moving(None, "sha256:b", "sha256:c").unwrap().0, "sha256:b");
        assert_eq!(moving(None, "sha256:b", "sha256:b"), None);
        // A base's catalog (no base of its own) is no image's own packages.
        let base_catalog = Catalog {
            base: None,
            ..catalog
        };
        assert!(ImageFacts::own_system_packages(&base_catalog).is_empty());
    }

    #[test]
    fn the_runtime_keeps_its_line_and_no_package_goes() {
        let old = base(&packages(&PYTHON));
        // python3.11 replaced by python3.12.
        let bumped = patched(&packages(&[
            ("python3", "3.12.1-1"),
            ("python3.12", "3.12.1-2"),
            ("openssl", "3.0.11-1~deb12u1"),
        ]));
        assert_eq!(
            why(decided(RebasePolicy::Auto, &old, &bumped, &image(&[]))),
            "the runtime changed, python3.11 3.11.2 -> python3.12 3.12.1"
        );
        // The same package on another line.
        let same_name = patched(&packages(&[
            ("python3", "3.12.1-1"),
            ("python3.11", "3.11.2-6"),
            ("openssl", "3.0.11-1~deb12u1"),
        ]));
        assert_eq!(
            why(decided(RebasePolicy::Auto, &old, &same_name, &image(&[]))),
            "the runtime changed, python3 3.11.2 -> python3 3.12.1"
        );
        let dropped = patched(&packages(&[("openssl", "3.0.11-1~deb12u1")]));
        assert_eq!(
            why(decided(RebasePolicy::Auto, &old, &dropped, &image(&[]))),
            "the new base has no runtime, the old one had python3 3.11.2"
        );
        let removed = patched(&packages(&PYTHON[..2]));
        assert_eq!(
            why(decided(RebasePolicy::Auto, &old, &removed, &image(&[]))),
            "the new base removes openssl 3.0.11-1~deb12u1"
        );
        // `always` skips the catalogs, and lists what changed.
        let Decision::Rebase { changed } =
            decided(RebasePolicy::Always, &old, &bumped, &image(&[]))
        else {
            panic!("always rebases");
        };
        assert_eq!(changed.len(), 3);
        // A node base keeps 20 through its minor releases.
        let node = |version: &str| patched(&[deb("nodejs", version)]);
        let on = |old: &Known<BaseFacts>, new: &Known<BaseFacts>| {
            decide(Case {
                policy: RebasePolicy::Auto,
                language: Language::Nodejs,
                pushed: true,
                old,
                new,
                image: &image(&[]),
            })
        };
        let old_node = node("20.10.0+dfsg-1");
        let mut old_node = old_node.unwrap();
        old_node.diff_ids = vec!["sha256:b1".into(), "sha256:b2".into()];
        let old_node = Ok(old_node);
        assert!(matches!(
            on(&old_node, &node("20.11.1+dfsg-1")),
            Decision::Rebase { .. }
        ));
        assert!(matches!(
            on(&old_node, &node("22.1.0-1")),
            Decision::Rebuild(Rebuild::Runtime { .. })
        ));
        // Catalogs not read: no rebase on a guess.
        let unread = Ok(BaseFacts {
            packages: None,
            ..patched(&[]).unwrap()
        });
        assert_eq!(
            why(decided(RebasePolicy::Auto, &old, &unread, &image(&[]))),
            "what the bases hold is not known"
        );
    }

    #[test]
    fn the_policy_reads_and_writes_as_declared() {
        for policy in RebasePolicy::ALL {
            let json = serde_json::to_string(&policy).unwrap();
            assert_eq!(json, format!("\"{policy}\""));
        }
        assert!(RebasePolicy::default().is_auto());
    }
}
