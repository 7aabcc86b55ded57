//! libpq's connection strings where the `postgres` crate's parser reads less than libpq: the
//! TLS keys it refuses (`sslrootcert`, `sslcert`, ...) or reads only in part (`sslmode`) are
//! taken out here, for `tls` to read, and a URL's host without a port gets PGPORT, as libpq
//! gives it. What this does not understand it leaves as it is, for that parser to report.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The keys read here, not by the `postgres` crate.
const TLS_KEYS: [&str; 5] = ["sslmode", "sslrootcert", "sslcert", "sslkey", "sslsni"];

/// A connection string in two parts.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split {
    /// What the `postgres` crate reads.
    pub(super) rest: String,
    /// The TLS keys and their values, decoded, in the order given.
    pub(super) tls: Vec<(&'static str, String)>,
}

/// Splits `conninfo`, a `postgres://` URL or `key=value` pairs; a URL's hosts without a port
/// get `port` (PGPORT) when it is given and the URL names no `port` parameter.
pub(super) fn split(conninfo: &str, port: Option<u16>) -> Split {
    let as_is = || Split {
        rest: conninfo.to_string(),
        tls: Vec::new(),
    };
    let url = ["postgres://", "postgresql://"]
        .iter()
        .find_map(|scheme| Some((*scheme, conninfo.strip_prefix(scheme)?)));
    let split = match url {
        Some((scheme, url)) => split_url(scheme, url, port),
        None => split_pairs(conninfo),
    };
    split.unwrap_or_else(as_is)
}

fn tls_key(key: &str) -> Option<&'static str> {
    TLS_KEYS.iter().copied().find(|k| *k == key)
}

/// `postgres://[user[:password]@][host[:port][,...]][/dbname][?key=value[&...]]`, as the
/// `postgres` crate reads it: the credentials end at the first `@`.
fn split_url(scheme: &str, url: &str, port: Option<u16>) -> Option<Split> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut tls = Vec::new();
    let mut kept = Vec::new();
    let mut named_port = false;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        let (key, value) = pair.split_once('=')?;
        let key = percent_decode_str(key).decode_utf8().ok()?;
        named_port |= key == "port";
        match tls_key(&key) {
            Some(key) => tls.push((key, percent_decode_str(value).decode_utf8().ok()?.into())),
            None => kept.push(pair),
        }
    }
    let base = match port {
        Some(port) if !named_port => with_port(base, port),
        _ => Cow::Borrowed(base),
    };
    let mut rest = format!("{scheme}{base}");
    if !kept.is_empty() {
        rest = format!("{rest}?{}", kept.join("&"));
    }
    Some(Split { rest, tls })
}

/// `base` (the URL after its scheme, before `?`) with `:port` after each host that has none.
fn with_port(base: &str, port: u16) -> Cow<'_, str> {
    let (credentials, rest) = match base.find('@') {
        Some(at) => base.split_at(at + 1),
        None => ("", base),
    };
    let (hosts, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if hosts.is_empty() {
        // No host: the `postgres` crate's own default host takes the port PGPORT gives it.
        return Cow::Borrowed(base);
    }
    let hosts: Vec<String> = hosts
        .split(',')
        .map(|host| {
            let after_name = match host.strip_prefix('[') {
                Some(v6) => v6.split_once(']').map_or("", |(_, after)| after),
                None => host,
            };
            if after_name.contains(':') {
                host.to_string()
            } else {
                format!("{host}:{port}")
            }
        })
        .collect();
    Cow::Owned(format!("{credentials}{}{path}", hosts.join(",")))
}

/// `key = value` pairs separated by spaces; a value either bare (to the next space) or in
/// single quotes, a backslash taking the next character as it is.
fn split_pairs(conninfo: &str) -> Option<Split> {
    let mut tls = Vec::new();
    let mut kept = Vec::new();
    let mut chars = conninfo.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let quoted = chars.next_if_eq(&'\'').is_some();
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\'') if quoted => break,
                Some(c) if c.is_whitespace() && !quoted => break,
                Some('\\') => value.push(chars.next()?),
                Some(c) => value.push(c),
                None if quoted => return None,
                None => break,
            }
        }
        match tls_key(&key) {
            Some(key) => tls.push((key, value)),
            None => kept.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    Some(Split {
        rest: kept.join(" "),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn a_url_gives_up_its_tls_keys_decoded_and_keeps_the_rest() {
        let split = split(
            "postgres://app:p%40ss@db:6432/app?sslmode=verify-full&application_name=ci&sslrootcert=%2Fetc%2Fca%20file.crt&sslcert=c.crt&sslkey=c.key",
            None,
        );
        assert_eq!(
            split.rest,
            "postgres://app:p%40ss@db:6432/app?application_name=ci"
        );
        assert_eq!(
            split.tls,
            tls(&[
                ("sslmode", "verify-full"),
                ("sslrootcert", "/etc/ca file.crt"),
                ("sslcert", "c.crt"),
                ("sslkey", "c.key"),
            ])
        );
        let only_tls = super::split("postgresql://db/app?sslmode=require", None);
        assert_eq!(only_tls.rest, "postgresql://db/app");
        assert_eq!(only_tls.tls, tls(&[("sslmode", "require")]));
    }

    #[test]
    fn hosts_without_a_port_take_pgport() {
        let port = Some(6543);
        for (url, expected) in [
            ("postgres://db/app", "postgres://db:6543/app"),
            ("postgres://u:pw@db", "postgres://u:pw@db:6543"),
            (
                "postgres://a,b:5000,[::1],[::2]:7/x",
                "postgres://a:6543,b:5000,[::1]:6543,[::2]:7/x",
            ),
            ("postgres://db:5433/app", "postgres://db:5433/app"),
            ("postgres:///app", "postgres:///app"),
            (
                "postgres://%2Fvar%2Frun/app",
                "postgres://%2Fvar%2Frun:6543/app",
            ),
            // A port parameter is libpq's way, and wins.
            ("postgres://db/app?port=7000", "postgres://db/app?port=7000"),
        ] {
            assert_eq!(split(url, port).rest, expected, "{url}");
        }
        assert_eq!(split("postgres://db/app", None).rest, "postgres://db/app");
    }

    #[test]
    fn key_value_pairs_give_up_their_tls_keys_unquoted() {
        let split = split(
            r"host=db  sslmode = verify-ca sslrootcert='/etc/my ca\'s.crt' password=p\ w dbname='a b'",
            None,
        );
        assert_eq!(split.rest, r"host='db' password='p w' dbname='a b'");
        assert_eq!(
            split.tls,
            tls(&[
                ("sslmode", "verify-ca"),
                ("sslrootcert", "/etc/my ca's.crt")
            ])
        );
        let parsed: postgres::Config = split.rest.parse().unwrap();
        assert_eq!(parsed.get_password(), Some(&b"p w"[..]));
        assert_eq!(parsed.get_dbname(), Some("a b"));
    }

    #[test]
    fn what_is_not_understood_is_left_for_the_postgres_parser() {
        for broken in [
            "host=db sslmode",
            "host='db sslmode=require",
            "postgres://db/app?sslmode",
            "postgres://db/app?sslrootcert=%FF",
        ] {
            assert_eq!(split(broken, Some(1)).rest, broken);
            assert!(broken.parse::<postgres::Config>().is_err(), "{broken}");
        }
    }
}
