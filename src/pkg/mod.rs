//! Package-manager knowledge: the exact commands run on hosts and pure parsers for their
//! output. No I/O happens here, so every parser is tested from recorded fixtures.

pub mod apt;
mod debver;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Output a parser could not accept, with the 1-based line where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct ParseError {
    pub line: Option<usize>,
    pub message: String,
}

/// Longest parse error message kept. Messages quote host output, and a host printing a line
/// of megabytes must not turn into a diagnostic of megabytes.
const MAX_MESSAGE: usize = 1_000;

impl ParseError {
    pub fn new(message: impl Into<String>) -> ParseError {
        ParseError {
            line: None,
            message: shorten(message.into(), MAX_MESSAGE),
        }
    }

    pub fn at(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line: Some(line),
            message: shorten(message.into(), MAX_MESSAGE),
        }
    }
}

/// `text` cut to at most `limit` bytes on a character boundary, marked with `…` when cut.
fn shorten(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let end = (0..=limit)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &text[..end])
}

/// Bytes of a rejected name or version an error quotes: enough to recognise it.
const QUOTED: usize = 80;

/// `text` quoted and escaped for an error message, cut after `QUOTED` characters.
fn quote(text: &str) -> String {
    format!("\"{}\"", shorten(text.escape_debug().to_string(), QUOTED))
}

/// Longest package name or version accepted; real ones are far shorter, and a bound keeps a
/// hostile host from inflating state and plans.
const MAX_TOKEN: usize = 200;

/// A Debian package name as policy §5.6.1 allows: lowercase letters, digits, `+ - .`,
/// starting with a letter or digit, optionally with a `:arch` qualifier.
///
/// Shared (`Arc`), because the same names recur on every host of a fleet: a 10,000-host
/// inventory holds millions of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(Arc<str>);

impl PackageName {
    pub fn parse(text: &str) -> Result<PackageName, String> {
        let (name, arch) = match text.split_once(':') {
            Some((name, arch)) => (name, Some(arch)),
            None => (text, None),
        };
        let valid_name = name.len() >= 2
            && name.len() <= MAX_TOKEN
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        let valid_arch = arch.is_none_or(|a| {
            !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if valid_name && valid_arch {
            Ok(PackageName(Arc::from(text)))
        } else {
            Err(format!("{} is not a valid package name", quote(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for PackageName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PackageName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PackageName, D::Error> {
        deserializer.deserialize_str(InternedVisitor(|i| &mut i.names, PackageName::parse))
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Debian version, ordered as dpkg orders it, printed exactly as the host printed it.
/// Cheap to clone: versions recur across hosts as package names do.
#[derive(Clone)]
pub struct Version(Arc<ParsedVersion>);

struct ParsedVersion {
    text: String,
    epoch: u32,
    /// Byte ranges of the upstream part and revision inside `text`.
    upstream: std::ops::Range<usize>,
    revision: std::ops::Range<usize>,
}

impl ParsedVersion {
    fn parts(&self) -> debver::Parts<'_> {
        debver::Parts {
            epoch: self.epoch,
            upstream: &self.text[self.upstream.clone()],
            revision: &self.text[self.revision.clone()],
        }
    }
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".+~:-".contains(c);
        let invalid = || format!("{} is not a valid Debian version", quote(text));
        if text.is_empty()
            || text.len() > MAX_TOKEN
            || !text.chars().all(allowed)
            || !text.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(invalid());
        }
        let parts = debver::split(text).ok_or_else(invalid)?;
        let offset = |part: &str| part.as_ptr() as usize - text.as_ptr() as usize;
        let range = |part: &str| offset(part)..offset(part) + part.len();
        Ok(Version(Arc::new(ParsedVersion {
            text: text.to_owned(),
            epoch: parts.epoch,
            upstream: range(parts.upstream),
            revision: range(parts.revision),
        })))
    }

    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// dpkg's own order, in which differently spelled versions can be equal (`1.0`, `0:1.0`).
    pub fn cmp_dpkg(&self, other: &Version) -> Ordering {
        debver::compare(&self.0.parts(), &other.0.parts())
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        // Equal by dpkg but spelled differently ("1.0" and "0:1.0") still order stably.
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.cmp_dpkg(other)
            .then_with(|| self.0.text.cmp(&other.0.text))
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.0.text)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.text)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Version, D::Error> {
        deserializer.deserialize_str(InternedVisitor(|i| &mut i.versions, Version::parse))
    }
}

/// Names and versions already read by the current `InternScope`.
#[derive(Default)]
struct Interner {
    names: HashMap<Box<str>, PackageName>,
    versions: HashMap<Box<str>, Version>,
}

thread_local! {
    static INTERNER: RefCell<Option<Interner>> = const { RefCell::new(None) };
}

/// While alive, deserializing a name or version already read on this thread returns the same
/// shared value instead of parsing again. A state of 10,000 hosts repeats a few hundred
/// distinct names and versions millions of times: parsing each once (dpkg's version grammar
/// is a regex) and sharing it keeps reading state fast and its memory small. Dropping the
/// scope forgets everything, so the cache never outlives one document.
pub struct InternScope {
    outermost: bool,
}

impl InternScope {
    pub fn new() -> InternScope {
        let outermost = INTERNER.with_borrow_mut(|interner| {
            let outermost = interner.is_none();
            if outermost {
                *interner = Some(Interner::default());
            }
            outermost
        });
        InternScope { outermost }
    }
}

impl Default for InternScope {
    fn default() -> InternScope {
        InternScope::new()
    }
}

impl Drop for InternScope {
    fn drop(&mut self) {
        if self.outermost {
            INTERNER.with_borrow_mut(|interner| *interner = None);
        }
    }
}

/// Reads a string without copying it and interns it.
struct InternedVisitor<T>(InternTable<T>, fn(&str) -> Result<T, String>);

type InternTable<T> = fn(&mut Interner) -> &mut HashMap<Box<str>, T>;

impl<T: Clone> serde::de::Visitor<'_> for InternedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        interned(text, self.0, self.1).map_err(E::custom)
    }
}

/// `parse(text)`, or the value an `InternScope` already holds for `text`.
fn interned<T: Clone>(
    text: &str,
    table: InternTable<T>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    INTERNER.with_borrow_mut(|interner| {
        let Some(interner) = interner.as_mut() else {
            return parse(text);
        };
        let table = table(interner);
        if let Some(value) = table.get(text) {
            return Ok(value.clone());
        }
        let value = parse(text)?;
        table.insert(Box::from(text), value.clone());
        Ok(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_like_dpkg() {
        let ordered = [
            "1.0~rc1-1",
            "1.0-1",
            "1.0-1+deb12u1",
            "1.0a",
            "1.0+",
            "1.1-1",
            "2.0",
            "1:0.9",
        ];
        for pair in ordered.windows(2) {
            let (a, b) = (
                Version::parse(pair[0]).unwrap(),
                Version::parse(pair[1]).unwrap(),
            );
            assert!(a < b, "{a} < {b}");
        }
    }

    #[test]
    fn names_and_versions_reject_shell_syntax() {
        for bad in ["a;b", "$(x)", "a b", "-rf", "A", "x", "a`b`", ""] {
            assert!(PackageName::parse(bad).is_err(), "{bad}");
        }
        for good in ["libssl3", "g++", "libstdc++6:amd64", "python3.11"] {
            assert!(PackageName::parse(good).is_ok(), "{good}");
        }
        for bad in ["1.0;", "$1", "1 0", "-1", "", "v1.0"] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_quote_only_the_start_of_a_huge_token() {
        // Found by tests/it/fuzz.rs: a version of megabytes became a message of megabytes.
        let huge = "1".repeat(4 << 20);
        let error = Version::parse(&huge).unwrap_err();
        assert!(error.len() < 200, "{} bytes", error.len());
        assert!(
            error.ends_with("…\" is not a valid Debian version"),
            "{error}"
        );
        let error = PackageName::parse(&format!("$(x){huge}")).unwrap_err();
        assert!(error.starts_with("\"$(x)111"), "{error}");
        assert!(error.len() < 200, "{} bytes", error.len());
        let error = ParseError::at(3, huge).to_string();
        assert!(error.len() < 1_100, "{} bytes", error.len());
        // Found by the apt_dpkg target: the cap counted characters, and U+FFFD takes 3 bytes.
        let error = ParseError::new("\u{fffd}".repeat(5_000)).to_string();
        assert!(error.len() <= 1_003, "{} bytes", error.len());
    }
}
