//! Resources as the original Dispatch CLI printed them (`dispatch get`): the Dispatch API's
//! objects, as a table, JSON or YAML.

use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};
use serde::Serialize;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use std::collections::BTreeMap;

use crate::model::catalog::{Ecosystem, Entry, counts};
use crate::model::text::escape;
use crate::model::{Kind, Revision, Spec};
use crate::plan::short;
use crate::state::{ResourceState, Status};

/// One resource as `get` shows it: the Dispatch API's field names and types (`name`,
/// `dockerUrl`, `language`, `status`, `reason`, `createdTime` in Unix seconds, `tags`, ...),
/// and dispatch's own beside them (`created`, `digest`, `revision`, `catalog`, ...).
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
    /// When it was created, in Unix seconds, as the original API's `createdTime` (`null` for a
    /// time the state does not hold in RFC 3339, which only a hand-edited state can).
    created_time: Option<i64>,
    /// The same time in RFC 3339, as the state records it.
    created: &'a str,
    /// When it last changed, in Unix seconds, as the original's `modifiedTime`.
    modified_time: Option<i64>,
    modified: &'a str,
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
    /// Of several engines, the one that last pulled or built it.
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<&'a str>,
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
        created_time: unix_seconds(&r.created_time),
        created: &r.created_time,
        modified_time: unix_seconds(&r.modified_time),
        modified: &r.modified_time,
        digest: observed.and_then(|o| o.digest.as_deref()),
        image_id: observed.and_then(|o| o.image_id.as_deref()),
        rebased_from: observed.and_then(|o| o.rebased_from.as_deref()),
        revision: r.revision.as_ref(),
        engine: r.engine.as_deref(),
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
/// `REVISION` each was applied from, the `ENGINE` that made it (of several), for images the
/// base digest each was `REBASED FROM`, and how many `PACKAGES` it holds; each column as wide
/// as its widest cell.
pub fn table(kind: Kind, objects: &[Object<'_>], wide: bool) -> String {
    let mut header = vec!["NAME", "URL"];
    if kind == Kind::Image {
        header.push("BASEIMAGE");
    }
    header.extend(["STATUS", "CREATED DATE"]);
    if wide {
        header.extend(["REVISION", "ENGINE"]);
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
        row.extend([o.status.to_string(), unix_date(o.created)]);
        if wide {
            row.push(o.revision.map(Revision::to_string).unwrap_or_default());
            row.push(o.engine.unwrap_or_default().to_string());
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

/// `text`, an RFC 3339 time, in Unix seconds.
fn unix_seconds(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Go's `time.UnixDate` (`Mon Jan _2 15:04:05 MST 2006`), which the original CLI printed its
/// dates in, in UTC rather than its local zone so that every machine prints the same; `text`
/// as it is when it is no RFC 3339 time.
pub fn unix_date(text: &str) -> String {
    const UNIX_DATE: &[BorrowedFormatItem<'_>] = format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] UTC [year]"
    );
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(UtcOffset::UTC).format(UNIX_DATE).ok())
        .unwrap_or_else(|| text.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn times_are_the_originals() {
        assert_eq!(unix_seconds("2018-08-27T22:07:17Z"), Some(1_535_407_637));
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2018-08-27T15:07:17-07:00"),
            Some(1_535_407_637)
        );
        assert_eq!(unix_seconds("yesterday"), None);
        // The day padded with a space, as Go's `_2`.
        assert_eq!(
            unix_date("2018-08-07T22:07:17Z"),
            "Tue Aug  7 22:07:17 UTC 2018"
        );
        assert_eq!(
            unix_date("2018-08-27T15:07:17-07:00"),
            "Mon Aug 27 22:07:17 UTC 2018"
        );
        assert_eq!(
            unix_date("2026-12-31T23:59:59Z"),
            "Thu Dec 31 23:59:59 UTC 2026"
        );
        assert_eq!(unix_date("not a time"), "not a time");
    }

    #[test]
    fn the_engine_that_made_an_image_is_in_json_and_the_wide_table() {
        let mut built = ResourceState::applied(
            testing::image("web", "python", None),
            "2026-01-01T00:00:00Z",
        );
        built.engine = Some("builder-2".into());
        let alone = ResourceState::applied(
            testing::image("api", "python", None),
            "2026-01-01T00:00:00Z",
        );
        let objects = [object(&built, None), object(&alone, None)];
        insta::assert_snapshot!(
            "get_engine",
            format!(
                "{}\n{}",
                table(Kind::Image, &objects, true),
                serde_json::to_string_pretty(&objects[0]).unwrap()
            )
        );
    }
}
