//! Reading what is installed from an image's files, without running anything from it: the
//! package managers' own records (dpkg's status, apk's installed database, rpm's database in
//! any of its forms: [`rpmdb`]), Python
//! distributions' metadata, npm packages' `package.json`, the `pom.properties` inside Maven
//! jars, and PowerShell module manifests. Pure: the files come from the engine.

use std::io::Read;

use packageurl::PackageUrl;

use super::rpmdb::{self, Installed, RpmdbError};
use crate::model::catalog::{Catalog, Distro, Ecosystem, Package, Source};
use crate::model::image::Limits;
use crate::model::versions::pep503;

/// Where an image keeps the records this scan reads; each is read if the image has it.
pub const ROOTS: &[&str] = &[
    "/etc/os-release",
    "/usr/lib/os-release",
    "/var/lib/dpkg/status",
    "/lib/apk/db/installed",
    "/var/lib/rpm",
    "/usr/lib/sysimage/rpm",
    "/usr/lib/python3",
    "/usr/local/lib",
    "/usr/lib/node_modules",
    "/function",
    "/opt/microsoft/powershell",
    "/usr/local/share/powershell",
];

/// Where os-release may be: Debian's /etc/os-release is a link to the second.
const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// What a scan reads of an image at most: a file larger than the first is passed over (a jar
/// is read whole to find its `pom.properties`), and an image whose records come to more than
/// the second is not catalogued rather than held in memory.
pub const LIMITS: Limits = Limits {
    file: 64 << 20,
    total: 1 << 30,
};

/// Whether the image file at `path` (absolute) is one the scan reads.
pub fn wanted(path: &str) -> bool {
    OS_RELEASE.contains(&path)
        || path == "/var/lib/dpkg/status"
        || path == "/lib/apk/db/installed"
        || rpmdb::PATHS.contains(&path)
        || (path.ends_with("/METADATA") && parent_ends_with(path, ".dist-info"))
        || (path.ends_with("/PKG-INFO") && parent_ends_with(path, ".egg-info"))
        || npm_manifest(path)
        || path.ends_with(".jar")
        || (path.ends_with(".psd1") && path.contains("/Modules/"))
}

fn parent_ends_with(path: &str, suffix: &str) -> bool {
    path.rsplit_once('/')
        .is_some_and(|(parent, _)| parent.ends_with(suffix))
}

/// `.../node_modules/NAME/package.json` or `.../node_modules/@SCOPE/NAME/package.json`: an
/// installed package's own manifest, not one of the files it ships.
fn npm_manifest(path: &str) -> bool {
    let Some(rest) = path.strip_suffix("/package.json") else {
        return false;
    };
    let Some((before, package)) = rest.rsplit_once("/node_modules/") else {
        return false;
    };
    let _ = before;
    match package.split_once('/') {
        None => !package.is_empty(),
        Some((scope, name)) => scope.starts_with('@') && !name.is_empty() && !name.contains('/'),
    }
}

/// Which scan this is, recorded with each catalog (`Catalog::scan`): a catalog an older one
/// read is read again when its image is at hand. 1: packages' sources, pip's and npm's
/// licenses, and the operating system.
pub const VERSION: u32 = 1;

/// What an image's files say it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    pub packages: Vec<Package>,
    /// The operating system its os-release names.
    pub os: Option<Distro>,
}

impl Scanned {
    /// The image's catalog, recorded over `base` (its id and catalog) as only what differs.
    pub fn catalog(self, base: Option<(&str, &Catalog)>) -> Catalog {
        Catalog {
            scan: VERSION,
            ..Catalog::layered(self.packages, base).with_os(self.os)
        }
    }
}

/// The packages `files` (absolute path, bytes) record, and the operating system; a broken
/// record of a package or module is passed over, but an rpm database that cannot be read is
/// an error: it holds the image's whole operating system, which a catalog without it would
/// misstate.
pub fn scan(files: &[(String, Vec<u8>)]) -> Result<Scanned, RpmdbError> {
    let distro = OS_RELEASE.iter().find_map(|wanted| {
        let (_, bytes) = files.iter().find(|(path, _)| path == wanted)?;
        os_release(&String::from_utf8_lossy(bytes))
    });
    // One rpm database: an image that holds several (a migration's leftovers, a link's target
    // as well as the link) has rpm use the first.
    let rpm = rpmdb::PATHS.iter().find_map(|wanted| {
        let (path, bytes) = files.iter().find(|(path, _)| path == wanted)?;
        Some(rpmdb::read(path, bytes))
    });
    let mut packages: Vec<Package> = match rpm {
        Some(installed) => installed?
            .into_iter()
            .filter_map(|installed| rpm_package(installed, distro.as_ref()))
            .collect(),
        None => Vec::new(),
    };
    for (path, bytes) in files {
        let text = || String::from_utf8_lossy(bytes);
        match path.as_str() {
            _ if OS_RELEASE.contains(&path.as_str()) => {}
            "/var/lib/dpkg/status" => packages.extend(os_packages(&text(), distro.as_ref(), &DPKG)),
            "/lib/apk/db/installed" => packages.extend(os_packages(&text(), distro.as_ref(), &APK)),
            _ if path.ends_with("/METADATA") || path.ends_with("/PKG-INFO") => {
                packages.extend(python(&text()))
            }
            _ if path.ends_with("/package.json") => packages.extend(npm(bytes)),
            _ if path.ends_with(".jar") => packages.extend(maven(bytes)),
            _ if path.ends_with(".psd1") => packages.extend(powershell(path, &text())),
            _ => {}
        }
    }
    Ok(Scanned {
        packages,
        os: distro,
    })
}

/// The distribution, as `ID`, `VERSION_ID` and `PRETTY_NAME` of os-release say (`debian`,
/// `12`, `Debian GNU/Linux 12 (bookworm)`).
fn os_release(text: &str) -> Option<Distro> {
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix('=')?;
            Some(value.trim().trim_matches(['"', '\'']).to_string())
        })
    };
    Some(Distro {
        id: field("ID").filter(|id| !id.is_empty())?,
        version: field("VERSION_ID").filter(|v| !v.is_empty()),
        name: field("PRETTY_NAME").filter(|n| !n.is_empty()),
    })
}

fn purl(
    kind: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> Option<String> {
    let mut purl = PackageUrl::new(kind, name).ok()?;
    if let Some(namespace) = namespace {
        purl.with_namespace(namespace).ok()?;
    }
    purl.with_version(version).ok()?;
    for (key, value) in qualifiers {
        purl.add_qualifier(*key, *value).ok()?;
    }
    Some(purl.to_string())
}

fn package(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    purl: Option<String>,
) -> Option<Package> {
    Some(Package {
        ecosystem,
        name: name.to_string(),
        version: version.to_string(),
        purl: purl?,
        source: None,
        license: None,
    })
}

/// The `Key: value` fields of each blank-line-separated stanza (continuation lines dropped).
fn stanzas(text: &str, separator: char) -> impl Iterator<Item = Vec<(&str, &str)>> {
    text.split("\n\n").map(move |stanza| {
        stanza
            .lines()
            .filter(|line| !line.starts_with([' ', '\t']))
            .filter_map(|line| line.split_once(separator))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect()
    })
}

fn distro_qualifier(distro: Option<&Distro>) -> Option<String> {
    let distro = distro?;
    Some(match &distro.version {
        Some(version) => format!("{}-{version}", distro.id),
        None => distro.id.clone(),
    })
}

/// How an OS package database names its fields (both are `Key: value` stanzas).
struct Records {
    ecosystem: Ecosystem,
    /// The distribution when os-release names none.
    distro: &'static str,
    name: &'static str,
    version: &'static str,
    arch: &'static str,
    /// The source package it was built from: `NAME` or `NAME (VERSION)`.
    source: &'static str,
    /// The field, and the end of its value, of a package that is installed, if records of
    /// removed ones are kept too.
    installed: Option<(&'static str, &'static str)>,
}

/// dpkg's status file: the packages whose status says installed.
const DPKG: Records = Records {
    ecosystem: Ecosystem::Deb,
    distro: "debian",
    name: "Package",
    version: "Version",
    arch: "Architecture",
    source: "Source",
    installed: Some(("Status", " installed")),
};

/// apk's installed database: `P:` name, `V:` version, `A:` architecture, `o:` origin.
const APK: Records = Records {
    ecosystem: Ecosystem::Apk,
    distro: "alpine",
    name: "P",
    version: "V",
    arch: "A",
    source: "o",
    installed: None,
};

/// The installed packages of an OS package database, `records` telling its fields.
fn os_packages(text: &str, distro: Option<&Distro>, records: &Records) -> Vec<Package> {
    let namespace = distro.map_or(records.distro, |d| d.id.as_str());
    let qualifier = distro_qualifier(distro);
    stanzas(text, ':')
        .filter_map(|fields| {
            let get = |key: &str| fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            if let Some((field, end)) = records.installed
                && !get(field)?.ends_with(end)
            {
                return None;
            }
            let (name, version) = (get(records.name)?, get(records.version)?);
            let source = get(records.source).and_then(|field| source(field, name, version));
            let upstream = source.as_ref().map(upstream);
            let qualifiers: Vec<(&str, &str)> = [
                ("arch", get(records.arch)),
                ("distro", qualifier.as_deref()),
                ("upstream", upstream.as_deref()),
            ]
            .into_iter()
            .filter_map(|(key, value)| Some((key, value?)))
            .collect();
            let kind = records.ecosystem.as_str();
            let purl = purl(kind, Some(namespace), name, version, &qualifiers);
            let mut package = package(records.ecosystem, name, version, purl)?;
            package.source = source;
            Some(package)
        })
        .collect()
}

/// The source a package's records name (`openssl`, `glibc (2.36-9)`), where it is not the
/// package itself: its name, and its version where that is not the package's.
fn source(field: &str, name: &str, version: &str) -> Option<Source> {
    let (source, own) = match field.split_once('(') {
        Some((source, rest)) => (source.trim(), rest.strip_suffix(')').map(str::trim)),
        None => (field.trim(), None),
    };
    let own = own.filter(|own| !own.is_empty() && *own != version);
    (!source.is_empty() && (source != name || own.is_some())).then(|| Source {
        name: source.to_string(),
        version: own.map(str::to_string),
    })
}

/// The purl's `upstream` qualifier: the source's name, `@VERSION` where it has its own, as
/// syft writes it and grype reads it back from an SBOM.
fn upstream(source: &Source) -> String {
    match &source.version {
        Some(version) => format!("{}@{version}", source.name),
        None => source.name.clone(),
    }
}

/// An installed rpm package: its version as rpm writes it (`[epoch:]version-release`), its
/// purl `pkg:rpm/DISTRO/NAME@VERSION-RELEASE?arch=ARCH&epoch=EPOCH&distro=ID-VERSION_ID&upstream=SOURCE_RPM`
/// (without a namespace when os-release names no distribution; `upstream` the source rpm's
/// file name, as syft writes it), its source rpm and license.
fn rpm_package(installed: Installed, distro: Option<&Distro>) -> Option<Package> {
    let plain = format!("{}-{}", installed.version, installed.release);
    let epoch = installed.epoch.map(|epoch| epoch.to_string());
    let qualifier = distro_qualifier(distro);
    let qualifiers: Vec<(&str, &str)> = [
        ("arch", installed.arch.as_deref()),
        ("epoch", epoch.as_deref()),
        ("distro", qualifier.as_deref()),
        ("upstream", installed.source.as_deref()),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value?)))
    .collect();
    let namespace = distro.map(|d| d.id.as_str());
    let purl = purl("rpm", namespace, &installed.name, &plain, &qualifiers);
    let mut package = package(Ecosystem::Rpm, &installed.name, &installed.evr(), purl)?;
    package.source = installed.source.as_deref().map(Source::from_rpm);
    package.license = installed.license;
    Some(package)
}

/// A Python distribution's core metadata (`METADATA`, `PKG-INFO`): `Name`, `Version`, and
/// its license ([`python_license`]).
fn python(text: &str) -> Option<Package> {
    let headers = text.split("\n\n").next()?;
    let lines: Vec<&str> = headers.lines().collect();
    // Each header's key and value, and whether lines indented below it continue it.
    let all: Vec<(&str, &str, bool)> = (lines.iter().enumerate())
        .filter_map(|(i, line)| {
            let (k, v) = line.split_once(':')?;
            let continued = (lines.get(i + 1)).is_some_and(|next| next.starts_with([' ', '\t']));
            Some((k.trim(), v.trim(), continued))
        })
        .collect();
    let fields = |key: &'static str| {
        (all.iter())
            .filter(move |(k, _, _)| k.eq_ignore_ascii_case(key))
            .map(|&(_, value, continued)| (value, continued))
    };
    let field = |key: &'static str| fields(key).next().map(|(value, _)| value);
    let (name, version) = (field("Name")?, field("Version")?);
    let normal: String = pep503(name).collect();
    let purl = purl("pypi", None, &normal, version, &[]);
    let mut package = package(Ecosystem::Pypi, &normal, version, purl)?;
    let classifiers: Vec<&str> = fields("Classifier").map(|(value, _)| value).collect();
    let stated = fields("License").next().filter(|(_, continued)| !continued);
    package.license = python_license(
        field("License-Expression"),
        stated.map(|(value, _)| value),
        &classifiers,
    );
    Some(package)
}

/// The longest license a package's metadata may state: a name or an expression, not a text.
const LICENSE_LIMIT: usize = 256;

/// What a license field states, if it names one: not empty, `UNKNOWN` or a license's text.
fn license_named(value: &str) -> Option<String> {
    let value = value.trim();
    let named = !value.is_empty()
        && value.len() <= LICENSE_LIMIT
        && !value.contains('\n')
        && !value.eq_ignore_ascii_case("UNKNOWN");
    named.then(|| value.to_string())
}

/// A Python distribution's license, as pip's tools read it: `License-Expression` (PEP 639, an
/// SPDX expression), else `License` when it is a name rather than a license's text (one line),
/// else the `License ::` classifiers' last words (`MIT License`), joined by `, `.
fn python_license(
    expression: Option<&str>,
    stated: Option<&str>,
    classifiers: &[&str],
) -> Option<String> {
    let named = expression.and_then(license_named);
    named
        .or_else(|| stated.and_then(license_named))
        .or_else(|| {
            let mut names: Vec<&str> = (classifiers.iter())
                .filter_map(|c| c.strip_prefix("License ::"))
                .filter_map(|c| c.rsplit("::").next().map(str::trim))
                .filter(|name| !name.is_empty() && *name != "OSI Approved")
                .collect();
            names.dedup();
            license_named(&names.join(", "))
        })
}

/// An installed npm package's `package.json`: its name, version and license
/// ([`npm_license`]).
fn npm(bytes: &[u8]) -> Option<Package> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        name: String,
        version: String,
        #[serde(default)]
        license: serde_json::Value,
        #[serde(default)]
        licenses: serde_json::Value,
    }
    let manifest: Manifest = serde_json::from_slice(bytes).ok()?;
    let (namespace, name) = match manifest.name.split_once('/') {
        Some((scope, name)) if scope.starts_with('@') => (Some(scope), name),
        _ => (None, manifest.name.as_str()),
    };
    let purl = purl("npm", namespace, name, &manifest.version, &[]);
    let mut package = package(Ecosystem::Npm, &manifest.name, &manifest.version, purl)?;
    package.license = npm_license(&manifest.license, &manifest.licenses);
    Some(package)
}

/// An npm package's license: `license`, an SPDX expression (or `SEE LICENSE IN FILE`); in
/// older packages an object `{"type": ...}`, or a list of them under `licenses`, which npm's
/// documentation reads as a choice (`A OR B`). Anything else states none.
fn npm_license(license: &serde_json::Value, licenses: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let kind = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => object.get("type")?.as_str().map(str::to_string),
        _ => None,
    };
    let listed = || {
        let kinds: Option<Vec<String>> = licenses.as_array()?.iter().map(kind).collect();
        Some(kinds?.join(" OR "))
    };
    kind(license)
        .or_else(listed)
        .and_then(|license| license_named(&license))
}

/// The Maven coordinates a jar carries in `META-INF/maven/GROUP/ARTIFACT/pom.properties`.
fn maven(bytes: &[u8]) -> Option<Package> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|name| name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties"))?
        .into_owned();
    let mut text = String::new();
    archive
        .by_name(&name)
        .ok()?
        .take(1 << 16)
        .read_to_string(&mut text)
        .ok()?;
    let field = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let (group, artifact, version) = (field("groupId")?, field("artifactId")?, field("version")?);
    let purl = purl("maven", Some(&group), &artifact, &version, &[]);
    package(
        Ecosystem::Maven,
        &format!("{group}:{artifact}"),
        &version,
        purl,
    )
}

/// A module manifest `.../Modules/NAME/[VERSION/]NAME.psd1`: its `ModuleVersion`.
fn powershell(path: &str, text: &str) -> Option<Package> {
    let file = path.rsplit('/').next()?;
    let name = file.strip_suffix(".psd1")?;
    let (_, below) = path.rsplit_once("/Modules/")?;
    if below.split('/').next()? != name {
        // Not a module's own manifest (a data file of some module).
        return None;
    }
    let version = text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "ModuleVersion").then(|| value.trim().trim_matches(['\'', '"']).to_string())
    })?;
    let purl = purl("nuget", None, name, &version, &[]);
    package(Ecosystem::Powershell, name, &version, purl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, b)| (p.to_string(), b.to_vec()))
            .collect()
    }

    fn names(packages: &[Package]) -> Vec<String> {
        packages
            .iter()
            .map(|p| format!("{} {} {} {}", p.ecosystem, p.name, p.version, p.purl))
            .collect()
    }

    #[test]
    fn debian_packages_installed_with_their_distribution() {
        let status = b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n multi-line text\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\n";
        let found = scan(&files(&[
            (
                "/usr/lib/os-release",
                b"PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\n",
            ),
            ("/var/lib/dpkg/status", status),
        ]))
        .unwrap()
        .packages;
        assert_eq!(
            names(&found),
            [
                "deb libc6 2.36-9+deb12u4 pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
                "deb python3 3.11.2-1+b1 pkg:deb/debian/python3@3.11.2-1%2Bb1?distro=debian-12",
            ]
        );
    }

    /// `name source [version]` of each package that records a source.
    fn sources(packages: &[Package]) -> Vec<String> {
        (packages.iter())
            .filter_map(|p| {
                let source = p.source.as_ref()?;
                let version = source.version.as_deref().unwrap_or("-");
                Some(format!("{} {} {version}", p.name, source.name))
            })
            .collect()
    }

    #[test]
    fn debian_packages_record_their_source_and_its_own_version() {
        let status = b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n\
            Package: libc6\nStatus: install ok installed\nSource: glibc (2.36-9)\nVersion: 2.36-9+b1\n\n\
            Package: zlib1g\nStatus: install ok installed\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1\n\n\
            Package: bash\nStatus: install ok installed\nSource: bash\nVersion: 5.2.15-2+b2\n\n\
            Package: perl-base\nStatus: install ok installed\nSource: perl (5.36.0-7+deb12u1\nVersion: 5.36.0-7+deb12u1\n\n\
            Package: odd\nStatus: install ok installed\nSource: (1.0)\nVersion: 1\n";
        let scanned = scan(&files(&[
            (
                "/etc/os-release",
                b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n",
            ),
            ("/var/lib/dpkg/status", status),
        ]))
        .unwrap();
        assert_eq!(
            sources(&scanned.packages),
            [
                "libssl3 openssl -",
                "libc6 glibc 2.36-9",
                "zlib1g zlib -",
                "perl-base perl -"
            ],
            "the source where it is not the package itself; a version where not the package's"
        );
        assert_eq!(
            names(&scanned.packages)[..2],
            [
                "deb libssl3 3.0.11-1~deb12u2 pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl",
                "deb libc6 2.36-9+b1 pkg:deb/debian/libc6@2.36-9%2Bb1?distro=debian-12&upstream=glibc%402.36-9",
            ]
        );
        assert_eq!(
            scanned.os,
            Some(Distro {
                id: "debian".into(),
                version: Some("12".into()),
                name: Some("Debian GNU/Linux 12 (bookworm)".into()),
            })
        );
    }

    #[test]
    fn alpine_packages_with_their_origin() {
        let db = b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:busybox\nV:1.36.1-r5\n\nP:libcrypto3\nV:3.1.4-r0\no:openssl\n";
        let scanned = scan(&files(&[
            ("/etc/os-release", b"ID=alpine\nVERSION_ID=3.18.4\n"),
            ("/lib/apk/db/installed", db),
        ]))
        .unwrap();
        assert_eq!(
            names(&scanned.packages),
            [
                "apk musl 1.2.4-r2 pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4",
                "apk busybox 1.36.1-r5 pkg:apk/alpine/busybox@1.36.1-r5?distro=alpine-3.18.4",
                "apk libcrypto3 3.1.4-r0 pkg:apk/alpine/libcrypto3@3.1.4-r0?distro=alpine-3.18.4&upstream=openssl",
            ]
        );
        assert_eq!(sources(&scanned.packages), ["libcrypto3 openssl -"]);
        let os = scanned.os.unwrap();
        assert_eq!((os.version.as_deref(), os.name), (Some("3.18.4"), None));
        // Without os-release: Alpine's namespace, no release, no operating system.
        let bare = scan(&files(&[("/lib/apk/db/installed", db)])).unwrap();
        assert_eq!(
            names(&bare.packages)[0],
            "apk musl 1.2.4-r2 pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"
        );
        assert_eq!(bare.os, None);
    }

    /// The license of each package `files` hold.
    fn licenses(list: &[(&str, &[u8])]) -> Vec<Option<String>> {
        let scanned = scan(&files(list)).unwrap();
        scanned.packages.into_iter().map(|p| p.license).collect()
    }

    #[test]
    fn python_licenses_as_the_metadata_states_them() {
        let site = "/usr/local/lib/python3.11/site-packages";
        let metadata = |name: &str, headers: &str| {
            (
                format!("{site}/{name}-1.0.dist-info/METADATA"),
                format!("Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{headers}\nbody\nLicense: not this\n")
                    .into_bytes(),
            )
        };
        let list = [
            metadata(
                "expression",
                "License-Expression: MIT OR Apache-2.0\nLicense: BSD\nClassifier: License :: OSI Approved :: MIT License\n",
            ),
            metadata(
                "stated",
                "License: BSD-3-Clause\nClassifier: License :: OSI Approved :: BSD License\n",
            ),
            metadata(
                "text",
                "License: Copyright (c) 2024 Someone\n        \n        Permission is hereby granted\nClassifier: License :: OSI Approved :: MIT License\n",
            ),
            metadata(
                "classifiers",
                "License: UNKNOWN\nClassifier: Programming Language :: Python\nClassifier: License :: OSI Approved :: Apache Software License\nClassifier: License :: OSI Approved\nclassifier: License :: Public Domain\n",
            ),
            metadata("none", "Summary: nothing said\n"),
            metadata("huge", &format!("License: {}\n", "x".repeat(300))),
        ];
        let list: Vec<(&str, &[u8])> = (list.iter())
            .map(|(path, bytes)| (path.as_str(), bytes.as_slice()))
            .collect();
        assert_eq!(
            licenses(&list),
            [
                Some("MIT OR Apache-2.0".into()),
                Some("BSD-3-Clause".into()),
                Some("MIT License".into()),
                Some("Apache Software License, Public Domain".into()),
                None,
                None,
            ]
        );
    }

    #[test]
    fn npm_licenses_as_the_manifest_states_them() {
        let manifests: [&[u8]; 6] = [
            br#"{"name": "a", "version": "1.0.0", "license": "(MIT OR Apache-2.0)"}"#,
            br#"{"name": "b", "version": "1.0.0", "license": {"type": "ISC", "url": "x"}}"#,
            br#"{"name": "c", "version": "1.0.0", "licenses": [{"type": "MIT"}, {"type": "GPL-2.0"}]}"#,
            br#"{"name": "d", "version": "1.0.0", "license": 42}"#,
            br#"{"name": "e", "version": "1.0.0", "license": "SEE LICENSE IN LICENSE.md"}"#,
            br#"{"name": "f", "version": "1.0.0", "license": ""}"#,
        ];
        let paths: Vec<String> = (0..manifests.len())
            .map(|i| format!("/function/node_modules/{i}/package.json"))
            .collect();
        let list: Vec<(&str, &[u8])> = paths.iter().map(String::as_str).zip(manifests).collect();
        assert_eq!(
            licenses(&list),
            [
                Some("(MIT OR Apache-2.0)".into()),
                Some("ISC".into()),
                Some("MIT OR GPL-2.0".into()),
                None,
                Some("SEE LICENSE IN LICENSE.md".into()),
                None,
            ],
            "a license that is no text is no license, and the package is still read"
        );
    }

    #[test]
    fn python_distributions_by_their_normalized_names() {
        let found = scan(&files(&[
            (
                "/usr/local/lib/python3.11/site-packages/Flask_Cors-4.0.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: Flask_Cors\nVersion: 4.0.0\n\nlong description\nName: not this\n",
            ),
            (
                "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
                b"Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n",
            ),
        ])).unwrap().packages;
        assert_eq!(
            names(&found),
            [
                "pypi flask-cors 4.0.0 pkg:pypi/flask-cors@4.0.0",
                "pypi six 1.16.0 pkg:pypi/six@1.16.0",
            ]
        );
    }

    #[test]
    fn npm_packages_scoped_or_not_and_only_their_own_manifests() {
        assert!(wanted("/function/node_modules/lodash/package.json"));
        assert!(wanted("/function/node_modules/@types/node/package.json"));
        assert!(wanted(
            "/function/node_modules/a/node_modules/b/package.json"
        ));
        assert!(!wanted("/function/node_modules/lodash/fp/package.json"));
        assert!(!wanted("/function/package.json"));
        let found = scan(&files(&[
            (
                "/function/node_modules/@types/node/package.json",
                br#"{"name": "@types/node", "version": "20.11.5"}"#,
            ),
            ("/function/node_modules/broken/package.json", b"{"),
        ]))
        .unwrap()
        .packages;
        assert_eq!(
            names(&found),
            ["npm @types/node 20.11.5 pkg:npm/%40types/node@20.11.5"]
        );
    }

    #[test]
    fn maven_coordinates_from_the_jar() {
        let mut jar = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        jar.start_file(
            "META-INF/maven/com.google.guava/guava/pom.properties",
            options,
        )
        .unwrap();
        std::io::Write::write_all(
            &mut jar,
            b"#Generated\ngroupId=com.google.guava\nartifactId=guava\nversion=33.1.0-jre\n",
        )
        .unwrap();
        let bytes = jar.finish().unwrap().into_inner();
        let found = scan(&[("/function/lib/guava-33.1.0-jre.jar".into(), bytes)])
            .unwrap()
            .packages;
        assert_eq!(
            names(&found),
            ["maven com.google.guava:guava 33.1.0-jre pkg:maven/com.google.guava/guava@33.1.0-jre"]
        );
        assert!(
            scan(&files(&[("/function/lib/not-a-zip.jar", b"garbage")]))
                .unwrap()
                .packages
                .is_empty()
        );
    }

    #[test]
    fn powershell_modules_by_their_own_manifest() {
        let found = scan(&files(&[
            (
                "/usr/local/share/powershell/Modules/Pester/5.5.0/Pester.psd1",
                b"@{\n    RootModule = 'Pester.psm1'\n    ModuleVersion = '5.5.0'\n}\n",
            ),
            (
                "/usr/local/share/powershell/Modules/Pester/5.5.0/en-US/Strings.psd1",
                b"ModuleVersion = '0'\n",
            ),
        ]))
        .unwrap()
        .packages;
        assert_eq!(
            names(&found),
            ["powershell Pester 5.5.0 pkg:nuget/Pester@5.5.0"]
        );
    }

    const PHOTON: &[u8] =
        b"NAME=\"VMware Photon OS\"\nVERSION=\"5.0\"\nID=photon\nVERSION_ID=5.0\n";

    #[test]
    fn rpm_packages_with_their_source_license_and_distribution() {
        let sqlite = include_bytes!("../../testdata/rpm/rpmdb.sqlite");
        let found = scan(&files(&[
            ("/etc/os-release", PHOTON),
            ("/var/lib/rpm/rpmdb.sqlite", sqlite),
        ]))
        .unwrap()
        .packages;
        let mut listed = names(&found);
        listed.sort();
        assert_eq!(
            listed,
            [
                "rpm bash 5.2.15-2.ph5 pkg:rpm/photon/bash@5.2.15-2.ph5?arch=noarch&distro=photon-5.0&upstream=bash-5.2.15-2.ph5.src.rpm",
                "rpm curl 8.1.2~rc1-1.ph5 pkg:rpm/photon/curl@8.1.2~rc1-1.ph5?arch=noarch&distro=photon-5.0&upstream=curl-8.1.2~rc1-1.ph5.src.rpm",
                "rpm openssl-libs 3.0.8-1.ph5 pkg:rpm/photon/openssl-libs@3.0.8-1.ph5?arch=noarch&distro=photon-5.0&upstream=openssl-3.0.8-1.ph5.src.rpm",
                "rpm tzdata 1:2023c-1.ph5 pkg:rpm/photon/tzdata@2023c-1.ph5?arch=noarch&distro=photon-5.0&epoch=1&upstream=tzdata-2023c-1.ph5.src.rpm",
            ]
        );
        let openssl = found.iter().find(|p| p.name == "openssl-libs").unwrap();
        assert_eq!(
            (openssl.source.as_ref(), openssl.license.as_deref()),
            (
                Some(&Source::from_rpm("openssl-3.0.8-1.ph5.src.rpm")),
                Some("Apache-2.0")
            )
        );
        // Without os-release, no distribution is named.
        let bdb = include_bytes!("../../testdata/rpm/Packages");
        let found = scan(&files(&[("/usr/lib/sysimage/rpm/Packages", bdb)]))
            .unwrap()
            .packages;
        let bash = found.iter().find(|p| p.name == "bash").unwrap();
        assert_eq!(
            bash.purl,
            "pkg:rpm/bash@5.2.15-2.ph5?arch=noarch&upstream=bash-5.2.15-2.ph5.src.rpm"
        );
    }

    #[test]
    fn one_rpm_database_is_read_and_a_broken_one_fails_the_scan() {
        let sqlite = include_bytes!("../../testdata/rpm/rpmdb.sqlite");
        let ndb = include_bytes!("../../testdata/rpm/Packages.db");
        // A migration's leftover BerkeleyDB beside the SQLite database rpm uses.
        let found = scan(&files(&[
            ("/var/lib/rpm/Packages", b"stale"),
            ("/usr/lib/sysimage/rpm/Packages.db", ndb),
            ("/usr/lib/sysimage/rpm/rpmdb.sqlite", sqlite),
        ]))
        .unwrap()
        .packages;
        assert_eq!(found.len(), 4);
        for path in rpmdb::PATHS {
            assert!(wanted(path), "{path}");
        }
        assert!(!wanted("/var/lib/rpm/Basenames"));
        let error = scan(&files(&[
            (
                "/var/lib/dpkg/status",
                b"Package: a\nStatus: install ok installed\nVersion: 1\n",
            ),
            ("/var/lib/rpm/Packages", &ndb[..100]),
        ]))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read rpm's database /var/lib/rpm/Packages: it is not a Berkeley DB hash database"
        );
    }
}
