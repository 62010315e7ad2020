//! What to write instead: the nearest valid value for an invalid one, for
//! the help line of a diagnostic (`LOG-LEVEL` -> `LOG_LEVEL`, `16GB` ->
//! `16Gi`, `Warehouse_Credentials` -> `warehouse-credentials`). Every
//! suggestion is checked against the rule it must satisfy, so a help never
//! proposes a value that would be rejected in turn.

use super::values;

/// A Kubernetes name that `rule` accepts, made from `name`: lower case, every
/// run of other characters (`_`, spaces, `.` where the rule has no dots)
/// turned into one `-`, trimmed, at most `max` characters. `None` when
/// nothing valid comes out.
pub(crate) fn k8s_name(name: &str, rule: fn(&str) -> Result<(), String>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    // Keep dots where the rule accepts them (subdomains), else make them `-`.
    let keep_dots = rule("a.b").is_ok();
    let mut out = String::new();
    for c in lower.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || (keep_dots && c == '.') {
            c
        } else {
            '-'
        };
        let joins = matches!((out.chars().last(), c), (Some('-' | '.'), '-' | '.'));
        if !(joins || (out.is_empty() && matches!(c, '-' | '.'))) {
            out.push(c);
        }
    }
    let max = if keep_dots { 253 } else { 63 };
    out.truncate(max);
    let out = out.trim_end_matches(['-', '.']).to_string();
    (out != name && rule(&out).is_ok()).then_some(out)
}

/// A label value (or the name part of a label key) made from `value`:
/// characters other than letters, digits, `-`, `_` and `.` become `-`, the
/// ends are trimmed to a letter or digit, at most 63 characters.
pub(crate) fn label_value(value: &str) -> Option<String> {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut out = mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    out.truncate(63);
    let out = out
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    (!out.is_empty() && out != value && values::label_value(&out).is_ok()).then_some(out)
}

/// A label or annotation key made from `key`: its prefix a DNS subdomain,
/// its name a label value.
pub(crate) fn qualified_name(key: &str) -> Option<String> {
    let out = match key.split_once('/') {
        Some((prefix, name)) => {
            let prefix = if values::dns1123_subdomain(prefix).is_ok() {
                prefix.to_string()
            } else {
                k8s_name(prefix, values::dns1123_subdomain)?
            };
            let name = label_value(name).unwrap_or_else(|| name.to_string());
            format!("{prefix}/{name}")
        }
        None => label_value(key)?,
    };
    (out != key && values::qualified_name(&out).is_ok()).then_some(out)
}

/// An environment variable name made from `name`: other characters become
/// `_`, and a leading digit gets a `_` before it.
pub(crate) fn env_name(name: &str) -> Option<String> {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    (out != name && values::env_name(&out).is_ok()).then_some(out)
}

/// For a quantity written with a unit of everyday speech (`16GB`, `4gb`,
/// `512MiB`, `2K`): the binary and the decimal forms Kubernetes reads.
pub(crate) fn quantity(text: &str) -> Option<(String, String)> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, suffix) = text.split_at(split);
    let unit = suffix
        .trim()
        .trim_end_matches(['B', 'b'])
        .to_ascii_lowercase();
    let (binary, decimal) = match unit.trim_end_matches('i') {
        "k" => ("Ki", "k"),
        "m" => ("Mi", "M"),
        "g" => ("Gi", "G"),
        "t" => ("Ti", "T"),
        "p" => ("Pi", "P"),
        _ => return None,
    };
    let forms = (format!("{number}{binary}"), format!("{number}{decimal}"));
    (values::quantity(&forms.0).is_ok() && values::quantity(&forms.1).is_ok()).then_some(forms)
}

/// A duration vcp reads, for one written with other units or in another
/// order (`90` -> `1m30s` is not guessed: a bare number has no unit to
/// keep; `30min` -> `30m`, `1.5h` -> `1h30m`, `30m1h` -> `1h30m`).
pub(crate) fn duration(text: &str) -> Option<String> {
    let mut seconds = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let letters = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = match rest[..letters].to_ascii_lowercase().as_str() {
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" | "week" | "weeks" => 604_800.0,
            _ => return None,
        };
        seconds += number * unit;
        rest = rest[letters..].trim_start();
    }
    if seconds.fract() != 0.0 || !(1.0..1e15).contains(&seconds) {
        return None;
    }
    let out = format_duration(seconds as u64);
    (out != text && values::duration(&out) == Ok(seconds as u64)).then_some(out)
}

/// `5400` -> `1h30m`: the largest units first, each once.
pub(crate) fn format_duration(mut seconds: u64) -> String {
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if seconds >= size {
            out.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// An image reference made from `image`: its first word (what follows a
/// space is usually an option or a command), the repository in lower case,
/// when that is valid.
pub(crate) fn image(image: &str) -> Option<String> {
    let first = image.split_whitespace().next()?;
    let (name, tag) = match first.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), Some(t.to_string())),
        _ => (first.to_string(), None),
    };
    let out = match tag {
        Some(t) => format!("{}:{t}", name.to_ascii_lowercase()),
        None => name.to_ascii_lowercase(),
    };
    (out != image && values::image(&out).is_ok()).then_some(out)
}

/// An absolute path made from a relative one: `data/x` -> `/data/x`.
pub(crate) fn absolute_path(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches("./").trim_start_matches('/');
    let out = format!("/{trimmed}");
    (!trimmed.is_empty() && values::absolute_path(&out).is_ok()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let k = |n| k8s_name(n, values::dns1123_label);
        assert_eq!(
            k("Warehouse_Credentials").as_deref(),
            Some("warehouse-credentials")
        );
        assert_eq!(k("Data.Platform").as_deref(), Some("data-platform"));
        assert_eq!(k("__x__").as_deref(), Some("x"));
        assert_eq!(k("ok"), None);
        assert_eq!(k("___"), None);
        assert_eq!(
            k8s_name("Data.Platform", values::dns1123_subdomain).as_deref(),
            Some("data.platform")
        );
        assert_eq!(k8s_name("2split", values::dns1035_label), None);
        assert_eq!(k(&"a".repeat(70)).map(|s| s.len()), Some(63));
    }

    #[test]
    fn labels_and_env() {
        assert_eq!(
            label_value("NVIDIA A100 80GB").as_deref(),
            Some("NVIDIA-A100-80GB")
        );
        assert_eq!(
            qualified_name("cost center").as_deref(),
            Some("cost-center")
        );
        assert_eq!(
            qualified_name("Example.com/team name").as_deref(),
            Some("example.com/team-name")
        );
        assert_eq!(env_name("LOG-LEVEL").as_deref(), Some("LOG_LEVEL"));
        assert_eq!(env_name("1X").as_deref(), Some("_1X"));
        assert_eq!(env_name("OK"), None);
    }

    #[test]
    fn units() {
        assert_eq!(quantity("16GB"), Some(("16Gi".into(), "16G".into())));
        assert_eq!(quantity("512MiB"), Some(("512Mi".into(), "512M".into())));
        assert_eq!(quantity("2K"), Some(("2Ki".into(), "2k".into())));
        assert_eq!(quantity("1.5gb"), Some(("1.5Gi".into(), "1.5G".into())));
        assert_eq!(quantity("4x"), None);
        assert_eq!(duration("30min").as_deref(), Some("30m"));
        assert_eq!(duration("1.5h").as_deref(), Some("1h30m"));
        assert_eq!(duration("30m1h").as_deref(), Some("1h30m"));
        assert_eq!(duration("2 hours").as_deref(), Some("2h"));
        assert_eq!(duration("90"), None);
        assert_eq!(duration("0.5s"), None);
        assert_eq!(format_duration(90_061), "1d1h1m1s");
    }

    #[test]
    fn images_and_paths() {
        assert_eq!(image("Python:3.12").as_deref(), Some("python:3.12"));
        assert_eq!(image("etl:2.3.1 --rm").as_deref(), Some("etl:2.3.1"));
        assert_eq!(image("python:3.12"), None);
        assert_eq!(absolute_path("lake").as_deref(), Some("/lake"));
        assert_eq!(absolute_path("./code").as_deref(), Some("/code"));
    }
}
