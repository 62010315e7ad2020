//! Commands that name a volume's mount path literally (`python3
//! /data/fetch.py` with `volume data { mount = "/data" }`): right in a pod,
//! wrong under `vcp run`, which puts the volume in a local folder and says
//! where in `$VCP_VOLUME_<NAME>`. A warning (E0802) with the command to write.

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic};
use crate::ir::{ArgPart, Command, Volume};
use crate::source::Span;
use crate::syntax::ast::Expr;

/// A literal mount path in a command: the volume, the byte range of the
/// whole path word in the command text, and its quoting there.
struct Found<'v> {
    volume: &'v Volume,
    start: usize,
    end: usize,
    quoting: Quoting,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Double,
    Single,
}

/// Bytes that continue a path (or a name) on either side of a mount path.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'$' | b'}' | b'~')
}

/// Where `text` names one of the volumes' mount paths as the start of a
/// path: `/data` or `/data/...`, not `/database` or `/mnt/data`.
fn find<'v>(text: &str, volumes: &'v [Volume]) -> Option<Found<'v>> {
    let bytes = text.as_bytes();
    let mut best: Option<Found<'v>> = None;
    for volume in volumes {
        let mount = volume.mount.trim_end_matches('/');
        if mount.is_empty() {
            continue;
        }
        for (start, _) in text.match_indices(mount) {
            let end = start + mount.len();
            let before_ok = start == 0 || !is_path_byte(bytes[start - 1]);
            let after_ok = bytes
                .get(end)
                .is_none_or(|&b| b == b'/' || !is_path_byte(b));
            if !(before_ok && after_ok) {
                continue;
            }
            // The rest of the path word, up to a character that ends a word.
            let word_end = text[end..]
                .find(|c: char| c.is_whitespace() || "\"';&|()<>`".contains(c))
                .map_or(text.len(), |i| end + i);
            if best.as_ref().is_none_or(|b| start < b.start) {
                best = Some(Found {
                    volume,
                    start,
                    end: word_end,
                    quoting: quoting_at(text, start),
                });
            }
            break;
        }
    }
    best
}

/// How many mount paths `text` names.
fn count(mut text: &str, volumes: &[Volume]) -> usize {
    let mut n = 0;
    while let Some(found) = find(text, volumes) {
        n += 1;
        text = &text[found.end.max(found.start + 1)..];
    }
    n
}

/// The shell quoting in force at byte `at` of `code`.
fn quoting_at(code: &str, at: usize) -> Quoting {
    let (mut single, mut double, mut escaped) = (false, false, false);
    for &b in &code.as_bytes()[..at] {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if !single => escaped = true,
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            _ => {}
        }
    }
    if single {
        Quoting::Single
    } else if double {
        Quoting::Double
    } else {
        Quoting::None
    }
}

impl PipelineChecker<'_> {
    /// Warns (E0802) when the command `field` (`run`, `reduce`), written as
    /// `v`, names a volume's mount path literally.
    pub(super) fn literal_mounts(
        &mut self,
        field: &str,
        v: &Expr,
        command: &Command,
        volumes: &[Volume],
    ) {
        let (text, found, argv) = match command {
            Command::Shell(code) => (code.clone(), find(code, volumes), false),
            Command::Argv(args) => {
                let found = args.iter().find_map(|arg| {
                    let text: String = arg
                        .iter()
                        .map(|p| match p {
                            ArgPart::Text(t) => t.as_str(),
                            ArgPart::Item => "{item}",
                        })
                        .collect();
                    find(&text, volumes).map(|f| (text, f))
                });
                match found {
                    Some((text, f)) => (text, Some(f), true),
                    None => return,
                }
            }
        };
        let Some(found) = found else { return };
        let volume = found.volume;
        let mount = volume.mount.trim_end_matches('/');
        let word = &text[found.start..found.end];
        let var = volume.env_name();
        let replaced = format!("${var}{}", &word[mount.len()..]);
        let mut help = if argv {
            format!(
                "an argument list has no shell to expand the variable: write the command as shell code, with `\"{replaced}\"` for `{word}`"
            )
        } else {
            match found.quoting {
                Quoting::Double => format!("write `{replaced}`"),
                Quoting::None => format!("write `\"{replaced}\"`"),
                Quoting::Single => format!(
                    "write `\"{replaced}\"`, outside the single quotes (no variable is expanded inside them)"
                ),
            }
        };
        let others = count(&text[found.end..], volumes);
        if others > 0 {
            help.push_str(&if others == 1 {
                ", and the same for the other mount path in this command".to_string()
            } else {
                format!(", and the same for the {others} other mount paths in this command")
            });
        }
        let span = self.word_span(v, word).unwrap_or(v.span());
        self.diags.push(
            Diagnostic::warning(
                Code::LiteralMount,
                span,
                format!(
                    "`{field}` names the mount path of volume `{}`: `{word}` exists in a pod, not under `vcp run`",
                    volume.name
                ),
            )
            .with_label(format!("`vcp run` has this volume at `${var}`"))
            .with_help(help),
        );
    }

    /// The span of `word` in the source of the command `v`, when the source
    /// shows it as written (no escapes in between).
    fn word_span(&self, v: &Expr, word: &str) -> Option<Span> {
        let strings: Vec<Span> = match v {
            Expr::Str(s) => vec![s.span],
            Expr::List { items, .. } => items
                .iter()
                .filter_map(|i| match i {
                    Expr::Str(s) => Some(s.span),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        strings.into_iter().find_map(|span| {
            let raw = self.sources.slice(span);
            raw.find(word).map(|i| span.sub(i, word.len()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(name: &str, mount: &str) -> Volume {
        Volume {
            name: name.into(),
            claim: "c".into(),
            mount: mount.into(),
            read_only: false,
            local: None,
        }
    }

    #[test]
    fn finds_mount_paths_where_a_path_starts() {
        let vols = [volume("data", "/data"), volume("lake", "/mnt/lake/")];
        let word = |text: &str| find(text, &vols).map(|f| text[f.start..f.end].to_string());
        assert_eq!(
            word("python3 /data/fetch.py").as_deref(),
            Some("/data/fetch.py")
        );
        assert_eq!(word("ls /data").as_deref(), Some("/data"));
        assert_eq!(word("cd /data && ls").as_deref(), Some("/data"));
        assert_eq!(word("x --in=/data/a.csv;").as_deref(), Some("/data/a.csv"));
        assert_eq!(
            word("cat \"/mnt/lake/a b\"").as_deref(),
            Some("/mnt/lake/a")
        );
        assert_eq!(word("ls /database /srv/data $HOME/data ~/data"), None);
        assert_eq!(word("ls \"$VCP_VOLUME_DATA/fetch.py\""), None);
        assert_eq!(
            word("a /mnt/lake/x /data/y").as_deref(),
            Some("/mnt/lake/x")
        );
    }

    #[test]
    fn knows_the_quoting() {
        assert!(quoting_at("echo \"a /data", 8) == Quoting::Double);
        assert!(quoting_at("echo 'a /data", 8) == Quoting::Single);
        assert!(quoting_at("echo \\\"a /data", 9) == Quoting::None);
        assert!(quoting_at("echo \"it's\" /data", 12) == Quoting::None);
    }
}
