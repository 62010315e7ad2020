//! Name and value syntaxes of Kubernetes and Volcano, written out by hand.
//!
//! The CRDs use only four regular expressions (DNS-1123 label, DNS-1123
//! subdomain, "no colon" and the resource-quantity grammar), and Kubernetes'
//! own checks (`k8s.io/apimachinery/pkg/util/validation`) add a handful more.
//! Each one is a few lines of byte matching, so the validator needs no regex
//! engine; [`crd_pattern`] maps the exact pattern strings of the CRDs to these
//! functions, and reports any pattern it does not know instead of skipping it.

/// Longest DNS-1123 / DNS-1035 label, label value or qualified-name part.
pub(super) const LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain (object names, label-key prefixes).
pub(super) const SUBDOMAIN_MAX: usize = 253;

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without a length limit.
fn label_shape(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_lower_alnum(f)
                && is_lower_alnum(l)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// DNS-1123 label: `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 63 characters
/// (task names, namespaces, container and volume names, pod hostnames).
pub(super) fn is_dns1123_label(s: &str) -> bool {
    s.len() <= LABEL_MAX && label_shape(s)
}

/// DNS-1035 label: like DNS-1123 but starting with a letter (Service names).
pub(super) fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

/// DNS-1123 subdomain: dot-separated DNS-1123 label shapes, at most 253
/// characters in all (object names, label-key prefixes).
pub(super) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= SUBDOMAIN_MAX && s.split('.').all(label_shape)
}

/// The CRD's subdomain pattern alone, without the length limit (the CRD puts
/// `maxLength` beside it, which is checked separately).
fn dns1123_subdomain_shape(s: &str) -> bool {
    s.split('.').all(label_shape)
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`: the name part of a qualified
/// name, and a non-empty label value.
fn qualified_part_shape(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Kubernetes `IsQualifiedName`: `[prefix/]name`, prefix a DNS-1123
/// subdomain, name at most 63 characters of the qualified-part shape
/// (label keys, annotation keys, Volcano's job and pod name check).
pub(super) fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix
        && (p.is_empty() || !is_dns1123_subdomain(p))
    {
        return false;
    }
    name.len() <= LABEL_MAX && qualified_part_shape(name)
}

/// Kubernetes `IsValidLabelValue`: empty, or at most 63 characters of the
/// qualified-part shape.
pub(super) fn is_label_value(s: &str) -> bool {
    s.is_empty() || (s.len() <= LABEL_MAX && qualified_part_shape(s))
}

/// Kubernetes `IsConfigMapKey`: `[-._a-zA-Z0-9]+`, at most 253, not `.`, `..`
/// or starting with `..` (the kubelet writes keys as file names).
pub(super) fn is_configmap_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= SUBDOMAIN_MAX
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && s != "."
        && !s.starts_with("..")
}

/// The classic environment-variable name rule, `[-._a-zA-Z][-._a-zA-Z0-9]*`.
/// Kubernetes 1.32+ relaxes it to printable ASCII without `=`; the classic rule
/// is kept because it is what every supported cluster version accepts.
pub(super) fn is_env_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(&f) if f.is_ascii_alphabetic() || matches!(f, b'-' | b'_' | b'.') => b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')),
        _ => false,
    }
}

/// IANA service name (container port names): at most 15 characters of
/// `[-a-z0-9]`, at least one letter, no leading, trailing or double hyphen.
pub(super) fn is_iana_svc_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes().all(|c| is_lower_alnum(c) || c == b'-')
        && s.bytes().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Digits with an optional fraction: `[0-9]+(\.[0-9]*)?|\.[0-9]+`; returns the
/// rest of the input after the longest such prefix (none if there is none).
fn take_decimal(s: &str) -> Option<&str> {
    let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &s[int_len..];
    match rest.strip_prefix('.') {
        Some(frac) => {
            let frac_len = frac.bytes().take_while(u8::is_ascii_digit).count();
            if int_len == 0 && frac_len == 0 {
                None
            } else {
                Some(&frac[frac_len..])
            }
        }
        None if int_len > 0 => Some(rest),
        None => None,
    }
}

/// The CRDs' resource-quantity pattern:
/// `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`.
pub(super) fn is_quantity(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some(suffix) = take_decimal(unsigned) else {
        return false;
    };
    match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => true,
        "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => true,
        _ => match suffix.strip_prefix(['e', 'E']) {
            Some(exp) => take_decimal(exp.strip_prefix(['+', '-']).unwrap_or(exp)) == Some(""),
            None => false,
        },
    }
}

/// The numeric value of a quantity (for `requests <= limits` and "is a whole
/// number of CPUs"); `None` if it does not parse. `f64` is precise enough for
/// comparing the quantities a pipeline asks for.
pub(super) fn quantity_value(s: &str) -> Option<f64> {
    if !is_quantity(s) {
        return None;
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let suffix = take_decimal(unsigned)?;
    let number = &s[..s.len() - suffix.len()];
    let factor = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        // A decimal exponent (`1e3`): Rust's float syntax reads the whole text.
        _ => return s.parse().ok(),
    };
    number.parse::<f64>().ok().map(|v| v * factor)
}

/// Go's `time.ParseDuration` grammar (`metav1.Duration` fields such as a
/// policy `timeout`): `[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+`, or `0`.
pub(super) fn is_go_duration(s: &str) -> bool {
    let mut rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(after_number) = take_decimal(rest) else {
            return false;
        };
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        if !matches!(
            &after_number[..unit_len],
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"
        ) {
            return false;
        }
        rest = &after_number[unit_len..];
    }
    true
}

/// Checks a CRD `pattern` by its exact text. `None` means the pattern is not
/// one this validator implements (the caller reports that, so a CRD update
/// that adds a pattern cannot be silently ignored).
pub(super) fn crd_pattern(pattern: &str) -> Option<fn(&str) -> bool> {
    const QUANTITY: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";
    match pattern {
        QUANTITY => Some(is_quantity),
        r"^[^:]+$" => Some(|s| !s.is_empty() && !s.contains(':')),
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" => Some(label_shape),
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" => {
            Some(dns1123_subdomain_shape)
        }
        _ => None,
    }
}

/// Edit distance, for "did you mean" hints on unknown fields.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The closest candidate within a small edit distance, if any.
pub(super) fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| {
            (
                edit_distance(&unknown.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|&(d, c)| d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}
