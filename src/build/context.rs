//! From an `Image` declaration to a reproducible Docker build context: the Dockerfile and the
//! files it copies ([`super::dockerfile`]), the build args it needs, a deterministic tar of it
//! all and the digest that names the result.
//!
//! Reproducible means: equal [`BuildInputs`] give byte-identical tars and the same digest, so an
//! image's tag (`<destination>/<name>:<digest>`, [`super::naming`]) changes exactly when
//! something it is built from changes. Build args from `dispatch.toml` (package index URLs, say)
//! are not inputs: the caller adds them with [`BuildContext::with_args`], and they change the
//! digest only when `[build] identity-args` declares them part of the identity
//! ([`super::identity`]).

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::dockerfile::{
    ARG_BASE_IMAGE, ARG_PACKAGES_FILE, ARG_SYSTEM_PACKAGES_FILE, PACKAGES_FILE,
    SYSTEM_PACKAGES_FILE, Template, dockerfile, manifest_text, packages, system_packages_file,
};
use crate::model::{ImageSpec, Language};

/// Bump when the context layout or a built-in Dockerfile changes meaning, so every image's
/// digest (and so its tag) changes with it.
const FORMAT: &str = "dispatch-build-context/1";

/// Everything an image is built from. Two equal `BuildInputs` give byte-identical contexts and
/// the same digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInputs<'a> {
    /// The base image pinned by digest, `repo@sha256:...`, or an image id `sha256:...` when the
    /// base has no registry digest.
    pub base: &'a str,
    pub language: Language,
    /// `runtimeDependencies.manifest` and `systemDependencies.packages`.
    pub image: &'a ImageSpec,
    /// Where the Dockerfile comes from.
    pub template: Template,
    /// The digests of the build args declared part of the identity, by name
    /// ([`crate::model::inputs::Inputs::args`]).
    pub identity_args: &'a BTreeMap<String, String>,
}

/// A build context ready for the engine to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    /// The context as a deterministic tar, `Dockerfile` at its root.
    pub tar: Vec<u8>,
    /// Hex sha256 over all inputs: base, language, every context file (the Dockerfile, the
    /// manifest, the packages) and the build args below.
    pub digest: String,
    /// The build args the Dockerfile needs (empty for the built-in Dockerfiles, which name the
    /// base literally).
    pub build_args: HashMap<String, String>,
}

impl BuildContext {
    /// The build args to build with: `extra` (from `dispatch.toml`) plus this context's own,
    /// which win, so a stray `BASE_IMAGE` in the settings cannot swap the base.
    pub fn with_args(&self, extra: &HashMap<String, String>) -> HashMap<String, String> {
        let mut args = extra.clone();
        args.extend(self.build_args.clone());
        args
    }
}

/// Builds the context for `inputs`: deterministic, and named by a digest of everything in it.
pub fn context(inputs: &BuildInputs) -> BuildContext {
    let manifest = manifest_text(inputs.image);
    let packages = packages(inputs.image);
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut build_args = HashMap::new();
    match &inputs.template {
        Template::BuiltIn => {
            files.insert(
                "Dockerfile".into(),
                dockerfile(inputs.base, inputs.language, packages, manifest).into_bytes(),
            );
            if let Some(manifest) = manifest {
                files.insert(
                    inputs.language.facts().manifest.into(),
                    manifest.as_bytes().to_vec(),
                );
            }
        }
        Template::Override(_) | Template::FromBase(_) => {
            match &inputs.template {
                Template::Override(text) => {
                    files.insert("Dockerfile".into(), text.as_bytes().to_vec());
                }
                Template::FromBase(template) => {
                    for (path, content) in template {
                        if let Some(path) = clean_path(path) {
                            files.insert(path, content.clone());
                        }
                    }
                }
                Template::BuiltIn => unreachable!(),
            }
            // Ours win over a template file of the same name.
            files.insert(
                SYSTEM_PACKAGES_FILE.into(),
                system_packages_file(packages).into_bytes(),
            );
            files.insert(
                PACKAGES_FILE.into(),
                manifest.unwrap_or_default().as_bytes().to_vec(),
            );
            build_args.insert(ARG_BASE_IMAGE.to_string(), inputs.base.to_string());
            build_args.insert(
                ARG_SYSTEM_PACKAGES_FILE.to_string(),
                SYSTEM_PACKAGES_FILE.to_string(),
            );
            build_args.insert(ARG_PACKAGES_FILE.to_string(), PACKAGES_FILE.to_string());
        }
    }
    let digest = digest(inputs, &files, &build_args);
    BuildContext {
        tar: tar(&files),
        digest,
        build_args,
    }
}

/// A template path as a relative `a/b` path, or `None` for one that would leave the context.
fn clean_path(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Hex sha256 over an unambiguous (length-prefixed) encoding of every input.
fn digest(
    inputs: &BuildInputs,
    files: &BTreeMap<String, Vec<u8>>,
    build_args: &HashMap<String, String>,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(FORMAT.as_bytes());
    field(inputs.language.as_str().as_bytes());
    field(inputs.base.as_bytes());
    field(
        match inputs.template {
            Template::BuiltIn => "built-in",
            Template::Override(_) => "override",
            Template::FromBase(_) => "from-base",
        }
        .as_bytes(),
    );
    field(&(files.len() as u64).to_le_bytes());
    for (path, content) in files {
        field(path.as_bytes());
        field(content);
    }
    let args: BTreeMap<_, _> = build_args.iter().collect();
    field(&(args.len() as u64).to_le_bytes());
    for (key, value) in args {
        field(key.as_bytes());
        field(value.as_bytes());
    }
    // Only when there are any, so that an image built before they existed keeps its digest.
    if !inputs.identity_args.is_empty() {
        field(b"identity-args");
        field(&(inputs.identity_args.len() as u64).to_le_bytes());
        for (key, value) in inputs.identity_args {
            field(key.as_bytes());
            field(value.as_bytes());
        }
    }
    format!("{:x}", hasher.finalize())
}

/// A tar of `files` that depends on nothing else: entries sorted by path, mode 0644, mtime 0,
/// uid/gid 0, no user or group names.
fn tar(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        builder
            .append_data(&mut header, path, content.as_slice())
            .expect("writing a tar to memory cannot fail for a clean relative path");
    }
    builder
        .into_inner()
        .expect("writing a tar to memory cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::dockerfile::tests::{BASE, spec};

    const NO_ARGS: &BTreeMap<String, String> = &BTreeMap::new();

    fn inputs<'a>(image: &'a ImageSpec, language: Language, template: Template) -> BuildInputs<'a> {
        BuildInputs {
            base: BASE,
            language,
            image,
            template,
            identity_args: NO_ARGS,
        }
    }

    /// A tar entry: (path, mode, mtime, uid, gid, user, group, content).
    type Entry = (String, u32, u64, u64, u64, String, String, Vec<u8>);

    fn entries(tar: &[u8]) -> Vec<Entry> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut content = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut content).unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                    h.uid().unwrap(),
                    h.gid().unwrap(),
                    String::from_utf8_lossy(h.username_bytes().unwrap_or_default()).into_owned(),
                    String::from_utf8_lossy(h.groupname_bytes().unwrap_or_default()).into_owned(),
                    content,
                )
            })
            .collect()
    }

    #[test]
    fn built_in_context_holds_the_dockerfile_and_the_manifest() {
        let image = spec(&[("curl", None)], Some("requests==2.31.0\n"));
        let ctx = context(&inputs(&image, Language::Python3, Template::BuiltIn));
        let files: Vec<_> = entries(&ctx.tar)
            .into_iter()
            .map(|e| (e.0, String::from_utf8(e.7).unwrap()))
            .collect();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].0, "Dockerfile");
        assert!(files[0].1.contains(&format!("FROM {BASE}\n")));
        assert_eq!(
            files[1],
            ("requirements.txt".into(), "requests==2.31.0\n".into())
        );
        assert!(ctx.build_args.is_empty());
        assert_eq!(ctx.digest.len(), 64);
    }

    #[test]
    fn template_contexts_add_the_two_files_and_the_three_args() {
        let image = spec(&[("curl", Some("7.88")), ("git", None)], Some("x==1\n"));
        let template = Template::FromBase(vec![
            (
                "Dockerfile".into(),
                b"ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n".to_vec(),
            ),
            ("scripts/install.sh".into(), b"echo hi\n".to_vec()),
            ("./packages.txt".into(), b"from the template\n".to_vec()),
            ("../escape".into(), b"no\n".to_vec()),
        ]);
        let ctx = context(&inputs(&image, Language::Python3, template));
        let files: Vec<_> = entries(&ctx.tar)
            .into_iter()
            .map(|e| (e.0, String::from_utf8(e.7).unwrap()))
            .collect();
        assert_eq!(
            files,
            [
                ("Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n"),
                ("packages.txt", "x==1\n"),
                ("scripts/install.sh", "echo hi\n"),
                ("system-packages.txt", "curl 7.88\ngit\n"),
            ]
            .map(|(p, c)| (p.to_string(), c.to_string()))
        );
        let args: BTreeMap<_, _> = ctx.build_args.iter().collect();
        assert_eq!(
            format!("{args:?}"),
            format!(
                r#"{{"BASE_IMAGE": "{BASE}", "PACKAGES_FILE": "packages.txt", "SYSTEM_PACKAGES_FILE": "system-packages.txt"}}"#
            )
        );

        let ctx = context(&inputs(
            &image,
            Language::Python3,
            Template::Override("FROM ${BASE_IMAGE}\n".into()),
        ));
        let paths: Vec<_> = entries(&ctx.tar).into_iter().map(|e| e.0).collect();
        assert_eq!(paths, ["Dockerfile", "packages.txt", "system-packages.txt"]);
        assert_eq!(ctx.build_args.len(), 3);
    }

    #[test]
    fn tar_is_deterministic() {
        let image = spec(&[("curl", None)], Some("x==1\n"));
        let long = format!("{}/file", "d".repeat(150));
        let template = Template::FromBase(vec![
            ("z".into(), b"last".to_vec()),
            ("Dockerfile".into(), b"FROM ${BASE_IMAGE}\n".to_vec()),
            (long.clone(), b"long path".to_vec()),
        ]);
        let a = context(&inputs(&image, Language::Python3, template.clone()));
        let b = context(&inputs(&image, Language::Python3, template));
        assert_eq!(a, b);
        let entries = entries(&a.tar);
        let paths: Vec<_> = entries.iter().map(|e| e.0.clone()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        assert!(paths.contains(&long));
        for (path, mode, mtime, uid, gid, user, group, _) in entries {
            assert_eq!(
                (mode, mtime, uid, gid, user.as_str(), group.as_str()),
                (0o644, 0, 0, 0, "", ""),
                "{path}"
            );
        }
        // Pinned bytes: a change here means every image's context (not its digest) changed.
        let built_in = context(&inputs(&image, Language::Python3, Template::BuiltIn));
        insta::assert_snapshot!(
            "built_in_tar_sha256",
            format!("{:x}", Sha256::digest(&built_in.tar))
        );
    }

    #[test]
    fn digest_changes_with_each_input() {
        let image = spec(&[("curl", Some("1"))], Some("x==1\n"));
        let start = context(&inputs(&image, Language::Python3, Template::BuiltIn)).digest;
        let mut seen = vec![start.clone()];
        let mut differs = |what: &str, digest: String| {
            assert!(!seen.contains(&digest), "{what} did not change the digest");
            seen.push(digest);
        };

        let mut other = inputs(&image, Language::Python3, Template::BuiltIn);
        other.base = "127.0.0.1:5000/base/python3@sha256:1111111111111111111111111111111111111111111111111111111111111111";
        differs("base", context(&other).digest);
        differs(
            "language",
            context(&inputs(&image, Language::Nodejs, Template::BuiltIn)).digest,
        );
        let manifest = spec(&[("curl", Some("1"))], Some("x==2\n"));
        differs(
            "manifest",
            context(&inputs(&manifest, Language::Python3, Template::BuiltIn)).digest,
        );
        let version = spec(&[("curl", Some("2"))], Some("x==1\n"));
        differs(
            "package version",
            context(&inputs(&version, Language::Python3, Template::BuiltIn)).digest,
        );
        let extra = spec(&[("curl", Some("1")), ("git", None)], Some("x==1\n"));
        differs(
            "packages",
            context(&inputs(&extra, Language::Python3, Template::BuiltIn)).digest,
        );
        let override_a = Template::Override("FROM ${BASE_IMAGE}\n".into());
        differs(
            "override template",
            context(&inputs(&image, Language::Python3, override_a)).digest,
        );
        let override_b = Template::Override("FROM ${BASE_IMAGE}\nRUN true\n".into());
        differs(
            "override text",
            context(&inputs(&image, Language::Python3, override_b)).digest,
        );
        let from_base = |content: &[u8]| {
            Template::FromBase(vec![
                ("Dockerfile".into(), b"FROM ${BASE_IMAGE}\n".to_vec()),
                ("helper.sh".into(), content.to_vec()),
            ])
        };
        differs(
            "base template",
            context(&inputs(&image, Language::Python3, from_base(b"a"))).digest,
        );
        differs(
            "base template file",
            context(&inputs(&image, Language::Python3, from_base(b"b"))).digest,
        );
        let mut template_base = inputs(&image, Language::Python3, from_base(b"b"));
        template_base.base =
            "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        differs("base of a template build", context(&template_base).digest);
        let python = BTreeMap::from([("PYTHON".to_string(), "sha256:11".to_string())]);
        let mut with_args = inputs(&image, Language::Python3, Template::BuiltIn);
        with_args.identity_args = &python;
        differs("an identity arg", context(&with_args).digest);
        let other = BTreeMap::from([("PYTHON".to_string(), "sha256:12".to_string())]);
        with_args.identity_args = &other;
        differs("an identity arg's value", context(&with_args).digest);
        // Moving bytes between fields is a different input, not the same concatenation.
        let a = Template::FromBase(vec![("ab".into(), b"c".to_vec())]);
        let b = Template::FromBase(vec![("a".into(), b"bc".to_vec())]);
        assert_ne!(
            context(&inputs(&image, Language::Python3, a)).digest,
            context(&inputs(&image, Language::Python3, b)).digest
        );

        // Not inputs: the build args from dispatch.toml.
        let ctx = context(&inputs(&image, Language::Python3, Template::BuiltIn));
        let user_args = HashMap::from([
            (
                "PIP_INDEX_URL".to_string(),
                "http://127.0.0.1:1/simple".to_string(),
            ),
            ("BASE_IMAGE".to_string(), "evil".to_string()),
        ]);
        let args = ctx.with_args(&user_args);
        assert_eq!(args["PIP_INDEX_URL"], "http://127.0.0.1:1/simple");
        assert_eq!(ctx.digest, start);
        // The context's own args win over the settings'.
        let template_ctx = context(&inputs(
            &image,
            Language::Python3,
            Template::Override("FROM ${BASE_IMAGE}\n".into()),
        ));
        assert_eq!(template_ctx.with_args(&user_args)["BASE_IMAGE"], BASE);
    }
}
