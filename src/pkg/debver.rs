//! Debian version syntax and order, exactly as dpkg's `lib/dpkg/version.c` defines them.
//!
//! Written here rather than taken from the `debversion` crate: its 0.5.5 orders an empty digit
//! run below `0`, so `10a` sorts before `010a0`, which dpkg holds equal. tests/it/versions.rs
//! found that by comparing with `dpkg --compare-versions` on random pairs.

use std::cmp::Ordering;

/// A version split into dpkg's three parts, borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    pub(super) epoch: u32,
    /// May hold further colons, as dpkg allows after an epoch.
    pub(super) upstream: &'a str,
    /// Empty when the version has no `-`; dpkg treats that as equal to `0`.
    pub(super) revision: &'a str,
}

/// Splits a version as dpkg's `parseversion` does; every part is a slice of `text`. The caller has already checked the
/// character set; this checks the structure.
pub(super) fn split(text: &str) -> Option<Parts<'_>> {
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // dpkg refuses epochs above INT_MAX.
            let epoch = epoch
                .parse::<u32>()
                .ok()
                .filter(|e| *e <= i32::MAX as u32)?;
            (epoch, rest)
        }
        None => (0, text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return None,
        Some((upstream, revision)) => (upstream, revision),
        // An empty slice at the end, so every part stays a slice of `text`.
        None => (rest, &rest[rest.len()..]),
    };
    // dpkg allows `:` in the upstream part after an epoch, never in the revision.
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) || revision.contains(':') {
        return None;
    }
    Some(Parts {
        epoch,
        upstream,
        revision,
    })
}

pub(super) fn compare(a: &Parts<'_>, b: &Parts<'_>) -> Ordering {
    a.epoch
        .cmp(&b.epoch)
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision, b.revision))
}

/// dpkg's weight of one character in a non-digit run: `~` sorts before everything, even the
/// end of the string; letters before other symbols.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// Alternating non-digit and digit runs; digit runs compare as numbers of any length (leading
/// zeros ignored, an empty run counts as zero).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        compare(&split(a).unwrap(), &split(b).unwrap())
    }

    #[test]
    fn empty_digit_runs_count_as_zero() {
        // The pair that debversion 0.5.5 got wrong, and its neighbours.
        assert_eq!(cmp("10a", "010a0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.0-0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1a", "1a00"), Ordering::Equal);
    }

    #[test]
    fn tilde_sorts_before_the_end_and_symbols_after_letters() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0a"), Ordering::Less);
        assert_eq!(cmp("1:0.1", "9.9"), Ordering::Greater);
    }

    /// Versions with the parts that make ordering subtle, often sharing prefixes.
    const VERSION: &str = "([0-2]:)?[0-2][0-2a-c.+~]{0,6}(-[0-2a-c.+~]{1,4})?";

    #[test]
    fn arbitrary_text_never_panics_the_split() {
        proptest::proptest!(|(text in "[0-9a-z.+~:-]{0,16}")| {
            if let Some(parts) = split(&text) {
                proptest::prop_assert_eq!(compare(&parts, &parts), Ordering::Equal);
            }
        });
    }

    proptest::proptest! {
        // The order is total: reflexive, antisymmetric, transitive.
        #[test]
        fn order_is_total_on_arbitrary_versions(
            a in VERSION,
            b in VERSION,
            c in VERSION,
        ) {
            let (Some(a), Some(b), Some(c)) = (split(&a), split(&b), split(&c)) else {
                return Ok(());
            };
            proptest::prop_assert_eq!(compare(&a, &a), Ordering::Equal);
            proptest::prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
            if compare(&a, &b) != Ordering::Greater && compare(&b, &c) != Ordering::Greater {
                proptest::prop_assert_ne!(compare(&a, &c), Ordering::Greater);
            }
        }
    }

    #[test]
    fn structure_is_checked() {
        for bad in [
            "",
            ":1.0",
            "a:1.0",
            "1.0-",
            "a1.0",
            "99999999999:1",
            "1:1.0-1:2",
        ] {
            assert_eq!(split(bad), None, "{bad}");
        }
        assert_eq!(
            split("2:1.2-3-4"),
            Some(Parts {
                epoch: 2,
                upstream: "1.2-3",
                revision: "4"
            })
        );
    }
}
