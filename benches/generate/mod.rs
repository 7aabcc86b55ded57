//! Declarations of any size for the benchmarks, in two layouts:
//! - [`declarations`]: N/10 base images and the rest images, about 500 documents a file, base
//!   images in one folder and images over four team folders. A third of the images name a
//!   shared manifest with `@file`, a third have a small inline manifest.
//! - [`flat`]: one folder, one file per image, each naming a manifest of its own with `@file`
//!   beside it, and the base images (a tenth as many) in one file there.
//!
//! In both, a quarter of the images have system packages and half have tags.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use dispatch::model::Language;

const DOCS_PER_FILE: usize = 500;
const TEAMS: usize = 4;

const LANGUAGES: [Language; 4] = Language::ALL;

/// The shared manifest file each language's images refer to with `@file`, and its text.
fn manifest_file(language: usize) -> (&'static str, &'static str) {
    let text = match language {
        0 => {
            "numpy==1.26.4\npandas==2.2.2\nrequests>=2.31,<3\nboto3==1.34.100\npydantic>=2\n\
             structlog==24.1.0\nhttpx==0.27.0\n"
        }
        1 => {
            "{\n  \"name\": \"fn\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n    \
             \"axios\": \"^1.6.8\",\n    \"lodash\": \"^4.17.21\",\n    \"pino\": \"^8.20.0\"\n  }\n}\n"
        }
        2 => {
            "<project>\n  <modelVersion>4.0.0</modelVersion>\n  <groupId>io.example</groupId>\n  \
             <artifactId>fn</artifactId>\n  <version>1.0</version>\n  <dependencies>\n    \
             <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId>\
             <version>33.1.0-jre</version></dependency>\n  </dependencies>\n</project>\n"
        }
        _ => "@{\n    'Az.Accounts' = '2.17.0'\n    'Pester' = '5.5.0'\n}\n",
    };
    (LANGUAGES[language].facts().manifest, text)
}

/// An inline manifest, a little different per image.
fn inline_manifest(language: usize, i: usize) -> String {
    match language {
        0 => format!(
            "numpy==1.26.{}\nrequests>=2.31\nclick==8.1.{}\n",
            i % 5,
            i % 8
        ),
        1 => format!(
            "{{\"dependencies\": {{\"express\": \"^4.19.{}\", \"uuid\": \"^9.0.{}\"}}}}\n",
            i % 3,
            i % 2
        ),
        2 => format!(
            "<project><dependencies><dependency>junit:junit:4.13.{}</dependency></dependencies></project>\n",
            i % 3
        ),
        _ => format!("# modules\n@{{ 'PSReadLine' = '2.3.{}' }}\n", i % 5),
    }
}

const PACKAGES: [(&str, Option<&str>); 6] = [
    ("curl", None),
    ("git", Some("1:2.39.2-1.1")),
    ("libpq-dev", None),
    ("ca-certificates", None),
    ("jq", Some("1.6-2.1")),
    ("openssl", Some("3.0.11-1~deb12u2")),
];

fn base_name(j: usize) -> String {
    format!("base-{j:05}")
}

fn base_doc(out: &mut String, j: usize) {
    let language = LANGUAGES[j % LANGUAGES.len()];
    let _ = writeln!(out, "kind: BaseImage");
    let _ = writeln!(out, "name: {}", base_name(j));
    let _ = writeln!(
        out,
        "dockerUrl: 127.0.0.1:5000/dispatch/{language}-base-{j}:{}",
        1 + j % 3
    );
    let _ = writeln!(out, "language: {language}");
    if j.is_multiple_of(2) {
        let _ = writeln!(
            out,
            "tags:\n  - key: role\n    value: base\n  - key: owner\n    value: platform-team"
        );
    }
}

/// An image; with `own`, naming that manifest file with `@file`, else as the third it is in.
fn image_doc(out: &mut String, i: usize, bases: usize, own: Option<&str>) {
    let base = i % bases;
    let language = base % LANGUAGES.len();
    let _ = writeln!(out, "kind: Image");
    let _ = writeln!(out, "name: image-{i:06}");
    let _ = writeln!(out, "baseImageName: {}", base_name(base));
    match (own, i % 3) {
        (Some(own), _) => {
            let _ = writeln!(out, "runtimeDependencies:\n  manifest: '@{own}'");
        }
        // A shared `@file` manifest next to the YAML.
        (None, 0) => {
            let _ = writeln!(
                out,
                "runtimeDependencies:\n  manifest: '@{}'",
                manifest_file(language).0
            );
        }
        // A small inline manifest.
        (None, 1) => {
            let _ = writeln!(out, "runtimeDependencies:\n  manifest: |");
            for line in inline_manifest(language, i).lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        _ => {}
    }
    if i.is_multiple_of(4) {
        let _ = writeln!(out, "systemDependencies:\n  packages:");
        for k in 0..1 + i % 3 {
            let (name, version) = PACKAGES[(i + k) % PACKAGES.len()];
            let _ = writeln!(out, "    - name: {name}");
            if let Some(version) = version {
                let _ = writeln!(out, "      version: \"{version}\"");
            }
        }
    }
    if i % 2 == 1 {
        let _ = writeln!(
            out,
            "tags:\n  - key: team\n    value: team-{}\n  - key: function\n    value: fn-{i}",
            i % TEAMS
        );
    }
}

/// What was written.
pub struct Written {
    pub bases: usize,
    pub images: usize,
    pub files: usize,
    pub bytes: usize,
}

/// Writes files, counting them.
#[derive(Default)]
struct Writer {
    files: usize,
    bytes: usize,
}

impl Writer {
    fn write(&mut self, path: PathBuf, text: &str) {
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.files += 1;
        self.bytes += text.len();
    }

    /// `bases` base images, [`DOCS_PER_FILE`] a file, in `dir`.
    fn bases(&mut self, dir: &Path, bases: usize) {
        fs::create_dir_all(dir).expect("create dir");
        for (f, chunk) in (0..bases)
            .collect::<Vec<_>>()
            .chunks(DOCS_PER_FILE)
            .enumerate()
        {
            let mut text = String::from("# Base images: an OS plus a language runtime.\n");
            for (k, &j) in chunk.iter().enumerate() {
                if k > 0 {
                    text.push_str("---\n");
                }
                base_doc(&mut text, j);
            }
            self.write(dir.join(format!("bases-{f:03}.yaml")), &text);
        }
    }

    fn written(self, bases: usize, images: usize) -> Written {
        Written {
            bases,
            images,
            files: self.files,
            bytes: self.bytes,
        }
    }
}

/// Writes the declarations of `size` resources under `root`.
pub fn declarations(root: &Path, size: usize) -> Written {
    let bases = (size / 10).max(1);
    let images = size - bases;
    let mut out = Writer::default();
    out.bases(&root.join("base-images"), bases);
    for team in 0..TEAMS {
        let team_dir = root.join("images").join(format!("team-{team}"));
        fs::create_dir_all(&team_dir).expect("create dir");
        for language in 0..LANGUAGES.len() {
            let (name, text) = manifest_file(language);
            out.write(team_dir.join(name), text);
        }
    }
    for (f, chunk) in (0..images)
        .collect::<Vec<_>>()
        .chunks(DOCS_PER_FILE)
        .enumerate()
    {
        let mut text = String::from("# Images: a base image plus what a function needs.\n");
        for (k, &i) in chunk.iter().enumerate() {
            if k > 0 {
                text.push_str("---\n");
            }
            image_doc(&mut text, i, bases, None);
        }
        let team_dir = root.join("images").join(format!("team-{}", f % TEAMS));
        out.write(team_dir.join(format!("images-{f:03}.yaml")), &text);
    }
    out.written(bases, images)
}

/// The file [`flat`] declares image `i` in.
#[allow(dead_code, reason = "only the diff bench uses the flat layout")]
pub fn flat_file(i: usize) -> String {
    format!("image-{i:06}.yaml")
}

/// Writes `images` images and a tenth as many base images in the folder `root`, the flat
/// layout: a file per image, each naming its own manifest beside it.
#[allow(dead_code, reason = "only the diff bench uses the flat layout")]
pub fn flat(root: &Path, images: usize) -> Written {
    let bases = (images / 10).max(1);
    let mut out = Writer::default();
    out.bases(root, bases);
    for i in 0..images {
        let language = (i % bases) % LANGUAGES.len();
        let manifest = format!("image-{i:06}-{}", manifest_file(language).0);
        let mut text = String::new();
        image_doc(&mut text, i, bases, Some(&manifest));
        out.write(root.join(flat_file(i)), &text);
        out.write(root.join(&manifest), &inline_manifest(language, i));
    }
    out.written(bases, images)
}
