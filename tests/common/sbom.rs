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

/// What keeps `document` from being valid CycloneDX 1.5.
pub fn cyclonedx_errors(document: &Value) -> Vec<String> {
    errors(&cyclonedx_validator(), document)
}

/// What keeps `document` from being valid SPDX 2.3.
pub fn spdx_errors(document: &Value) -> Vec<String> {
    errors(&spdx_validator(), document)
}
