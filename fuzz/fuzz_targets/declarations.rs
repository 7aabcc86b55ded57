//! Declaration sets with a valid shape and arbitrary values: kinds, names, references,
//! languages, tags, manifests (inline or `@file`), packages, written as YAML with every scalar
//! a double-quoted string (JSON's quoting), so that values reach the checks past the parser.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Set {
    documents: Vec<Document>,
    /// The text of `r.txt`, which manifests may name.
    referenced: String,
}

#[derive(Debug, Arbitrary)]
enum Document {
    Base {
        name: Name,
        url: Url,
        language: u8,
        tags: Vec<(String, String)>,
    },
    Image {
        name: Name,
        base: Name,
        manifest: Option<Manifest>,
        packages: Vec<(String, Option<String>)>,
        tags: Vec<(String, String)>,
    },
    /// Anything at all, as a document.
    Raw(String),
}

/// Mostly names that can be valid, sometimes anything.
#[derive(Debug, Arbitrary)]
enum Name {
    Small(u8),
    Any(String),
}

#[derive(Debug, Arbitrary)]
enum Url {
    Registry(u8, u8),
    Any(String),
}

#[derive(Debug, Arbitrary)]
enum Manifest {
    Inline(String),
    File,
    Any(String),
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string quotes")
}

fn name(name: &Name) -> String {
    match name {
        Name::Small(n) => quoted(&format!("r{}", n % 8)),
        Name::Any(text) => quoted(text),
    }
}

fn tags(out: &mut String, tags: &[(String, String)]) {
    if !tags.is_empty() {
        out.push_str("tags:\n");
        for (key, value) in tags {
            out.push_str(&format!(
                "  - key: {}\n    value: {}\n",
                quoted(key),
                quoted(value)
            ));
        }
    }
}

fn yaml(set: &Set) -> String {
    let languages = ["python3", "nodejs", "java", "powershell", "ruby"];
    let mut out = String::new();
    for document in &set.documents {
        out.push_str("---\n");
        match document {
            Document::Base {
                name: n,
                url,
                language,
                tags: t,
            } => {
                out.push_str(&format!("kind: BaseImage\nname: {}\n", name(n)));
                let url = match url {
                    Url::Registry(r, tag) => format!("127.0.0.1:5000/base/b{}:{}", r % 4, tag % 3),
                    Url::Any(text) => text.clone(),
                };
                out.push_str(&format!("dockerUrl: {}\n", quoted(&url)));
                let language = languages[*language as usize % languages.len()];
                out.push_str(&format!("language: {language}\n"));
                tags(&mut out, t);
            }
            Document::Image {
                name: n,
                base,
                manifest,
                packages,
                tags: t,
            } => {
                out.push_str(&format!(
                    "kind: Image\nname: {}\nbaseImageName: {}\n",
                    name(n),
                    name(base)
                ));
                if let Some(manifest) = manifest {
                    let text = match manifest {
                        Manifest::Inline(text) => text.clone(),
                        Manifest::File => "@r.txt".into(),
                        Manifest::Any(text) => format!("@{text}"),
                    };
                    out.push_str(&format!(
                        "runtimeDependencies:\n  manifest: {}\n",
                        quoted(&text)
                    ));
                }
                if !packages.is_empty() {
                    out.push_str("systemDependencies:\n  packages:\n");
                    for (name, version) in packages {
                        out.push_str(&format!("    - name: {}\n", quoted(name)));
                        if let Some(version) = version {
                            out.push_str(&format!("      version: {}\n", quoted(version)));
                        }
                    }
                }
                tags(&mut out, t);
            }
            Document::Raw(text) => {
                out.push_str(text);
                out.push('\n');
            }
        }
    }
    out
}

fuzz_target!(|set: Set| {
    let files = vec![
        ("all.yaml".to_string(), yaml(&set).into_bytes()),
        ("r.txt".to_string(), set.referenced.clone().into_bytes()),
    ];
    dispatch_fuzz::exercise(files);
});
