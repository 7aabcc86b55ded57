//! Resources as the original Dispatch CLI printed them (`dispatch get`): the Dispatch API's
//! objects, as a table, JSON or YAML.

use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};
use serde::Serialize;

use std::collections::BTreeMap;

use crate::model::catalog::{Ecosystem, Entry, counts};
use crate::model::text::escape;
use crate::model::{Kind, Revision, Spec};
use crate::plan::short;
use crate::state::{ResourceState, Status};

/// One resource as `get` shows it: the Dispatch API's field names (`name`, `dockerUrl`,
/// `language`, `status`, `reason`, `createdTime`, `tags`, ...).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Object<'a> {
    name: &'a str,
    #[serde(flatten)]
    spec: &'a Spec,
    /// For an image, the reference it was built as (a base image's is in its spec).
    #[serde(skip_serializing_if = "Option::is_none")]
    docker_url: Option<&'a str>,
    status: Status,
    reason: &'a [String],
    created_time: &'a str,
    modified_time: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image_id: Option<&'a str>,
    /// For an image rebased onto its base patched in place: the base digest it left.
    #[serde(skip_serializing_if = "Option::is_none")]
    rebased_from: Option<&'a str>,
    /// The commit its declaration came from when last applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<&'a Revision>,
    /// How many packages of each ecosystem its catalog holds (`dispatch catalog` lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog: Option<BTreeMap<Ecosystem, usize>>,
    /// The image it stands for, as the table's URL column shows it.
    #[serde(skip)]
    url: Option<&'a str>,
}

/// `r` as `get` shows it, with the packages of its catalog (`None` when it has none).
pub fn object<'a>(r: &'a ResourceState, catalog: Option<&[Entry]>) -> Object<'a> {
    let observed = r.observed.as_ref();
    Object {
        name: &r.resource.name,
        spec: &r.resource.spec,
        docker_url: r
            .image_reference()
            .filter(|_| r.resource.kind() == Kind::Image),
        status: r.status,
        reason: &r.reason,
        created_time: &r.created_time,
        modified_time: &r.modified_time,
        digest: observed.and_then(|o| o.digest.as_deref()),
        image_id: observed.and_then(|o| o.image_id.as_deref()),
        rebased_from: observed.and_then(|o| o.rebased_from.as_deref()),
        revision: r.revision.as_ref(),
        catalog: catalog.map(counts),
        url: r.image_reference(),
    }
}

/// The noun `get` and `delete` take for `kind`.
pub fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::BaseImage => "base-image",
        Kind::Image => "image",
    }
}

/// How the original Dispatch CLI drew its tables: columns split by ` | `, the header ruled
/// off with dashes, no outer border.
const STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction('|'))
    .header_separator(LineStyle::none().fill('-').junction('-'))
    .content_lines(ContentLineStyle::none().junction('|'));

/// `NAME | URL | STATUS | CREATED DATE`, with `BASEIMAGE` for images and, `wide`, the
/// `REVISION` each was applied from, for images the base digest each was `REBASED FROM`, and
/// its `PACKAGES`; each column as wide as its widest cell.
pub fn table(kind: Kind, objects: &[Object<'_>], wide: bool) -> String {
    let mut header = vec!["NAME", "URL"];
    if kind == Kind::Image {
        header.push("BASEIMAGE");
    }
    header.extend(["STATUS", "CREATED DATE"]);
    if wide {
        header.push("REVISION");
        if kind == Kind::Image {
            header.push("REBASED FROM");
        }
        header.push("PACKAGES");
    }
    let rows = objects.iter().map(|o| {
        let mut row = vec![o.name.to_string(), o.url.unwrap_or_default().to_string()];
        if let Spec::Image(image) = o.spec {
            row.push(image.base_image_name.clone());
        }
        row.extend([o.status.to_string(), o.created_time.to_string()]);
        if wide {
            row.push(o.revision.map(Revision::to_string).unwrap_or_default());
            if kind == Kind::Image {
                row.push(o.rebased_from.map(short).unwrap_or_default().to_string());
            }
            let packages = o.catalog.as_ref().map(|c| c.values().sum::<usize>());
            row.push(packages.map(|n| n.to_string()).unwrap_or_default());
        }
        row
    });
    grid(&header, rows)
}

/// A table in the original CLI's style, its cells escaped (they hold what images and
/// declarations say).
pub fn grid(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_style(STYLE)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row.iter().map(|cell| escape(cell)).collect::<Vec<_>>());
    }
    // The first column's cells start two spaces in, as the original's did.
    if let Some(first) = table.column_mut(0) {
        first.set_padding((2, 1));
    }
    table
        .lines()
        .map(|line| line.trim_end().to_string() + "\n")
        .collect()
}
