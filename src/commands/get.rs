//! `dispatch get base-image|image [NAME]`: a table, or the objects as JSON or YAML, as the
//! original Dispatch CLI printed them.

use std::process::ExitCode;

use anyhow::{Result, bail};
use serde::Serialize;

use dispatch::model::{Address, Kind, Spec};
use dispatch::state::{ResourceState, Status};

use crate::Session;
use crate::cli::{GetFormat, GetOutput};

/// One resource as `get` shows it: the Dispatch API's field names (`name`, `dockerUrl`,
/// `language`, `status`, `reason`, `createdTime`, `tags`, ...).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Object<'a> {
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

fn object(r: &ResourceState) -> Object<'_> {
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
        image_id: observed
            .map(|o| o.image_id.as_str())
            .filter(|id| !id.is_empty()),
    }
}

pub fn get(
    session: &Session,
    kind: Kind,
    name: Option<&str>,
    format: &GetFormat,
) -> Result<ExitCode> {
    let state = session.store.load()?.unwrap_or_default();
    let selected: Vec<&ResourceState> = match name {
        Some(name) => {
            let address = Address::new(kind, name);
            match state.resources.get(&address) {
                Some(r) => vec![r],
                None => bail!(
                    "{address} not found\n  hint: `dispatch get {}` lists what exists",
                    noun(kind)
                ),
            }
        }
        None => state
            .resources
            .values()
            .filter(|r| r.resource.kind() == kind)
            .collect(),
    };
    let output = if format.json {
        GetOutput::Json
    } else {
        format.output.unwrap_or(GetOutput::Table)
    };
    let objects: Vec<Object<'_>> = selected.iter().map(|r| object(r)).collect();
    match (output, name) {
        (GetOutput::Json, Some(_)) => println!("{}", serde_json::to_string_pretty(&objects[0])?),
        (GetOutput::Json, None) => println!("{}", serde_json::to_string_pretty(&objects)?),
        (GetOutput::Yaml, Some(_)) => print!("{}", serde_saphyr::to_string(&objects[0])?),
        (GetOutput::Yaml, None) => print!("{}", serde_saphyr::to_string(&objects)?),
        (GetOutput::Table, _) => print!("{}", table(kind, &objects)),
    }
    Ok(ExitCode::SUCCESS)
}

fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::BaseImage => "base-image",
        Kind::Image => "image",
    }
}

/// `NAME | URL | STATUS | CREATED DATE`, with `BASEIMAGE` for images.
fn table(kind: Kind, objects: &[Object<'_>]) -> String {
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
