//! A registry in memory, for fast tests of refresh and apply.

use std::collections::HashMap;

use super::{Registry, RegistryError};
use crate::model::reference::ImageRef;

/// Answers from a table: a digest per reference, or an error; anything else does not exist.
#[derive(Debug, Default)]
pub struct FakeRegistry {
    pub answers: HashMap<String, Result<String, RegistryError>>,
}

impl FakeRegistry {
    pub fn with(answers: &[(&str, Result<&str, RegistryError>)]) -> Self {
        FakeRegistry {
            answers: answers
                .iter()
                .map(|(reference, answer)| {
                    (reference.to_string(), answer.clone().map(str::to_string))
                })
                .collect(),
        }
    }
}

impl Registry for FakeRegistry {
    async fn digest(&self, reference: &ImageRef) -> Result<String, RegistryError> {
        self.answers
            .get(reference.as_str())
            .cloned()
            .unwrap_or_else(|| {
                Err(RegistryError::NotFound {
                    reference: reference.to_string(),
                    detail: "manifest unknown".into(),
                })
            })
    }
}
