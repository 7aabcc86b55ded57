//! The schema of the declarations: which fields each document and mapping has, and how each
//! value is checked, every problem reported at its own position with a hint.

use std::path::Path;

use super::yaml::{Node, Value};
use super::{Loader, Named};
use crate::model::diag::{Location, Pos, did_you_mean, suggest};
use crate::model::language::UnknownLanguage;
use crate::model::reference::ImageRef;
use crate::model::{
    Address, BaseImageSpec, ImageSpec, Kind, Language, NAME_RULE, PACKAGE_NAME_PUNCTUATION,
    PACKAGE_VERSION_PUNCTUATION, Package, RebasePolicy, Resource, RuntimeDependencies, Spec,
    SystemDependencies, Tag, valid_name, valid_package_name, valid_package_version,
};

impl Loader<'_> {
    /// Converts one document to a resource, recording every problem in it.
    pub(super) fn document(&mut self, file: &Path, doc: &Node) -> Option<Named> {
        self.manifest_ref = None;
        let mut fields = self.fields(file, doc, &DOCUMENT)?;
        // By the names a resource's fields have: a document with others is invalid anyway.
        let positions = fields
            .entries
            .iter()
            .filter_map(|(name, _, value)| {
                let mut known = BASE_IMAGE.fields.iter().chain(IMAGE.fields);
                Some((*known.find(|f| *f == name)?, value.as_ref()?.pos))
            })
            .collect();
        let kind = match fields.take("kind") {
            None => {
                self.error(file, doc.pos, "missing field `kind`")
                    .set_hint(DOCUMENT.hint);
                return None;
            }
            Some(node) => {
                let text = self.text(file, "kind", node)?;
                if text == "Policy" {
                    let policy = self.policy(file, doc, fields)?;
                    self.policies.push(policy);
                    return None;
                }
                match Kind::ALL.into_iter().find(|k| k.as_str() == text) {
                    Some(kind) => kind,
                    None => {
                        let kinds = [Kind::BaseImage.as_str(), Kind::Image.as_str(), "Policy"];
                        let hint = suggest(text, kinds).unwrap_or_else(|| {
                            "dispatch knows `BaseImage`, `Image` and `Policy`".to_string()
                        });
                        self.error(file, node.pos, format!("unknown kind `{text}`"))
                            .hint = Some(hint);
                        return None;
                    }
                }
            }
        };
        let shape = shape(kind);
        let name = self
            .require(file, doc, &mut fields, "name", shape)
            .and_then(|node| self.name(file, node));
        // Read here rather than in `image`: the check that the base image exists needs it
        // even when the rest of the Image is invalid.
        let base = match kind {
            Kind::BaseImage => None,
            Kind::Image => self
                .require(file, doc, &mut fields, "baseImageName", shape)
                .and_then(|node| Some((self.string(file, "baseImageName", node)?, node.pos))),
        };
        let spec = match kind {
            Kind::BaseImage => self.base_image(file, doc, &mut fields).map(Spec::BaseImage),
            Kind::Image => {
                let base_image_name = base.as_ref().map(|(name, _)| name.clone());
                self.image(file, base_image_name, &mut fields)
                    .map(Spec::Image)
            }
        };
        self.unknown_fields(file, fields, shape);
        let name = name?;
        Some(Named {
            address: Address::new(kind, name.clone()),
            origin: Location {
                file: file.to_path_buf(),
                pos: doc.pos,
            },
            base,
            // Its digest too, here on the worker thread that checked it: the planner compares
            // every declared resource's digest with the recorded one.
            resource: spec.map(|spec| {
                let resource = Resource { name, spec };
                (resource.digest(), resource)
            }),
            fields: positions,
            manifest: self.manifest_ref.take(),
        })
    }

    /// A `name:` value, held to the one rule every name follows.
    pub(super) fn name(&mut self, file: &Path, node: &Node) -> Option<String> {
        let name = self.string(file, "name", node)?;
        if valid_name(&name) {
            return Some(name);
        }
        self.error(file, node.pos, format!("invalid name {name:?}"))
            .set_hint(NAME_RULE);
        None
    }

    fn base_image(
        &mut self,
        file: &Path,
        doc: &Node,
        fields: &mut Fields<'_>,
    ) -> Option<BaseImageSpec> {
        let docker_url = self
            .require(file, doc, fields, "dockerUrl", &BASE_IMAGE)
            .and_then(|node| {
                let text = self.string(file, "dockerUrl", node)?;
                ImageRef::parse(&text)
                    .map_err(|reason| {
                        self.error(
                            file,
                            node.pos,
                            format!("invalid image reference {text:?}: {reason}"),
                        )
                        .set_hint(DOCKER_URL_HINT);
                    })
                    .ok()
            });
        let language = self
            .require(file, doc, fields, "language", &BASE_IMAGE)
            .and_then(|node| {
                let text = self.string(file, "language", node)?;
                text.parse()
                    .map_err(|e: UnknownLanguage| {
                        self.error(file, node.pos, e.to_string()).hint =
                            suggest(&text, Language::ALL.map(Language::as_str));
                    })
                    .ok()
            });
        let tags = self.tags(file, fields);
        let rebase = match fields.take("rebase") {
            None => Some(RebasePolicy::Auto),
            Some(node) => self.text(file, "rebase", node).and_then(|text| {
                let found = RebasePolicy::ALL.into_iter().find(|p| p.as_str() == text);
                if found.is_none() {
                    self.error(file, node.pos, format!("unknown rebase policy `{text}`"))
                        .hint = Some(
                        suggest(text, RebasePolicy::ALL.map(RebasePolicy::as_str))
                            .unwrap_or_else(|| REBASE_HINT.to_string()),
                    );
                }
                found
            }),
        };
        Some(BaseImageSpec {
            docker_url: docker_url?,
            language: language?,
            tags: tags?,
            rebase: rebase?,
        })
    }

    fn image(
        &mut self,
        file: &Path,
        base_image_name: Option<String>,
        fields: &mut Fields<'_>,
    ) -> Option<ImageSpec> {
        let runtime_dependencies = match fields.take("runtimeDependencies") {
            None => Some(None),
            Some(node) => self.runtime_dependencies(file, node).map(Some),
        };
        let system_dependencies = match fields.take("systemDependencies") {
            None => Some(None),
            Some(node) => self.system_dependencies(file, node).map(Some),
        };
        let tags = self.tags(file, fields);
        Some(ImageSpec {
            base_image_name: base_image_name?,
            runtime_dependencies: runtime_dependencies?,
            system_dependencies: system_dependencies?,
            tags: tags?,
        })
    }

    fn runtime_dependencies(&mut self, file: &Path, node: &Node) -> Option<RuntimeDependencies> {
        let mut fields = self.fields(file, node, &RUNTIME_DEPENDENCIES)?;
        let manifest = self
            .require(file, node, &mut fields, "manifest", &RUNTIME_DEPENDENCIES)
            .and_then(|value| {
                let text = self.string(file, "manifest", value)?;
                self.manifest_ref = text
                    .strip_prefix('@')
                    .filter(|t| !t.starts_with('@'))
                    .map(str::to_string);
                self.resolve_text(file, value.pos, text)
            });
        self.unknown_fields(file, fields, &RUNTIME_DEPENDENCIES);
        Some(RuntimeDependencies {
            manifest: manifest?,
        })
    }

    fn system_dependencies(&mut self, file: &Path, node: &Node) -> Option<SystemDependencies> {
        let mut fields = self.fields(file, node, &SYSTEM_DEPENDENCIES)?;
        let packages = match fields.take("packages") {
            None => Some(Vec::new()),
            Some(list) => self
                .list(file, "packages", list, &PACKAGE)
                .and_then(|items| {
                    let packages: Vec<_> =
                        items.iter().map(|item| self.package(file, item)).collect();
                    packages.into_iter().collect::<Option<Vec<_>>>()
                }),
        };
        self.unknown_fields(file, fields, &SYSTEM_DEPENDENCIES);
        Some(SystemDependencies {
            packages: packages?,
        })
    }

    fn package(&mut self, file: &Path, node: &Node) -> Option<Package> {
        let mut fields = self.fields(file, node, &PACKAGE)?;
        let name = self
            .require(file, node, &mut fields, "name", &PACKAGE)
            .and_then(|value| {
                let name = self.string(file, "name", value)?;
                self.checked(
                    file,
                    value.pos,
                    name,
                    "package name",
                    valid_package_name,
                    || format!("a package name is letters, digits and `{PACKAGE_NAME_PUNCTUATION}`, starting with a letter or digit"),
                )
            });
        let version = match fields.take("version") {
            None => Some(None),
            Some(value) => self
                .string(file, "version", value)
                .and_then(|v| {
                    self.checked(
                        file,
                        value.pos,
                        v,
                        "package version",
                        valid_package_version,
                        || format!("a version is letters, digits and `{PACKAGE_VERSION_PUNCTUATION}`, starting with a letter or digit"),
                    )
                })
                .map(Some),
        };
        self.unknown_fields(file, fields, &PACKAGE);
        Some(Package {
            name: name?,
            version: version?,
        })
    }

    fn checked(
        &mut self,
        file: &Path,
        pos: Pos,
        value: String,
        what: &str,
        valid: fn(&str) -> bool,
        rule: impl FnOnce() -> String,
    ) -> Option<String> {
        if valid(&value) {
            return Some(value);
        }
        self.error(file, pos, format!("invalid {what} {value:?}"))
            .hint = Some(rule());
        None
    }

    fn tags(&mut self, file: &Path, fields: &mut Fields<'_>) -> Option<Vec<Tag>> {
        let Some(node) = fields.take("tags") else {
            return Some(Vec::new());
        };
        if node.value == Value::Null {
            return Some(Vec::new());
        }
        let items = self.list(file, "tags", node, &TAG)?;
        let tags: Vec<_> = items
            .iter()
            .map(|item| {
                let mut fields = self.fields(file, item, &TAG)?;
                let mut part = |this: &mut Self, key: &str| {
                    let value = this.require(file, item, &mut fields, key, &TAG)?;
                    this.string(file, key, value)
                };
                let key = part(self, "key");
                let value = part(self, "value");
                self.unknown_fields(file, fields, &TAG);
                Some(Tag {
                    key: key?,
                    value: value?,
                })
            })
            .collect();
        tags.into_iter().collect()
    }

    /// Resolves `@path` (relative to the folder of `file`) and `@@literal`.
    pub(super) fn require<'n>(
        &mut self,
        file: &Path,
        node: &Node,
        fields: &mut Fields<'n>,
        key: &str,
        shape: &Shape,
    ) -> Option<&'n Node<'n>> {
        let value = fields.take(key);
        if value.is_none() && !fields.misspells(key, shape.fields) {
            self.error(
                file,
                node.pos,
                format!("missing field `{key}` in {}", shape.name),
            )
            .set_hint(shape.hint);
        }
        value
    }

    pub(super) fn fields<'n>(
        &mut self,
        file: &Path,
        node: &'n Node<'n>,
        shape: &Shape,
    ) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                file,
                node.pos,
                format!(
                    "{} must be a mapping, found {}",
                    shape.noun,
                    node.value.kind()
                ),
            )
            .set_hint(shape.hint);
            return None;
        };
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
        };
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                self.error(
                    file,
                    key.pos,
                    format!("a field name must be a string, found {}", key.value.kind()),
                );
                continue;
            };
            let name: &str = name;
            if let Some((_, first, _)) = fields.entries.iter().find(|(n, _, _)| *n == name) {
                let message = format!(
                    "duplicate field `{name}`: it is already set at line {}",
                    first.line
                );
                self.error(file, key.pos, message)
                    .set_hint("a field may appear only once in a mapping; delete one of the two");
                continue;
            }
            fields.entries.push((name, key.pos, Some(value)));
        }
        Some(fields)
    }

    pub(super) fn string(&mut self, file: &Path, key: &str, node: &Node) -> Option<String> {
        self.text(file, key, node).map(str::to_string)
    }

    /// [`Self::string`], borrowed from the document.
    pub(super) fn text<'n>(
        &mut self,
        file: &Path,
        key: &str,
        node: &'n Node<'n>,
    ) -> Option<&'n str> {
        match &node.value {
            Value::Str(s) => Some(s),
            other => {
                let hint = match other {
                    Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                        Some(format!("quote the value: {key}: \"...\""))
                    }
                    _ => string_hint(key).map(String::from),
                };
                self.error(
                    file,
                    node.pos,
                    format!("`{key}` must be a string, found {}", other.kind()),
                )
                .hint = hint;
                None
            }
        }
    }

    pub(super) fn list<'n>(
        &mut self,
        file: &Path,
        key: &str,
        node: &'n Node<'n>,
        item: &Shape,
    ) -> Option<&'n [Node<'n>]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            other => {
                self.error(
                    file,
                    node.pos,
                    format!("`{key}` must be a list, found {}", other.kind()),
                )
                .set_hint(item.hint);
                None
            }
        }
    }

    /// Reports the fields nobody took.
    pub(super) fn unknown_fields(&mut self, file: &Path, fields: Fields<'_>, shape: &Shape) {
        for (name, pos, _) in fields
            .entries
            .into_iter()
            .filter(|(_, _, value)| value.is_some())
        {
            let hint = suggest(name, shape.fields.iter().copied()).unwrap_or_else(|| {
                format!("{} fields are: {}", shape.name, shape.fields.join(", "))
            });
            self.error(
                file,
                pos,
                format!("unknown field `{name}` in {}", shape.name),
            )
            .hint = Some(hint);
        }
    }
}

/// The fields of a mapping, taken one by one; what is left at the end is unknown.
pub(super) struct Fields<'n> {
    entries: Vec<(&'n str, Pos, Option<&'n Node<'n>>)>,
}

impl<'n> Fields<'n> {
    pub(super) fn take(&mut self, key: &str) -> Option<&'n Node<'n>> {
        self.entries
            .iter_mut()
            .find(|(name, _, _)| *name == key)
            .and_then(|(_, _, value)| value.take())
    }

    /// Whether a field not taken yet is closer to `key` than to anything else in `allowed`.
    fn misspells(&self, key: &str, allowed: &[&str]) -> bool {
        self.entries.iter().any(|(name, _, value)| {
            value.is_some() && did_you_mean(name, allowed.iter().copied()) == Some(key)
        })
    }
}

/// A kind of mapping in the declarations: its name in messages, its fields, how to write it.
pub(super) struct Shape {
    /// Names one in "... must be a mapping".
    pub(super) noun: &'static str,
    /// Names one in "unknown field `x` in ...".
    pub(super) name: &'static str,
    pub(super) fields: &'static [&'static str],
    pub(super) hint: &'static str,
}

const DOCUMENT: Shape = Shape {
    noun: "a document",
    name: "document",
    fields: &["kind"],
    hint: "start each document with `kind: BaseImage`, `kind: Image` or `kind: Policy`, and separate documents with `---`",
};

const BASE_IMAGE: Shape = Shape {
    noun: "a BaseImage",
    name: "BaseImage",
    fields: &["kind", "name", "dockerUrl", "language", "tags", "rebase"],
    hint: "a BaseImage needs `name`, `dockerUrl` and `language`, and may have `tags` and `rebase`",
};

const REBASE_HINT: &str = "`rebase` is `auto` (the default), `never` or `always`";

const IMAGE: Shape = Shape {
    noun: "an Image",
    name: "Image",
    fields: &[
        "kind",
        "name",
        "baseImageName",
        "runtimeDependencies",
        "systemDependencies",
        "tags",
    ],
    hint: "an Image needs `name` and `baseImageName`, and may have `runtimeDependencies`, `systemDependencies` and `tags`",
};

const RUNTIME_DEPENDENCIES: Shape = Shape {
    noun: "`runtimeDependencies`",
    name: "runtimeDependencies",
    fields: &["manifest"],
    hint: "write `runtimeDependencies:` / `  manifest: '@requirements.txt'` (a file next to this YAML, or the text itself)",
};

const SYSTEM_DEPENDENCIES: Shape = Shape {
    noun: "`systemDependencies`",
    name: "systemDependencies",
    fields: &["packages"],
    hint: "write `systemDependencies:` / `  packages:` / `    - name: curl`",
};

const PACKAGE: Shape = Shape {
    noun: "a package",
    name: "package",
    fields: &["name", "version"],
    hint: "write packages as `- name: curl` items, each with an optional `version: \"7.88.1\"`",
};

const TAG: Shape = Shape {
    noun: "a tag",
    name: "tag",
    fields: &["key", "value"],
    hint: "write tags as `- key: role` / `  value: docs` items",
};

fn shape(kind: Kind) -> &'static Shape {
    match kind {
        Kind::BaseImage => &BASE_IMAGE,
        Kind::Image => &IMAGE,
    }
}

const DOCKER_URL_HINT: &str =
    "write it as [registry/]repository[:tag][@sha256:digest], e.g. 127.0.0.1:5000/base/python3:1";

/// How to write a string field whose name alone does not make that clear.
fn string_hint(key: &str) -> Option<&'static str> {
    match key {
        "kind" => Some(DOCUMENT.hint),
        "dockerUrl" => Some(DOCKER_URL_HINT),
        "manifest" => Some(RUNTIME_DEPENDENCIES.hint),
        "rebase" => Some(REBASE_HINT),
        _ => None,
    }
}
