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
    /// The source package it was built from, where its records name one that is not the
    /// package itself: Debian's `Source:`, apk's origin, rpm's source rpm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
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

/// The source package a distribution's package was built from: one source (Debian's
/// `openssl`) builds several packages (`libssl3`, `openssl`), and distributions' advisories
/// name the source. Kept as `{"name", "version"}`; a catalog recorded before sources were kept
/// has rpm's source rpm as a string (`openssl-3.0.8-1.ph5.src.rpm`), read as its name and
/// version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Source {
    pub name: String,
    /// Its version, where the records give one (a Debian binNMU's `Source: glibc (2.36-9)`
    /// under `Version: 2.36-9+b1`; the source rpm's `VERSION-RELEASE`); `None`: the package's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Source {
    /// rpm's `SOURCERPM`, `NAME-VERSION-RELEASE.src.rpm`, as the source's name and
    /// `VERSION-RELEASE`; a file name of another shape is kept whole as its name.
    pub fn from_rpm(file: &str) -> Source {
        let split = (file.strip_suffix(".src.rpm"))
            .and_then(|stem| {
                let (rest, release) = stem.rsplit_once('-')?;
                let (name, version) = rest.rsplit_once('-')?;
                Some((name, format!("{version}-{release}")))
            })
            .filter(|(name, _)| !name.is_empty());
        match split {
            Some((name, version)) => Source {
                name: name.into(),
                version: Some(version),
            },
            None => Source {
                name: file.into(),
                version: None,
            },
        }
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Recorded {
            /// An older catalog's: rpm's source rpm.
            Rpm(String),
            Source {
                name: String,
                #[serde(default)]
                version: Option<String>,
            },
        }
        Ok(match Recorded::deserialize(d)? {
            Recorded::Rpm(file) => Source::from_rpm(&file),
            Recorded::Source { name, version } => Source { name, version },
        })
    }
}

impl Package {
    /// The source it was built from, where that is another package than itself: another name
    /// (`libssl3`'s `openssl`), or another version (a binNMU's).
    pub fn built_from(&self) -> Option<&Source> {
        let source = self.source.as_ref()?;
        let version = source.version.as_ref();
        (source.name != self.name || version.is_some_and(|v| *v != self.version)).then_some(source)
    }

    /// The name and version of the source it was built from: the recorded source (with the
    /// package's own version where it records none), else the package itself.
    pub fn source_or_self(&self) -> (&str, &str) {
        match &self.source {
            Some(source) => (
                &source.name,
                source.version.as_deref().unwrap_or(&self.version),
            ),
            None => (&self.name, &self.version),
        }
    }
}

/// The operating system an image holds, as its os-release says (`ID`, `VERSION_ID`,
/// `PRETTY_NAME`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distro {
    /// `debian`, `alpine`, `photon`.
    pub id: String,
    /// `12`, `3.18.4`, `5.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The name for people: `Debian GNU/Linux 12 (bookworm)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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
    /// The operating system, where the image has an os-release (`None` in catalogs recorded
    /// before it was kept: an image's is then its base's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Distro>,
    /// Which scan read it (`catalog::scan::VERSION`; 0: one before sources and the operating
    /// system were read), so that what an older one missed is read again.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scan: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
                os: None,
                scan: 0,
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
            os: None,
            scan: 0,
        }
    }

    /// The catalog with the operating system its image's os-release names.
    pub fn with_os(self, os: Option<Distro>) -> Self {
        Catalog { os, ..self }
    }

    /// The image's operating system: its own catalog's, else its base's (`base` the catalog
    /// [`Catalog::base`] names).
    pub fn os<'a>(&'a self, base: Option<&'a Catalog>) -> Option<&'a Distro> {
        self.os.as_ref().or(base?.os.as_ref())
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
            // The new base's: an image's own layers seldom change its os-release.
            os: base.os.clone().or_else(|| self.os.clone()),
            scan: self.scan,
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
    /// Images whose catalog an older dispatch read, read again.
    pub again: usize,
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
        assert_eq!(catalog.os, None);
        assert_eq!(serde_json::to_string(&catalog).unwrap(), old);
        // An rpm's source was its source rpm's file name: read as the source's name and version.
        let rpm = r#"{"ecosystem":"rpm","name":"bash","version":"5.2.15-2.ph5","purl":"pkg:rpm/bash@5.2.15-2.ph5","source":"bash-5.2.15-2.ph5.src.rpm","license":"GPLv3+"}"#;
        let rpm: Package = serde_json::from_str(rpm).unwrap();
        assert_eq!(
            rpm.source,
            Some(Source::from_rpm("bash-5.2.15-2.ph5.src.rpm"))
        );
        let text = serde_json::to_string(&rpm).unwrap();
        assert!(
            text.ends_with(
                r#""source":{"name":"bash","version":"5.2.15-2.ph5"},"license":"GPLv3+"}"#
            ),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Package>(&text).unwrap(), rpm);
    }

    #[test]
    fn a_package_is_matched_as_its_source_and_a_source_rpm_is_read_by_its_shape() {
        let mut libssl = Package::plain(Ecosystem::Deb, "libssl3", "3.0.11-1~deb12u2");
        assert_eq!(libssl.source_or_self(), ("libssl3", "3.0.11-1~deb12u2"));
        libssl.source = Some(Source {
            name: "openssl".into(),
            version: None,
        });
        assert_eq!(libssl.source_or_self(), ("openssl", "3.0.11-1~deb12u2"));
        // A binNMU: the binary's version is the source's with `+bN`.
        let mut libc = Package::plain(Ecosystem::Deb, "libc6", "2.36-9+b1");
        libc.source = Some(Source {
            name: "glibc".into(),
            version: Some("2.36-9".into()),
        });
        assert_eq!(libc.source_or_self(), ("glibc", "2.36-9"));
        let text = serde_json::to_string(&libc).unwrap();
        assert!(
            text.ends_with(r#""source":{"name":"glibc","version":"2.36-9"}}"#),
            "{text}"
        );
        for (file, name, version) in [
            (
                "openssl-3.0.8-1.ph5.src.rpm",
                "openssl",
                Some("3.0.8-1.ph5"),
            ),
            (
                "python3-pip-23.0-2.fc39.src.rpm",
                "python3-pip",
                Some("23.0-2.fc39"),
            ),
            ("odd.src.rpm", "odd.src.rpm", None),
            ("-1-2.src.rpm", "-1-2.src.rpm", None),
            ("no-suffix-1-2", "no-suffix-1-2", None),
        ] {
            let source = Source::from_rpm(file);
            assert_eq!(
                (source.name.as_str(), source.version.as_deref()),
                (name, version),
                "{file}"
            );
        }
    }

    #[test]
    fn an_image_has_its_own_os_or_its_bases() {
        let debian = Distro {
            id: "debian".into(),
            version: Some("12".into()),
            name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        };
        let base = Catalog::layered(vec![], None).with_os(Some(debian.clone()));
        let image = Catalog::layered(vec![], Some(("sha256:b", &base)));
        assert_eq!(image.os(Some(&base)), Some(&debian), "recorded without one");
        let text = serde_json::to_string(&base).unwrap();
        assert_eq!(
            text,
            r#"{"packages":[],"os":{"id":"debian","version":"12","name":"Debian GNU/Linux 12 (bookworm)"}}"#
        );
        let trixie = Distro {
            id: "debian".into(),
            version: Some("13".into()),
            name: None,
        };
        let newer = Catalog::layered(vec![], None).with_os(Some(trixie.clone()));
        assert_eq!(image.rebased("sha256:n", &newer).os, Some(trixie));
    }
}
