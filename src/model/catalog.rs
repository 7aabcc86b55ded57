//! The catalog: the software an image really contains, as read from its files after a pull or
//! a build. Plain data; reading it is [`crate::catalog`], keeping it is the state backend's.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a package comes from, by the tool that installed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Debian packages (dpkg).
    Deb,
    /// Alpine packages (apk).
    Apk,
    /// rpm packages (Photon OS, Fedora, RHEL and UBI, Amazon Linux, SUSE).
    Rpm,
    /// Python distributions (pip).
    Pypi,
    /// npm packages.
    Npm,
    /// Maven artifacts.
    Maven,
    /// PowerShell modules (the PowerShell Gallery, a NuGet feed).
    Powershell,
}

impl Ecosystem {
    /// Whether its packages are the operating system's (a distribution's package manager
    /// installed them): what other software links against.
    pub fn is_system(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }

    pub const ALL: [Ecosystem; 7] = [
        Ecosystem::Deb,
        Ecosystem::Apk,
        Ecosystem::Rpm,
        Ecosystem::Pypi,
        Ecosystem::Npm,
        Ecosystem::Maven,
        Ecosystem::Powershell,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Maven => "maven",
            Ecosystem::Powershell => "powershell",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Ecosystem {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ecosystem::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Ecosystem::ALL.iter().map(|e| e.as_str()).collect();
                format!(
                    "unknown ecosystem {s:?}: expected one of {}",
                    all.join(", ")
                )
            })
    }
}

/// Whether a package was in the base image or added by the image's own layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Base,
    Image,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Base => "base",
            Origin::Image => "image",
        })
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// As the ecosystem names it; a Maven artifact as `group:artifact`.
    pub name: String,
    pub version: String,
    /// The package URL (purl), the identifier SBOM tools and vulnerability databases share.
    pub purl: String,
    /// The source package it was built from, where its records say (rpm's `SOURCERPM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Its license as its records state it (rpm's `LICENSE`: SPDX or the distribution's own
    /// words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

impl Package {
    /// A package whose purl is the plain `pkg:ECOSYSTEM/NAME@VERSION`: for tests and
    /// benchmarks, which make packages without reading images.
    pub fn plain(ecosystem: Ecosystem, name: &str, version: &str) -> Self {
        Package {
            ecosystem,
            name: name.into(),
            version: version.into(),
            purl: format!("pkg:{ecosystem}/{name}@{version}"),
            source: None,
            license: None,
        }
    }
}

/// What one image contains, as recorded: an image's own layers' packages, over its base's
/// catalog (referenced by image id, stored once for every image built on it). A base image's
/// catalog has no base and holds everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The engine id of the base image whose catalog this one extends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The packages the image adds or changes, sorted.
    pub packages: Vec<Package>,
    /// The base's packages the image no longer holds (removed, or replaced by a new version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Package>,
}

/// A package of an image, with where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Entry {
    #[serde(flatten)]
    pub package: Package,
    pub origin: Origin,
}

impl Catalog {
    /// The catalog of an image holding `packages`, recorded over `base` (its id and catalog)
    /// as only what differs from it.
    pub fn layered(packages: Vec<Package>, base: Option<(&str, &Catalog)>) -> Self {
        let all = sorted(packages);
        let Some((id, base)) = base else {
            return Catalog {
                base: None,
                packages: all,
                removed: Vec::new(),
            };
        };
        let inherited = &base.packages;
        Catalog {
            base: Some(id.to_string()),
            packages: all
                .iter()
                .filter(|p| inherited.binary_search(p).is_err())
                .cloned()
                .collect(),
            removed: inherited
                .iter()
                .filter(|p| all.binary_search(p).is_err())
                .cloned()
                .collect(),
        }
    }

    /// The catalog of this image rebased onto the base `id` holding `base`: its own layers'
    /// packages over the new base's. What it removed of the old base stays removed only where
    /// the new base has the same package: its layers hide the old files, not the new ones.
    pub fn rebased(&self, id: &str, base: &Catalog) -> Catalog {
        Catalog {
            base: Some(id.to_string()),
            packages: self.packages.clone(),
            removed: (self.removed.iter())
                .filter(|p| base.packages.binary_search(p).is_ok())
                .cloned()
                .collect(),
        }
    }

    /// Every package of the image, sorted, with where it comes from: `base` is the catalog
    /// [`Catalog::base`] names. A catalog without a base is a base image's: all from the base.
    pub fn entries(&self, base: Option<&Catalog>) -> Vec<Entry> {
        let own = match self.base {
            Some(_) => Origin::Image,
            None => Origin::Base,
        };
        let mut entries: Vec<Entry> = self
            .packages
            .iter()
            .map(|p| Entry {
                package: p.clone(),
                origin: own,
            })
            .collect();
        if let (Some(_), Some(base)) = (&self.base, base) {
            entries.extend(
                base.packages
                    .iter()
                    .filter(|p| self.removed.binary_search(p).is_err())
                    .map(|p| Entry {
                        package: p.clone(),
                        origin: Origin::Base,
                    }),
            );
        }
        entries.sort();
        entries
    }
}

fn sorted(mut packages: Vec<Package>) -> Vec<Package> {
    packages.sort();
    packages.dedup();
    packages
}

/// How many packages of each ecosystem `entries` hold.
pub fn counts(entries: &[Entry]) -> BTreeMap<Ecosystem, usize> {
    let mut counts = BTreeMap::new();
    for entry in entries {
        *counts.entry(entry.package.ecosystem).or_default() += 1;
    }
    counts
}

/// What filling in the missing catalogs of recorded images did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filled {
    /// Images whose catalog was missing and has been read.
    pub read: usize,
    /// Images without a catalog that the engine no longer holds.
    pub absent: usize,
    /// What could not be read, each naming its resource.
    pub failed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_records_only_what_it_changes_over_its_base() {
        let base = Catalog::layered(
            vec![
                Package::plain(Ecosystem::Deb, "libc6", "2.36"),
                Package::plain(Ecosystem::Pypi, "pip", "23.0"),
                Package::plain(Ecosystem::Deb, "tzdata", "2024a"),
            ],
            None,
        );
        let image = Catalog::layered(
            vec![
                Package::plain(Ecosystem::Pypi, "requests", "2.31.0"),
                Package::plain(Ecosystem::Deb, "libc6", "2.36"),
                Package::plain(Ecosystem::Deb, "libc6", "2.36"),
                Package::plain(Ecosystem::Pypi, "pip", "24.0"),
            ],
            Some(("sha256:base", &base)),
        );
        let names = |c: &[Package]| {
            c.iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .collect::<Vec<_>>()
        };
        assert_eq!(image.base.as_deref(), Some("sha256:base"));
        assert_eq!(names(&image.packages), ["pip 24.0", "requests 2.31.0"]);
        assert_eq!(names(&image.removed), ["tzdata 2024a", "pip 23.0"]);
        let entries: Vec<String> = image
            .entries(Some(&base))
            .iter()
            .map(|e| format!("{} {} {}", e.package.name, e.package.version, e.origin))
            .collect();
        assert_eq!(
            entries,
            ["libc6 2.36 base", "pip 24.0 image", "requests 2.31.0 image"]
        );
        let all_base: Vec<Origin> = base.entries(None).iter().map(|e| e.origin).collect();
        assert_eq!(all_base, [Origin::Base; 3]);
        assert_eq!(counts(&image.entries(Some(&base)))[&Ecosystem::Pypi], 2);
        // Rebased onto a base that patched libc6 and still has tzdata: the image's own
        // packages over the new base's; pip 23.0, which it replaced, is gone from the new base.
        let patched = Catalog::layered(
            vec![
                Package::plain(Ecosystem::Deb, "libc6", "2.36-1"),
                Package::plain(Ecosystem::Pypi, "pip", "23.0.1"),
                Package::plain(Ecosystem::Deb, "tzdata", "2024a"),
            ],
            None,
        );
        let rebased = image.rebased("sha256:new", &patched);
        assert_eq!(rebased.base.as_deref(), Some("sha256:new"));
        assert_eq!(names(&rebased.removed), ["tzdata 2024a"]);
        let entries: Vec<String> = rebased
            .entries(Some(&patched))
            .iter()
            .map(|e| format!("{} {} {}", e.package.name, e.package.version, e.origin))
            .collect();
        assert_eq!(
            entries,
            [
                "libc6 2.36-1 base",
                "pip 23.0.1 base",
                "pip 24.0 image",
                "requests 2.31.0 image"
            ]
        );
        assert_eq!("npm".parse::<Ecosystem>(), Ok(Ecosystem::Npm));
        assert!(
            "cargo"
                .parse::<Ecosystem>()
                .unwrap_err()
                .contains("deb, apk, rpm")
        );
    }

    #[test]
    fn a_catalog_recorded_before_sources_and_licenses_reads_and_writes_as_it_was() {
        let old = r#"{"packages":[{"ecosystem":"deb","name":"libc6","version":"2.36","purl":"pkg:deb/debian/libc6@2.36"}]}"#;
        let catalog: Catalog = serde_json::from_str(old).unwrap();
        assert_eq!(catalog.packages[0].license, None);
        assert_eq!(serde_json::to_string(&catalog).unwrap(), old);
        let mut rpm = Package::plain(Ecosystem::Rpm, "bash", "5.2.15-2.ph5");
        rpm.source = Some("bash-5.2.15-2.ph5.src.rpm".into());
        rpm.license = Some("GPLv3+".into());
        let text = serde_json::to_string(&rpm).unwrap();
        assert!(
            text.ends_with(r#""source":"bash-5.2.15-2.ph5.src.rpm","license":"GPLv3+"}"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Package>(&text).unwrap(), rpm);
    }
}
