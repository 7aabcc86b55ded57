//! The languages functions are written in, and what dispatch knows of each, in one table:
//! the manifest readers, the build context and the policies all read [`Language::facts`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::catalog::Ecosystem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python3,
    Nodejs,
    Java,
    Powershell,
}

/// What dispatch knows of a language.
#[derive(Debug)]
pub struct LanguageFacts {
    /// As declarations write it (`language: python3`).
    pub name: &'static str,
    /// The manifest file the language's tool installs from; the built-in Dockerfile copies the
    /// manifest to this name.
    pub manifest: &'static str,
    /// What the built-in Dockerfile runs, in the manifest's directory, to install it.
    pub install: &'static str,
    /// The ecosystem of the packages the manifest declares, whose format it is written in.
    pub ecosystem: Ecosystem,
    /// The system packages (deb, apk) that are the language's runtime in a base image.
    pub runtime: Runtime,
}

/// How a base image's catalog shows the language's runtime: which system packages are it, and
/// how much of their upstream version names the line images are built for (`3.11` of python
/// 3.11.2; `20` of nodejs 20.11.1), which a rebase must keep.
#[derive(Debug)]
pub struct Runtime {
    /// Whether a package of this name is the runtime.
    pub is: fn(&str) -> bool,
    /// How many parts of the upstream version make its line.
    pub line: usize,
}

impl Runtime {
    /// The line of a runtime package at `version`: the first [`Runtime::line`] parts of its
    /// upstream version (epoch, distribution revision and suffixes apart): `3.11` of
    /// `3.11.2-1+b1`, `17` of `17.0.9+9-1~deb12u1`.
    pub fn line_of(&self, version: &str) -> String {
        let upstream = upstream(version);
        let numeric = upstream
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .unwrap_or_default();
        numeric
            .split('.')
            .take(self.line)
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// The upstream part of a Debian or Alpine version: without the epoch (`1:`) and the
/// distribution's revision (`-1+b1`, `-r0`).
pub fn upstream(version: &str) -> &str {
    let without_epoch = match version.split_once(':') {
        Some((epoch, rest)) if epoch.chars().all(|c| c.is_ascii_digit()) => rest,
        _ => version,
    };
    without_epoch
        .rsplit_once('-')
        .map_or(without_epoch, |(upstream, _)| upstream)
}

/// `python3`, or a versioned interpreter package (`python3.11`).
fn python_runtime(name: &str) -> bool {
    name == "python3"
        || name
            .strip_prefix("python3.")
            .is_some_and(|minor| !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit()))
}

fn node_runtime(name: &str) -> bool {
    name == "nodejs"
}

/// Debian's `openjdk-17-jre-headless` and the like, Alpine's `openjdk17-jre`.
fn java_runtime(name: &str) -> bool {
    name.starts_with("openjdk")
}

fn powershell_runtime(name: &str) -> bool {
    name == "powershell"
}

/// One row a language, in the order of [`Language::ALL`].
const FACTS: [LanguageFacts; 4] = [
    LanguageFacts {
        name: "python3",
        manifest: "requirements.txt",
        install: "PIP_BREAK_SYSTEM_PACKAGES=1 pip3 install --no-cache-dir -r requirements.txt",
        ecosystem: Ecosystem::Pypi,
        runtime: Runtime {
            is: python_runtime,
            line: 2,
        },
    },
    LanguageFacts {
        name: "nodejs",
        manifest: "package.json",
        install: "npm install --omit=dev --no-audit --no-fund",
        ecosystem: Ecosystem::Npm,
        runtime: Runtime {
            is: node_runtime,
            line: 1,
        },
    },
    LanguageFacts {
        name: "java",
        manifest: "pom.xml",
        install: "mvn -B dependency:copy-dependencies -DoutputDirectory=/function/lib",
        ecosystem: Ecosystem::Maven,
        runtime: Runtime {
            is: java_runtime,
            line: 1,
        },
    },
    LanguageFacts {
        name: "powershell",
        manifest: "requirements.psd1",
        install: "pwsh -NoProfile -NonInteractive -Command '$ErrorActionPreference = \"Stop\"; Invoke-PSDepend -Path ./requirements.psd1 -Force -Confirm:$false'",
        ecosystem: Ecosystem::Powershell,
        runtime: Runtime {
            is: powershell_runtime,
            line: 2,
        },
    },
];

impl Language {
    pub const ALL: [Language; 4] = [
        Language::Python3,
        Language::Nodejs,
        Language::Java,
        Language::Powershell,
    ];

    pub fn facts(self) -> &'static LanguageFacts {
        &FACTS[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.facts().name
    }
}

/// A language name that is none of [`Language::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported language {0:?}: expected one of {names}", names = Language::ALL.map(Language::as_str).join(", "))]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;
    fn from_str(s: &str) -> Result<Self, UnknownLanguage> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| UnknownLanguage(s.to_string()))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_reads_its_own_row() {
        for language in Language::ALL {
            assert_eq!(language.as_str().parse(), Ok(language));
            let json = serde_json::to_string(&language).unwrap();
            assert_eq!(json, format!("\"{}\"", language.as_str()));
        }
        let manifests = Language::ALL.map(|l| l.facts().manifest);
        assert_eq!(
            manifests,
            [
                "requirements.txt",
                "package.json",
                "pom.xml",
                "requirements.psd1"
            ]
        );
    }

    /// The install commands that name a file name the manifest the Dockerfile copied.
    #[test]
    fn install_commands_name_their_manifest() {
        for language in [Language::Python3, Language::Powershell] {
            let facts = language.facts();
            assert!(facts.install.contains(facts.manifest), "{language}");
        }
    }

    #[test]
    fn each_runtime_is_known_by_its_packages_and_line() {
        let line = |language: Language, version: &str| language.facts().runtime.line_of(version);
        assert_eq!(line(Language::Python3, "3.11.2-1+b1"), "3.11");
        assert_eq!(line(Language::Python3, "3.12.1-r0"), "3.12");
        assert_eq!(line(Language::Nodejs, "20.11.1+dfsg-1~deb12u1"), "20");
        assert_eq!(line(Language::Java, "17.0.9+9-1~deb12u1"), "17");
        assert_eq!(line(Language::Powershell, "7.4.1-1.deb"), "7.4");
        assert_eq!(line(Language::Python3, "1:3.11"), "3.11");
        assert_eq!(upstream("2:1.2.3-4-5"), "1.2.3-4");
        let python = Language::Python3.facts().runtime.is;
        for (name, is) in [
            ("python3", true),
            ("python3.11", true),
            ("python3.11-minimal", false),
            ("python3-pip", false),
            ("python3.", false),
            ("libpython3.11", false),
        ] {
            assert_eq!(python(name), is, "{name}");
        }
        assert!((Language::Java.facts().runtime.is)(
            "openjdk-17-jre-headless"
        ));
        assert!((Language::Nodejs.facts().runtime.is)("nodejs"));
        assert!(!(Language::Powershell.facts().runtime.is)("pwsh"));
    }

    #[test]
    fn an_unknown_language_names_the_supported_ones() {
        assert_eq!(
            "ruby".parse::<Language>().unwrap_err().to_string(),
            "unsupported language \"ruby\": expected one of python3, nodejs, java, powershell"
        );
    }
}
