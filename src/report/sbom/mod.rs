//! SBOMs: one image's catalog as a standard document, CycloneDX 1.5 ([`cyclonedx`]) or SPDX
//! 2.3 ([`spdx`]) JSON, for the scanners and registries that read those rather than
//! `dispatch`'s own catalog. Pure: the time and the document's UUID come in with the subject,
//! so the same subject gives the same bytes.
//!
//! Both name the image by the digest its registry gives it (pushed or pulled), not by the id
//! one engine gives it locally: that is what identifies it wherever it is pulled. Both hold
//! the operating system (from os-release), each package with its purl, origin and license,
//! and the source package a distribution's package was built from.
//!
//! Names, versions, purls and licenses are read from files inside images: JSON escaping keeps
//! them inert, and identifiers built from them are sanitized and made unique.

mod cyclonedx;
mod spdx;

use std::collections::HashSet;

use cyclonedx_bom::external_models::spdx::{SpdxExpression, SpdxIdentifier};
use sha2::{Digest, Sha256};

pub use cyclonedx::cyclonedx;
pub use spdx::spdx;

use crate::advisory::find::Finding;
use crate::model::catalog::{Distro, Entry};
use crate::model::reference::ImageRef;
use crate::model::{Address, Kind};
use crate::state::ResourceState;

const TOOL: &str = "dispatch";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Names the origin (base or image) of a package in both formats.
const ORIGIN: &str = "dispatch:origin";
/// Names the image reference in both formats.
const REFERENCE: &str = "dispatch:reference";
/// Names the id the engine that made or pulled the image gives it.
const IMAGE_ID: &str = "dispatch:image-id";

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CycloneDX 1.5 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

impl Format {
    /// The subject as a document of this format.
    pub fn render(self, subject: &Subject<'_>) -> String {
        match self {
            Format::Cyclonedx => cyclonedx(subject),
            Format::Spdx => spdx(subject),
        }
    }

    /// The end of a document's file name, as the formats' own tools name them.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Cyclonedx => ".cdx.json",
            Format::Spdx => ".spdx.json",
        }
    }
}

/// One image and its catalog, as the SBOM renderers take it.
pub struct Subject<'a> {
    /// The resource's name, e.g. "python-hello".
    pub name: &'a str,
    /// The image reference, e.g. "127.0.0.1:5000/fn/python-hello:ab12…", or None.
    pub reference: Option<&'a str>,
    /// The registry digest "sha256:…": the one a built image was pushed as, a base's as
    /// pulled. What the documents describe.
    pub digest: Option<&'a str>,
    /// The engine image id "sha256:…" (its config's digest), if known: kept as a property.
    pub image_id: Option<&'a str>,
    /// The operating system its os-release names.
    pub os: Option<&'a Distro>,
    /// Its packages, sorted, each with its origin.
    pub entries: Vec<Entry>,
    /// What the loaded advisories say affects it; `None` when none of its ecosystems' are
    /// loaded (nothing was checked), so the document claims nothing either way.
    pub vulnerabilities: Option<Vec<Finding<'a>>>,
    /// RFC 3339 creation time, passed in so output is deterministic. SPDX wants it in UTC to
    /// the second (`2024-05-01T12:00:00Z`).
    pub created: &'a str,
    /// A UUID (string) for the CycloneDX serialNumber (as urn:uuid:…) and the SPDX documentNamespace.
    pub serial: String,
}

impl<'a> Subject<'a> {
    /// The image `resource` records, with its packages and operating system and what affects
    /// it: named by its registry digest, created at its last change, its serial number
    /// derived from both ([`serial`]).
    pub fn new(
        resource: &'a ResourceState,
        entries: Vec<Entry>,
        os: Option<&'a Distro>,
        vulnerabilities: Option<Vec<Finding<'a>>>,
    ) -> Self {
        let observed = resource.observed.as_ref();
        Subject {
            name: &resource.resource.name,
            reference: resource.image_reference(),
            digest: observed.and_then(|o| o.digest.as_deref()),
            image_id: observed.and_then(|o| o.image_id.as_deref()),
            os,
            entries,
            vulnerabilities,
            created: &resource.modified_time,
            serial: serial(resource),
        }
    }

    /// What identifies the image's content best: its registry digest, else the engine's id,
    /// else its reference.
    fn version(&self) -> Option<&str> {
        self.digest.or(self.image_id).or(self.reference)
    }

    /// The image's package URL, `pkg:oci/NAME@DIGEST?repository_url=REPOSITORY&tag=TAG`
    /// (purl's `oci` type), when its registry digest and reference are known.
    fn purl(&self) -> Option<String> {
        let digest = self.digest?;
        let reference = ImageRef::parse(self.reference?).ok()?;
        let repository = reference.repository();
        let name = repository.rsplit('/').next()?;
        let mut purl = packageurl::PackageUrl::new("oci", name).ok()?;
        purl.with_version(digest).ok()?;
        purl.add_qualifier("repository_url", repository.as_str())
            .ok()?;
        if let Some(tag) = &reference.tag {
            purl.add_qualifier("tag", tag.as_str()).ok()?;
        }
        Some(purl.to_string())
    }
}

/// The SBOM's serial number: the same for the same image applied at the same time, so that
/// writing it twice gives the same document.
pub fn serial(resource: &ResourceState) -> String {
    let seed = format!(
        "{}\n{}\n{}",
        resource.resource.address(),
        resource.spec_digest,
        resource.modified_time
    );
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A license as a package's records state it, as the formats can carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stated<'a> {
    /// One identifier of the SPDX license list (`MIT`).
    Id(&'a str),
    /// An SPDX expression (`MIT OR Apache-2.0`).
    Expression(&'a str),
    /// Anything else (`MIT License`, rpm's `GPLv3+`): the package's own words.
    Named(&'a str),
}

impl<'a> Stated<'a> {
    fn of(license: &'a str) -> Stated<'a> {
        if SpdxIdentifier::try_from(license.to_string()).is_ok() {
            Stated::Id(license)
        } else if SpdxExpression::try_from(license.to_string()).is_ok() {
            Stated::Expression(license)
        } else {
            Stated::Named(license)
        }
    }
}

/// The file names of the documents of `addresses` in `format`, in order:
/// `KIND-NAME.cdx.json` or `KIND-NAME.spdx.json` (`image-api.cdx.json`,
/// `base-image-python3.spdx.json`). Every character but ASCII letters, digits, `_` and `-`
/// becomes `_` (resource names hold no other, but a state is read from disk), so a name can
/// neither leave the folder nor hide; a name that another already has, compared without case
/// as some file systems compare them, gets `-2`, `-3`, … in order.
pub fn file_names(addresses: &[Address], format: Format) -> Vec<String> {
    let stems = addresses.iter().map(|address| {
        let kind = match address.kind {
            Kind::BaseImage => "base-image",
            Kind::Image => "image",
        };
        let name: String = (address.name.chars().take(128))
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
                _ => '_',
            })
            .collect();
        format!("{kind}-{name}")
    });
    let mut seen = HashSet::new();
    stems
        .map(|stem| {
            let mut candidate = stem.clone();
            let mut n = 1;
            while !seen.insert(candidate.to_ascii_lowercase()) {
                n += 1;
                candidate = format!("{stem}-{n}");
            }
            format!("{candidate}{}", format.extension())
        })
        .collect()
}

/// `text` with every character but ASCII letters, digits, `.` and `-` replaced by `-`: what an
/// SPDXID may hold, and safe in a URI path.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `ids` in order, a repeat suffixed `-2`, `-3`, …: two untrusted names may sanitize, or two
/// packages' purls be, the same, and both formats need their identifiers unique.
fn unique(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .map(|id| {
            let mut candidate = id.clone();
            let mut n = 1;
            while !seen.insert(candidate.clone()) {
                n += 1;
                candidate = format!("{id}-{n}");
            }
            candidate
        })
        .collect()
}

/// The official schemas, as the integration tests check real images' SBOMs against them.
#[cfg(test)]
#[path = "../../../tests/common/sbom.rs"]
mod schemas;

#[cfg(test)]
mod tests;
