//! The official SBOM schemas (testdata/schemas), checked offline: for the renderers' unit
//! tests (included by path) and for the SBOMs of real images in the integration tests.

#![allow(dead_code)] // each includer uses its part

use serde_json::Value;

const CYCLONEDX: &str =
    include_str!("../../testdata/schemas/cyclonedx/bom-1.5.SNAPSHOT.schema.json");
const CYCLONEDX_SPDX: &str =
    include_str!("../../testdata/schemas/cyclonedx/spdx.SNAPSHOT.schema.json");
const CYCLONEDX_JSF: &str =
    include_str!("../../testdata/schemas/cyclonedx/jsf-0.82.SNAPSHOT.schema.json");
const SPDX: &str = include_str!("../../testdata/schemas/spdx-2.3.schema.json");

/// Refuses every schema not registered: validation never reaches the network.
struct Offline;

impl jsonschema::Retrieve for Offline {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("{uri} is not kept in testdata/schemas").into())
    }
}

/// A validator for `schema`, its `$ref`s resolved from `resources` (URI, schema) only.
fn validator(schema: &str, resources: &[(&str, &str)]) -> jsonschema::Validator {
    let parse = |text: &str| serde_json::from_str::<Value>(text).expect("a schema is JSON");
    let registry = jsonschema::Registry::new()
        .extend(resources.iter().map(|(uri, text)| (*uri, parse(text))))
        .and_then(|builder| builder.prepare())
        .expect("the referenced schemas register");
    jsonschema::options()
        .with_registry(&registry)
        .with_retriever(Offline)
        .build(&parse(schema))
        .expect("the schema compiles offline")
}

pub fn cyclonedx_validator() -> jsonschema::Validator {
    validator(
        CYCLONEDX,
        &[
            (
                "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json",
                CYCLONEDX_SPDX,
            ),
            (
                "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json",
                CYCLONEDX_JSF,
            ),
        ],
    )
}

pub fn spdx_validator() -> jsonschema::Validator {
    validator(SPDX, &[])
}

pub fn errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// What keeps `document` from being valid CycloneDX 1.5: its schema, and what the schema
/// leaves to readers: every reference (`dependencies`, the components vulnerabilities
/// affect) names a `bom-ref` the document holds.
pub fn cyclonedx_errors(document: &Value) -> Vec<String> {
    let mut found = errors(&cyclonedx_validator(), document);
    let components = document["components"].as_array().into_iter().flatten();
    let held: Vec<&Value> = std::iter::once(&document["metadata"]["component"])
        .chain(components)
        .map(|c| &c["bom-ref"])
        .collect();
    let mut refer = |path: String, value: &Value| {
        if !held.contains(&value) {
            found.push(format!("{path}: {value} is no bom-ref of the document"));
        }
    };
    let array = |value: &Value| value.as_array().cloned().unwrap_or_default();
    for (i, dependency) in array(&document["dependencies"]).iter().enumerate() {
        refer(format!("/dependencies/{i}/ref"), &dependency["ref"]);
        for (j, on) in array(&dependency["dependsOn"]).iter().enumerate() {
            refer(format!("/dependencies/{i}/dependsOn/{j}"), on);
        }
    }
    for (i, vulnerability) in array(&document["vulnerabilities"]).iter().enumerate() {
        for (j, affects) in array(&vulnerability["affects"]).iter().enumerate() {
            refer(
                format!("/vulnerabilities/{i}/affects/{j}/ref"),
                &affects["ref"],
            );
        }
    }
    found
}

/// What keeps `document` from being valid SPDX 2.3: its schema, and what the schema leaves to
/// readers: a declared license is an SPDX expression (or `NOASSERTION`, `NONE`) whose
/// `LicenseRef-`s the document declares, and relationships relate elements it holds.
pub fn spdx_errors(document: &Value) -> Vec<String> {
    let mut found = errors(&spdx_validator(), document);
    let array = |value: &Value| value.as_array().cloned().unwrap_or_default();
    let packages = array(&document["packages"]);
    let extracted: Vec<Value> = array(&document["hasExtractedLicensingInfos"])
        .iter()
        .map(|e| e["licenseId"].clone())
        .collect();
    for (i, package) in packages.iter().enumerate() {
        let Some(license) = package["licenseDeclared"].as_str() else {
            continue;
        };
        let path = format!("/packages/{i}/licenseDeclared");
        if license == "NOASSERTION" || license == "NONE" {
            continue;
        }
        if cyclonedx_bom::prelude::SpdxExpression::try_from(license.to_string()).is_err() {
            found.push(format!("{path}: {license:?} is no SPDX license expression"));
            continue;
        }
        let references = license
            .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
            .filter(|token| token.starts_with("LicenseRef-"));
        for reference in references {
            if !extracted.contains(&Value::from(reference)) {
                found.push(format!("{path}: {reference} is not declared"));
            }
        }
    }
    let mut held: Vec<Value> = packages.iter().map(|p| p["SPDXID"].clone()).collect();
    held.push(document["SPDXID"].clone());
    for (i, relationship) in array(&document["relationships"]).iter().enumerate() {
        for key in ["spdxElementId", "relatedSpdxElement"] {
            let element = &relationship[key];
            if !held.contains(element) {
                found.push(format!(
                    "/relationships/{i}/{key}: {element} is no SPDXID of the document"
                ));
            }
        }
    }
    found
}
