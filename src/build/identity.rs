//! What an image's identity takes from the settings besides its declaration: the Dockerfile
//! template `[templates]` names for its language, and the build args `[build] identity-args`
//! names. These join the digest of its build context (so its tag) and are recorded with it in
//! the state ([`Inputs`]), so that a plan rebuilds it when one of them changes, and says which.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::decl::Declarations;
use crate::model::inputs::{Inputs, TemplateInput, digest};
use crate::model::{Language, Spec};
use crate::state::State;

/// The build inputs the settings give the images of each language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    by_language: BTreeMap<Language, Arc<Inputs>>,
}

impl Identity {
    /// From the `templates` of dispatch.toml (language, path as written there, text), its
    /// `[build.args]` and the names of those that are part of an image's identity. A name that
    /// `args` does not set is left out, as the build leaves it unset.
    pub fn new<'a>(
        templates: impl IntoIterator<Item = (Language, String, &'a str)>,
        args: &HashMap<String, String>,
        identity_args: &[String],
    ) -> Identity {
        let args: BTreeMap<String, String> = identity_args
            .iter()
            .filter_map(|name| Some((name.clone(), digest(args.get(name)?.as_bytes()))))
            .collect();
        let mut templates: BTreeMap<Language, TemplateInput> = templates
            .into_iter()
            .map(|(language, path, text)| {
                let digest = digest(text.as_bytes());
                (language, TemplateInput { path, digest })
            })
            .collect();
        let by_language = Language::ALL
            .into_iter()
            .map(|language| {
                let inputs = Inputs {
                    template: templates.remove(&language),
                    args: args.clone(),
                };
                (language, Arc::new(inputs))
            })
            .collect();
        Identity { by_language }
    }

    /// What an image on a base of `language` is built from besides its declaration.
    pub fn inputs(&self, language: Language) -> Arc<Inputs> {
        self.by_language.get(&language).cloned().unwrap_or_default()
    }

    /// Gives each declared image the inputs of its base's language (the base declared, or
    /// only in `state`); an image whose base is neither is left without.
    pub fn attach(&self, declarations: &mut Declarations, state: Option<&State>) {
        let recorded = state.into_iter().flat_map(|s| s.resources.values());
        let declared = declarations.resources.values().map(|d| &d.resource);
        // Declared bases win over recorded ones of the same name: inserted last.
        let languages: HashMap<String, Language> = recorded
            .map(|r| &r.resource)
            .chain(declared)
            .filter_map(|r| match &r.spec {
                Spec::BaseImage(base) => Some((r.name.clone(), base.language)),
                Spec::Image(_) => None,
            })
            .collect();
        for declared in declarations.resources.values_mut() {
            if let Spec::Image(image) = &declared.resource.spec {
                declared.build_inputs =
                    (languages.get(&image.base_image_name)).map(|language| self.inputs(*language));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Kind};
    use crate::testing::{applied, base, declared, image};

    fn identity() -> Identity {
        let args = HashMap::from([
            ("PYTHON".to_string(), "3.11".to_string()),
            ("PIP_INDEX_URL".to_string(), "http://mirror".to_string()),
        ]);
        Identity::new(
            [(Language::Python3, "t/py.Dockerfile".into(), "FROM x\n")],
            &args,
            &["PYTHON".into(), "UNSET".into()],
        )
    }

    #[test]
    fn the_template_of_the_language_and_the_identity_args() {
        let identity = identity();
        let python = identity.inputs(Language::Python3);
        assert_eq!(
            python.template,
            Some(TemplateInput {
                path: "t/py.Dockerfile".into(),
                digest: digest(b"FROM x\n"),
            })
        );
        // Only the args named part of the identity, and only those set.
        assert_eq!(python.args.keys().collect::<Vec<_>>(), ["PYTHON"]);
        assert_eq!(python.args["PYTHON"], digest(b"3.11"));
        let node = identity.inputs(Language::Nodejs);
        assert_eq!(node.template, None);
        assert_eq!(node.args, python.args);
        assert_eq!(
            *Identity::default().inputs(Language::Java),
            Inputs::default()
        );
    }

    #[test]
    fn images_take_the_inputs_of_their_base_declared_or_recorded() {
        let identity = identity();
        let mut declarations = declared(&[
            base("py", "x/py:1"),
            image("a", "py", None),
            image("b", "recorded", None),
            image("c", "nowhere", None),
        ]);
        let state = applied(&[base("recorded", "x/r:1")]);
        identity.attach(&mut declarations, Some(&state));
        let inputs = |name: &str| {
            declarations.resources[&Address::new(Kind::Image, name)]
                .build_inputs
                .clone()
        };
        assert_eq!(inputs("a"), Some(identity.inputs(Language::Python3)));
        assert_eq!(inputs("b"), Some(identity.inputs(Language::Python3)));
        assert_eq!(inputs("c"), None);
        assert_eq!(
            declarations.resources[&Address::new(Kind::BaseImage, "py")].build_inputs,
            None
        );
    }
}
