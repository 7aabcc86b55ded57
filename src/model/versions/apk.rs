//! Alpine versions, ordered as apk-tools orders them (`apk version -t`): no maintained crate
//! reads them, so this follows the behaviour of apk-tools' `src/version.c`, token by token.
//!
//! A version is `number{.number}[letter]{_suffix[number]}[~hash][-rN]`; `_alpha`, `_beta`,
//! `_pre` and `_rc` come before the plain version, `_cvs`, `_svn`, `_git`, `_hg` and `_p` after
//! it; a number after a dot that starts with `0` is compared as text (`1.05` < `1.5`).

use std::cmp::Ordering;

/// A token's kind, in apk's order: a version that goes on with a kind later in this order than
/// another's is the smaller one (`1.0` < `1.0.1`, `1.0-r1` > `1.0`), but for a pre-release
/// suffix (`1.0_rc1` < `1.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    Revision,
    End,
}

/// The suffixes in their order; those before `NONE` are pre-releases.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
const NONE: usize = 4;

/// One token: its kind and its text (a suffix by its place in [`SUFFIXES`], past `NONE`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: Kind,
    text: String,
    suffix: usize,
}

/// An Alpine version: its tokens, the last of kind [`Kind::End`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version(Vec<Token>);

impl Version {
    /// `text` as an Alpine version, if apk finds the whole of it valid.
    pub fn parse(text: &str) -> Option<Version> {
        let mut rest = text;
        let mut tokens = vec![Token {
            kind: Kind::InitialDigit,
            text: take(&mut rest, |c| c.is_ascii_digit())?,
            suffix: 0,
        }];
        loop {
            let last = tokens.last().expect("one token at least").kind;
            let token = next(last, &mut rest)?;
            let end = token.kind == Kind::End;
            tokens.push(token);
            if end {
                return Some(Version(tokens));
            }
        }
    }
}

/// The run of `rest` that `wanted` accepts, taken off it; `None` if it is empty.
fn take(rest: &mut &str, wanted: impl Fn(char) -> bool) -> Option<String> {
    let end = rest.find(|c| !wanted(c)).unwrap_or(rest.len());
    let (run, after) = rest.split_at(end);
    *rest = after;
    (!run.is_empty()).then(|| run.to_string())
}

/// The token at the start of `rest` after one of kind `last`, if apk allows it there.
fn next(last: Kind, rest: &mut &str) -> Option<Token> {
    let token = |kind, text| Token {
        kind,
        text,
        suffix: 0,
    };
    let digits = |rest: &mut &str| take(rest, |c| c.is_ascii_digit());
    let Some(first) = rest.chars().next() else {
        return Some(token(Kind::End, String::new()));
    };
    *rest = &rest[first.len_utf8()..];
    match first {
        'a'..='z' if last <= Kind::Digit => Some(token(Kind::Letter, first.to_string())),
        '.' if last <= Kind::Digit => Some(token(Kind::Digit, digits(rest)?)),
        '0'..='9' if last == Kind::Suffix => {
            let text = format!("{first}{}", digits(rest).unwrap_or_default());
            Some(token(Kind::SuffixNumber, text))
        }
        '_' if last <= Kind::SuffixNumber => {
            let name = take(rest, |c| c.is_ascii_lowercase())?;
            let suffix = SUFFIXES.iter().position(|s| *s == name)?;
            Some(Token {
                kind: Kind::Suffix,
                text: name,
                suffix: if suffix < NONE { suffix } else { suffix + 1 },
            })
        }
        '~' if last < Kind::CommitHash => {
            let hash = take(rest, |c| c.is_ascii_hexdigit())?;
            Some(token(Kind::CommitHash, hash))
        }
        '-' if last < Kind::Revision => {
            *rest = rest.strip_prefix('r')?;
            Some(token(Kind::Revision, digits(rest)?))
        }
        _ => None,
    }
}

/// Two numbers written in decimal, compared as numbers however long.
fn numerically(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Token {
    /// Against a token of the same kind.
    fn cmp_same(&self, other: &Token) -> Ordering {
        match self.kind {
            // A number after a dot with a leading zero is compared as text (as Gentoo does).
            Kind::Digit if self.text.starts_with('0') || other.text.starts_with('0') => {
                self.text.cmp(&other.text)
            }
            Kind::InitialDigit | Kind::Digit | Kind::SuffixNumber | Kind::Revision => {
                numerically(&self.text, &other.text)
            }
            Kind::Suffix => self.suffix.cmp(&other.suffix),
            Kind::Letter | Kind::CommitHash | Kind::End => self.text.cmp(&other.text),
        }
    }

    fn pre_release(&self) -> bool {
        self.kind == Kind::Suffix && self.suffix < NONE
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.0.iter().zip(&other.0) {
            if a.kind != b.kind {
                // Equal so far: a pre-release suffix makes a version the smaller, else the one
                // that goes on with the earlier kind is the larger.
                return if a.pre_release() {
                    Ordering::Less
                } else if b.pre_release() {
                    Ordering::Greater
                } else {
                    b.kind.cmp(&a.kind)
                };
            }
            match a.cmp_same(b) {
                Ordering::Equal if a.kind == Kind::End => return Ordering::Equal,
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(a: &str, b: &str) -> Option<Ordering> {
        Some(Version::parse(a)?.cmp(&Version::parse(b)?))
    }

    #[test]
    fn apk_orders_versions_as_apk_does() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, expected) in [
            ("1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.0", "1.0.1", Less),
            ("1.0", "1", Greater),
            ("1.0~abc1", "1.0", Greater),
            ("1.0~abc1", "1.0~abd", Less),
            ("1.0~abc1-r1", "1.0-r1", Greater),
            ("3.1.4-r0", "3.1.4-r1", Less),
            ("3.1.4-r10", "3.1.4-r9", Greater),
            ("3.1.4", "3.1.4-r0", Less),
            ("3.1.4-r5", "3.1.5-r0", Less),
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0b", Less),
            ("1.0a", "1.0.1", Less),
            ("1.0_rc1", "1.0", Less),
            ("1.0_alpha", "1.0_beta", Less),
            ("1.0_beta2", "1.0_beta10", Less),
            ("1.0_rc1", "1.0_rc1-r1", Less),
            ("1.0_p1", "1.0", Greater),
            ("1.0_git20240101", "1.0", Greater),
            ("1.0_p1", "1.0.1", Less),
            ("1.05", "1.5", Less),
            ("1.05", "1.050", Less),
            ("1.01", "1.001", Greater),
            ("3.0.12-r1", "3.0.8-r0", Greater),
            ("99999999999999999999999", "1", Greater),
        ] {
            assert_eq!(compare(a, b), Some(expected), "{a} vs {b}");
            assert_eq!(compare(b, a), Some(expected.reverse()), "{b} vs {a}");
        }
        for bad in [
            "", "a", "1.0-1", "1.0_x", "1.0 ", "1.a.1", "1.0a1", "1.0~xyz", "-r1", "1..0", "1.0-r",
            "1.0-r1.1", "1.0_rc1a",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad:?}");
        }
    }
}
