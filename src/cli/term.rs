//! What the terminal asks of diagnostics: colours and width. The decisions
//! are pure functions of the environment's variables (passed in, so they
//! are tested without touching the process's own environment).

use super::args::ColorChoice;
use super::render::Style;
use std::ffi::OsString;
use std::io::IsTerminal;

/// Diagnostics wrap at this width when neither `COLUMNS` nor a terminal says.
const DEFAULT_WIDTH: usize = 100;
/// Narrower than this, miette's excerpts stop being readable.
const MIN_WIDTH: usize = 40;

/// The style of diagnostics on stderr for this process.
pub(crate) fn stderr_style(choice: ColorChoice) -> Style {
    let var = |name: &str| std::env::var_os(name);
    let stderr = std::io::stderr();
    let terminal = stderr.is_terminal();
    let columns = terminal_size::terminal_size_of(&stderr).map(|(w, _)| usize::from(w.0));
    Style {
        color: color(choice, var, terminal),
        width: width(var, columns),
    }
}

/// Whether to colour: `--color always|never` decide; under `auto`, a
/// non-empty `NO_COLOR` turns colours off (no-color.org), then
/// `CLICOLOR_FORCE` (other than `0`) or `FORCE_COLOR` (other than `0` or
/// `false`) turn them on even into a pipe or a CI log, `CLICOLOR=0` turns
/// them off, and otherwise a terminal that is not `TERM=dumb` gets them.
/// The order is the one anstream (clap's colours) follows.
pub(crate) fn color(
    choice: ColorChoice,
    var: impl Fn(&str) -> Option<OsString>,
    terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => return true,
        ColorChoice::Never => return false,
        ColorChoice::Auto => {}
    }
    if var("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if var("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    if let Some(v) = var("FORCE_COLOR") {
        return v != "0" && v != "false";
    }
    if var("CLICOLOR").is_some_and(|v| v == "0") {
        return false;
    }
    terminal && var("TERM").is_none_or(|t| t != "dumb")
}

/// The width diagnostics wrap at: `COLUMNS` when it holds a number (set by
/// the user, or exported by the shell), else the terminal's, else 100; never
/// below 40.
pub(crate) fn width(var: impl Fn(&str) -> Option<OsString>, terminal: Option<usize>) -> usize {
    let columns = var("COLUMNS")
        .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<usize>().ok()))
        .filter(|n| *n > 0);
    columns
        .or(terminal.filter(|n| *n > 0))
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn flags_win_over_the_environment() {
        let forced = env(&[("CLICOLOR_FORCE", "1")]);
        assert!(!color(ColorChoice::Never, &forced, true));
        assert!(color(ColorChoice::Always, env(&[("NO_COLOR", "1")]), false));
    }

    #[test]
    fn auto_follows_the_conventions() {
        let auto =
            |pairs: &[(&str, &str)], terminal| color(ColorChoice::Auto, env(pairs), terminal);
        assert!(auto(&[], true));
        assert!(!auto(&[], false));
        assert!(!auto(&[("TERM", "dumb")], true));
        assert!(!auto(&[("NO_COLOR", "1")], true));
        // An empty NO_COLOR is not set (no-color.org).
        assert!(auto(&[("NO_COLOR", "")], true));
        assert!(auto(&[("CLICOLOR_FORCE", "1")], false));
        assert!(!auto(&[("CLICOLOR_FORCE", "0")], false));
        assert!(auto(&[("FORCE_COLOR", "1")], false));
        assert!(auto(&[("FORCE_COLOR", "")], false));
        assert!(!auto(&[("FORCE_COLOR", "0")], true));
        assert!(!auto(&[("FORCE_COLOR", "false")], true));
        assert!(!auto(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")], false));
        assert!(!auto(&[("CLICOLOR", "0")], true));
    }

    #[test]
    fn width_follows_columns_then_the_terminal() {
        assert_eq!(width(env(&[]), None), 100);
        assert_eq!(width(env(&[]), Some(132)), 132);
        assert_eq!(width(env(&[("COLUMNS", "72")]), Some(132)), 72);
        assert_eq!(width(env(&[("COLUMNS", "wide")]), Some(90)), 90);
        assert_eq!(width(env(&[("COLUMNS", "0")]), None), 100);
        assert_eq!(width(env(&[("COLUMNS", "12")]), None), 40);
    }
}
