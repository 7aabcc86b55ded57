//! How severe an advisory is: from its CVSS vectors (read and scored by RustSec's `cvss`, v2 to
//! v4), else from the rating its database gives (`database_specific.severity`, GHSA's `HIGH`,
//! or a `severity[]` entry of another type, Ubuntu's `medium`).

use std::str::FromStr;

use crate::model::advisory::Advisory;
pub use crate::model::advisory::Level;

impl Level {
    /// A database's own word for a level: CVSS's, and GHSA's `MODERATE`, Red Hat's and
    /// Ubuntu's `important` and `negligible`.
    fn from_word(word: &str) -> Option<Level> {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Level::Critical),
            "high" | "important" => Some(Level::High),
            "medium" | "moderate" => Some(Level::Medium),
            "low" | "negligible" => Some(Level::Low),
            "none" => Some(Level::None),
            _ => None,
        }
    }
}

/// Which CVSS a vector is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cvss {
    V2,
    V30,
    V31,
    V40,
}

/// One of a record's CVSS vectors, read and scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<'a> {
    pub cvss: Cvss,
    pub vector: &'a str,
    pub score: f64,
    pub level: Level,
}

/// The CVSS vectors of `advisory` that can be read, in its order, each scored.
pub fn scored(advisory: &Advisory) -> Vec<Scored<'_>> {
    (advisory.severity.iter())
        .filter(|s| s.kind.starts_with("CVSS_"))
        .filter_map(|s| {
            let vector = s.score.trim();
            let read = cvss::Cvss::from_str(vector).ok()?;
            let version = match read {
                cvss::Cvss::CvssV20(_) => Cvss::V2,
                cvss::Cvss::CvssV30(_) => Cvss::V30,
                cvss::Cvss::CvssV31(_) => Cvss::V31,
                cvss::Cvss::CvssV40(_) => Cvss::V40,
                _ => return None,
            };
            Some(Scored {
                cvss: version,
                vector,
                score: read.score(),
                level: from_cvss(read.severity()),
            })
        })
        .collect()
}

/// The severity of `advisory`: the highest its CVSS vectors score, else its database's rating.
pub fn of(advisory: &Advisory) -> Level {
    let cvss = scored(advisory).into_iter().map(|s| s.level).max();
    let rated = || {
        let database = advisory.database_specific.as_ref();
        let own = advisory
            .severity
            .iter()
            .filter(|s| !s.kind.starts_with("CVSS_"));
        database
            .and_then(|d| d.severity.as_deref())
            .into_iter()
            .chain(own.map(|s| s.score.as_str()))
            .filter_map(Level::from_word)
            .max()
    };
    cvss.or_else(rated).unwrap_or(Level::Unknown)
}

fn from_cvss(severity: cvss::Severity) -> Level {
    match severity {
        cvss::Severity::None => Level::None,
        cvss::Severity::Low => Level::Low,
        cvss::Severity::Medium => Level::Medium,
        cvss::Severity::High => Level::High,
        cvss::Severity::Critical => Level::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::advisory::{DatabaseSpecific, Severity};

    fn advisory(severity: &[(&str, &str)], database: Option<&str>) -> Advisory {
        Advisory {
            id: "X-1".into(),
            modified: "2024-01-01T00:00:00Z".into(),
            published: None,
            withdrawn: None,
            aliases: vec![],
            summary: None,
            affected: vec![],
            severity: severity
                .iter()
                .map(|(kind, score)| Severity {
                    kind: kind.to_string(),
                    score: score.to_string(),
                })
                .collect(),
            database_specific: database.map(|s| DatabaseSpecific {
                severity: Some(s.into()),
            }),
            imported: None,
        }
    }

    #[test]
    fn vectors_are_scored_and_the_database_rating_is_the_fallback() {
        let v3 = ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        let v3_low = ("CVSS_V3", "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N");
        let v4 = (
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:N/SC:N/SI:N/SA:N",
        );
        let v2 = ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P");
        for (severity, database, expected) in [
            (vec![v3], None, Level::Critical),
            (vec![v3_low], Some("CRITICAL"), Level::Low),
            (vec![v4], None, Level::High),
            (vec![v2], None, Level::High),
            (vec![v3_low, v3], None, Level::Critical),
            (
                vec![("CVSS_V3", "not a vector")],
                Some("MODERATE"),
                Level::Medium,
            ),
            (vec![("Ubuntu", "negligible")], None, Level::Low),
            (vec![], Some("high"), Level::High),
            (vec![], Some("whatever"), Level::Unknown),
            (vec![], None, Level::Unknown),
        ] {
            assert_eq!(
                of(&advisory(&severity, database)),
                expected,
                "{severity:?} {database:?}"
            );
        }
        assert!(Level::Unknown < Level::None && Level::High < Level::Critical);
    }

    #[test]
    fn each_vector_is_scored_in_its_version() {
        let record = advisory(
            &[
                ("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"),
                ("CVSS_V3", "broken"),
                ("Ubuntu", "medium"),
            ],
            None,
        );
        let scored: Vec<(Cvss, f64, Level)> = (scored(&record).iter())
            .map(|s| (s.cvss, s.score, s.level))
            .collect();
        assert_eq!(
            scored,
            [
                (Cvss::V31, 9.8, Level::Critical),
                (Cvss::V2, 7.5, Level::High)
            ]
        );
    }
}
