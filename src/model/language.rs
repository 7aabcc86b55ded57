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
#[derive(Debug, PartialEq, Eq)]
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
}

/// One row a language, in the order of [`Language::ALL`].
const FACTS: [LanguageFacts; 4] = [
    LanguageFacts {
        name: "python3",
        manifest: "requirements.txt",
        install: "PIP_BREAK_SYSTEM_PACKAGES=1 pip3 install --no-cache-dir -r requirements.txt",
        ecosystem: Ecosystem::Pypi,
    },
    LanguageFacts {
        name: "nodejs",
        manifest: "package.json",
        install: "npm install --omit=dev --no-audit --no-fund",
        ecosystem: Ecosystem::Npm,
    },
    LanguageFacts {
        name: "java",
        manifest: "pom.xml",
        install: "mvn -B dependency:copy-dependencies -DoutputDirectory=/function/lib",
        ecosystem: Ecosystem::Maven,
    },
    LanguageFacts {
        name: "powershell",
        manifest: "requirements.psd1",
        install: "pwsh -NoProfile -NonInteractive -Command '$ErrorActionPreference = \"Stop\"; Invoke-PSDepend -Path ./requirements.psd1 -Force -Confirm:$false'",
        ecosystem: Ecosystem::Powershell,
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
    fn an_unknown_language_names_the_supported_ones() {
        assert_eq!(
            "ruby".parse::<Language>().unwrap_err().to_string(),
            "unsupported language \"ruby\": expected one of python3, nodejs, java, powershell"
        );
    }
}
