//! What images hold (`dispatch catalog`), as tables and JSON; the SBOM formats are
//! [`super::sbom`]'s.

use serde::Serialize;

use super::get::grid;
use crate::catalog::query::Found;
use crate::model::catalog::Entry;
use crate::model::{Address, Kind};
use crate::state::ResourceState;

/// `ECOSYSTEM | NAME | VERSION | FROM`: one image's packages.
pub fn table(entries: &[Entry]) -> String {
    let rows = entries.iter().map(|e| {
        let p = &e.package;
        vec![
            p.ecosystem.to_string(),
            p.name.clone(),
            p.version.clone(),
            e.origin.to_string(),
        ]
    });
    grid(&["ECOSYSTEM", "NAME", "VERSION", "FROM"], rows)
}

/// `KIND | NAME | ECOSYSTEM | PACKAGE | VERSION | FROM`: where a package is found.
pub fn found(found: &[Found<'_>]) -> String {
    let rows = found.iter().map(|f| {
        let p = f.package;
        vec![
            super::get::noun(f.address.kind).to_string(),
            f.address.name.clone(),
            p.ecosystem.to_string(),
            p.name.clone(),
            p.version.clone(),
            f.origin.to_string(),
        ]
    });
    grid(
        &["KIND", "NAME", "ECOSYSTEM", "PACKAGE", "VERSION", "FROM"],
        rows,
    )
}

/// One image's catalog as JSON: which image, and its packages.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing<'a> {
    pub kind: Kind,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<&'a str>,
    pub packages: &'a [Entry],
}

impl<'a> Listing<'a> {
    pub fn new(r: &'a ResourceState, entries: &'a [Entry]) -> Self {
        let observed = r.observed.as_ref();
        let address: Address = r.resource.address();
        Listing {
            kind: address.kind,
            name: &r.resource.name,
            docker_url: r.image_reference(),
            image_id: observed.and_then(|o| o.image_id.as_deref()),
            packages: entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::query::{self, Recorded};
    use crate::model::catalog::{Catalog, Ecosystem, Package};

    #[test]
    fn tables_of_an_image_and_of_where_a_package_is() {
        let base = Catalog::layered(
            vec![
                Package::plain(Ecosystem::Deb, "libc6", "2.36-9+deb12u4"),
                Package::plain(Ecosystem::Pypi, "six", "1.15.0"),
            ],
            None,
        );
        // What an image says of itself is untrusted: its control characters are escaped.
        let image = Catalog::layered(
            vec![
                Package::plain(Ecosystem::Deb, "libc6", "2.36-9+deb12u4"),
                Package::plain(Ecosystem::Pypi, "six", "1.16.0"),
                Package::plain(Ecosystem::Npm, "evil\u{1b}[31m", "1.0.0"),
            ],
            Some(("sha256:b", &base)),
        );
        insta::assert_snapshot!("image", table(&image.entries(Some(&base))));
        let recorded = [
            Recorded {
                address: Address::new(Kind::BaseImage, "python3"),
                image: "sha256:b".into(),
                base: None,
            },
            Recorded {
                address: Address::new(Kind::Image, "api"),
                image: "sha256:i".into(),
                base: Some("sha256:b".into()),
            },
        ];
        let catalogs = BTreeMap::from([("sha256:b".into(), base), ("sha256:i".into(), image)]);
        let six = query::find(&recorded, &catalogs, |p| p.name == "six");
        insta::assert_snapshot!("found", found(&six));
        insta::assert_json_snapshot!("found_json", six);
    }
}
