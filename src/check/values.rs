//! Validators for the value syntaxes that come from outside vcp: Kubernetes
//! names and quantities, container image references, durations. Each returns
//! `Err(reason)` in words that complete `... is not valid: <reason>`.

/// A duration: one or more `<number><unit>` with units `d`, `h`, `m`, `s`,
/// each unit at most once, largest first (`1h30m`). Returns seconds.
pub(crate) fn duration(text: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    if text.is_empty() {
        return Err("it is empty; write a number and a unit such as `30m`".into());
    }
    let mut total: u64 = 0;
    let mut rest = text;
    let mut last_unit = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{}` is too large", &rest[..digits]))?;
        let unit = rest[digits..].chars().next();
        let Some(pos) = unit.and_then(|u| UNITS.iter().position(|(c, _)| *c == u)) else {
            return Err(match unit {
                None => format!(
                    "`{}` has no unit; add `s`, `m`, `h` or `d`",
                    &rest[..digits]
                ),
                Some(u) => format!("`{u}` is not a unit; units are `s`, `m`, `h` and `d`"),
            });
        };
        if last_unit.is_some_and(|last| pos <= last) {
            return Err("units must go from largest to smallest, each once (`1h30m`)".into());
        }
        last_unit = Some(pos);
        total = number
            .checked_mul(UNITS[pos].1)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| "it is too long".to_string())?;
        rest = &rest[digits + 1..];
    }
    Ok(total)
}

/// A parsed Kubernetes quantity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Quantity {
    /// The amount in base units (cores, bytes).
    pub value: f64,
    /// The suffix was `m` (milli).
    pub milli: bool,
}

/// A Kubernetes resource quantity: `<number><suffix>` where the number is
/// `123`, `1.5` or `.5` and the suffix is empty, a decimal SI suffix
/// (`n u m k M G T P E`), a binary one (`Ki Mi Gi Ti Pi Ei`) or an exponent
/// (`e3`, `E-2`). Negative amounts are rejected: no resource can be negative.
pub(crate) fn quantity(text: &str) -> Result<Quantity, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(if text.starts_with('-') {
            "resources cannot be negative".into()
        } else {
            "expected a number such as `2`, `500m` or `4Gi`".into()
        });
    }
    let base: f64 = number
        .parse()
        .map_err(|_| format!("`{number}` is not a number"))?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..]
                .parse()
                .map_err(|_| format!("`{s}` is not a valid exponent"))?;
            if !(-18..=18).contains(&exp) {
                return Err(format!("exponent `{s}` is out of range"));
            }
            10f64.powi(exp)
        }
        s => {
            let hint = match s {
                "K" => " (kilo is a lower-case `k`)",
                "gi" | "GB" | "Gb" | "g" => " (gibibytes are `Gi`)",
                "mi" | "MB" | "Mb" => " (mebibytes are `Mi`)",
                "KB" | "Kb" | "ki" => " (kibibytes are `Ki`)",
                _ => "",
            };
            return Err(format!(
                "`{s}` is not a quantity suffix{hint}; use m, k, M, G, T, Ki, Mi, Gi, Ti or an exponent like e3"
            ));
        }
    };
    Ok(Quantity {
        value: base * factor,
        milli: suffix == "m",
    })
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// RFC 1123 label: lower-case alphanumerics and `-`, alphanumeric at both
/// ends, at most 63 characters.
pub(crate) fn dns1123_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "it has {} characters, at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| !is_lower_alnum(*c) && *c != '-') {
        return Err(if c.is_ascii_uppercase() {
            "it has upper-case letters; Kubernetes names are lower case".into()
        } else if c == '_' {
            "it contains `_`; use `-` instead".into()
        } else {
            format!("it contains `{c}`; only lower-case letters, digits and `-` are allowed")
        });
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// RFC 1035 label: an RFC 1123 label that starts with a letter. Volcano's
/// `svc` plugin names a Service after each job, and Services need this.
pub(crate) fn dns1035_label(name: &str) -> Result<(), String> {
    dns1123_label(name)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a lower-case letter".into());
    }
    Ok(())
}

/// RFC 1123 subdomain: dot-separated RFC 1123 labels, at most 253 characters.
pub(crate) fn dns1123_subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 253 {
        return Err(format!(
            "it has {} characters, at most 253 are allowed",
            name.len()
        ));
    }
    if !name.contains('.') {
        return dns1123_label(name);
    }
    for part in name.split('.') {
        dns1123_label(part).map_err(|e| {
            if part.is_empty() {
                "it has an empty part between dots".to_string()
            } else {
                format!("part `{part}`: {e}")
            }
        })?;
    }
    Ok(())
}

/// The name half of a qualified name, and a label value when non-empty:
/// alphanumerics, `-`, `_`, `.`, alphanumeric at both ends, at most 63.
fn qualified_part(name: &str) -> Result<(), String> {
    if name.len() > 63 {
        return Err(format!(
            "it has {} characters, at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(if c == ' ' {
            "it contains a space".into()
        } else {
            format!(
                "it contains `{}`; only letters, digits, `-`, `_` and `.` are allowed",
                c.escape_default()
            )
        });
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A label or annotation key: `[prefix/]name`.
pub(crate) fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        dns1123_subdomain(prefix)
            .map_err(|e| format!("its prefix `{prefix}` is not a DNS subdomain: {e}"))?;
    }
    if name.is_empty() {
        return Err("its name part is empty".into());
    }
    qualified_part(name)
}

/// A label value: empty, or a qualified name part.
pub(crate) fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    qualified_part(value)
}

/// A ConfigMap or Secret key.
pub(crate) fn config_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 253 {
        return Err("it must have 1 to 253 characters".into());
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "it contains `{}`; only letters, digits, `-`, `_` and `.` are allowed",
            c.escape_default()
        ));
    }
    Ok(())
}

/// An environment variable name the wrapper script and a shell can read.
pub(crate) fn env_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(
            "environment variable names are letters, digits and `_`, not starting with a digit"
                .into(),
        );
    }
    Ok(())
}

/// A container image reference, as the Docker distribution grammar defines
/// it: `[host[:port]/]path[:tag][@algo:hex]`.
pub(crate) fn image(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("it is empty".into());
    }
    if let Some(c) = reference
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!("it contains whitespace `{}`", c.escape_default()));
    }
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    if let Some(digest) = digest {
        let (algo, hex) = digest
            .split_once(':')
            .ok_or_else(|| format!("digest `{digest}` must be `algorithm:hex`"))?;
        let algo_ok = algo.starts_with(|c: char| c.is_ascii_alphabetic())
            && algo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'));
        if !algo_ok || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("digest `{digest}` is not `sha256:<64 hex digits>`"));
        }
    }
    // A `:` after the last `/` starts the tag; one before it is a port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            return Err(format!(
                "tag `{tag}` must be 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
            ));
        }
    }
    if name.len() > 255 {
        return Err("its name is longer than 255 characters".into());
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components[0];
    if components.len() > 1 && (first.contains(['.', ':']) || first == "localhost") {
        let (host, port) = match first.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (first, None),
        };
        let host_ok = !host.is_empty()
            && host.split('.').all(|part| {
                !part.is_empty()
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !host_ok {
            return Err(format!("registry `{first}` is not a host name"));
        }
        if port.is_some_and(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit())) {
            return Err(format!("registry `{first}` has an invalid port"));
        }
        components.remove(0);
    }
    for component in components {
        path_component(component)?;
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn path_component(c: &str) -> Result<(), String> {
    if c.is_empty() {
        return Err("it has an empty path component".into());
    }
    if c.chars().any(|ch| ch.is_ascii_uppercase()) {
        return Err(format!(
            "repository `{c}` has upper-case letters; image names are lower case"
        ));
    }
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err(format!(
            "repository `{c}` must start and end with a letter or digit"
        ));
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        let sep_len = match b {
            b'.' => 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => bytes[i..].iter().take_while(|&&x| x == b'-').count(),
            _ => {
                return Err(format!(
                    "repository `{c}` contains `{}`; use lower-case letters, digits, `.`, `_` or `-`",
                    char::from(b).escape_default()
                ));
            }
        };
        i += sep_len;
        if !bytes.get(i).copied().is_some_and(alnum) {
            return Err(format!("repository `{c}` has two separators in a row"));
        }
    }
    Ok(())
}

/// An absolute POSIX path usable as a mount path.
pub(crate) fn absolute_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("it must be absolute (start with `/`)".into());
    }
    if path.contains('\n') || path.contains('\0') {
        return Err("it contains a newline or NUL".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("30s"), Ok(30));
        assert_eq!(duration("1h30m"), Ok(5400));
        assert_eq!(duration("2d"), Ok(172_800));
        assert!(duration("30").is_err());
        assert!(duration("30m1h").is_err());
        assert!(duration("5ms").is_err());
        assert!(duration("99999999999999999999s").is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity("500m").map(|q| q.milli), Ok(true));
        assert!((quantity("4Gi").map(|q| q.value).unwrap_or(0.0) - 4_294_967_296.0).abs() < 1.0);
        assert!(quantity("1e3").is_ok());
        assert!(quantity(".5").is_ok());
        assert!(quantity("4GB").is_err());
        assert!(quantity("-1").is_err());
        assert!(quantity("1.2.3").is_err());
        assert!(quantity("").is_err());
    }

    #[test]
    fn images() {
        for ok in [
            "python:3.12-slim",
            "registry.example.com/bench/stage-1:1.0",
            "localhost:5000/a/b",
            "ghcr.io/org/img@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "a__b/c--d.e",
        ] {
            assert_eq!(image(ok), Ok(()), "{ok}");
        }
        for bad in [
            "Python",
            "python:3.12 slim",
            "a//b",
            "a:",
            "a:-x",
            "a..b",
            "reg:x/a",
        ] {
            assert!(image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(dns1035_label("split-2").is_ok());
        assert!(dns1035_label("2split").is_err());
        assert!(dns1123_label("a_b").is_err());
        assert!(dns1123_subdomain("a.b-c").is_ok());
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("team name").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("Data Team").is_err());
        assert!(label_value(&"a".repeat(64)).is_err());
    }
}
