//! Resources as the original Dispatch CLI printed them (`dispatch get`): the Dispatch API's
//! objects, as a table, JSON or YAML.

use serde::Serialize;

use crate::model::{Kind, Spec};
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
}

impl Object<'_> {
    fn url(&self) -> &str {
        match self.spec {
            Spec::BaseImage(b) => b.docker_url.as_str(),
            Spec::Image(_) => self.docker_url.unwrap_or_default(),
        }
    }
}

pub fn object(r: &ResourceState) -> Object<'_> {
    let observed = r.observed.as_ref();
    Object {
        name: &r.resource.name,
        spec: &r.resource.spec,
        docker_url: observed
            .and_then(|o| o.reference.as_deref())
            .filter(|_| r.resource.kind() == Kind::Image),
        status: r.status,
        reason: &r.reason,
        created_time: &r.created_time,
        modified_time: &r.modified_time,
        digest: observed.and_then(|o| o.digest.as_deref()),
        image_id: observed.and_then(|o| o.image_id.as_deref()),
    }
}

/// The noun `get` and `delete` take for `kind`.
pub fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::BaseImage => "base-image",
        Kind::Image => "image",
    }
}

/// `NAME | URL | STATUS | CREATED DATE`, with `BASEIMAGE` for images.
pub fn table(kind: Kind, objects: &[Object<'_>]) -> String {
    let mut header = vec!["NAME", "URL"];
    if kind == Kind::Image {
        header.push("BASEIMAGE");
    }
    header.extend(["STATUS", "CREATED DATE"]);
    let rows: Vec<Vec<String>> = objects
        .iter()
        .map(|o| {
            let mut row = vec![o.name.to_string(), o.url().to_string()];
            if let Spec::Image(image) = o.spec {
                row.push(image.base_image_name.clone());
            }
            row.extend([o.status.to_string(), o.created_time.to_string()]);
            row
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("  {}\n", padded.join(" | ").trim_end())
    };
    let mut out = line(header.clone());
    out.push_str(&format!(
        "{}\n",
        "-".repeat(widths.iter().sum::<usize>() + 3 * (widths.len() - 1) + 4)
    ));
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
