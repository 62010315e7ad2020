//! `{item}` and `${param}` in shell code, in every context docs/language.md
//! ("Commands") says keeps the value exact: random text around them, random
//! hostile items and parameter values, the generated worker run with dash,
//! bash and busybox `sh` as the `sh` of `sh -c`. Each command writes what it
//! received; it must be what the docs say, byte for byte.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRng, TestRunner};
use std::process::Command;
use vcp::check::{MemoryLoader, Options};

/// A context: shell code around `@` (where `{item}` or `${p}` goes, with
/// random literal text at `«` before and `»` after), and what the command must write
/// for a value `v`: the text before, `v`, the text after, per the docs' table.
const CONTEXTS: &[(&str, &str)] = &[
    // A word: one argument, never split or globbed.
    ("set -- «@»; printf '%s:%s' \"$#\" \"$1\"", "1:"),
    // Inside double quotes.
    ("printf '%s' \"«@»\"", ""),
    // Inside $(...), in a word and in double quotes.
    ("x=$(printf '%s' «@»); printf '%s' \"$x\"", ""),
    ("printf '%s' \"$(printf '%s' \"«@»\")\"", ""),
    // Inside ${VAR:-...}, unquoted and double-quoted.
    (
        "set -- ${VCP_UNSET:-«@»}; printf '%s:%s' \"$#\" \"$1\"",
        "1:",
    ),
    ("printf '%s' \"${VCP_UNSET:-«@»}\"", ""),
    // A case subject and pattern inside $(...).
    (
        "x=\"$(case «@» in «@») printf '%s' «@» ;; *) echo no ;; esac)\"; printf '%s' \"$x\"",
        "",
    ),
    // An unquoted here-document (its line ends in a newline, cut by $(...)).
    ("x=$(cat <<EOF\n«@»\nEOF\n); printf '%s' \"$x\"", ""),
];

/// Literal text for `P`/`S`: characters every one of the contexts above
/// reads as themselves (no quotes, `$`, backslash, blanks or `)`).
fn affix() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.,:=+%^-]{0,3}"
}

/// Hostile items: quotes, `$`, backslashes, globs, blanks, `{item}` itself.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-a-z $'\"\\\\*?\\[\\]{}()`;&|<>#~!=\t]{1,10}",
        "[ -~]{1,12}",
        Just("{item}".to_string()),
        Just("$(touch /tmp/vcp-pwned-q)".to_string()),
        Just("EOF".to_string()),
    ]
}

#[test]
fn values_arrive_exactly_as_the_docs_say_under_every_shell() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(Default::default()),
    );
    let cases = crate::common::cases(400) as usize;
    let mut items = Vec::new();
    let mut params = Vec::new();
    for _ in 0..cases {
        items.push(value().new_tree(&mut runner).expect("value").current());
        params.push(value().new_tree(&mut runner).expect("value").current());
    }
    // One stage per context and case: `{item}` in the run, `${p<i>}` in the reduce.
    let mut src = String::from("pipeline q {\n  image = \"busybox:1.36\"\n");
    for (i, p) in params.iter().enumerate() {
        src.push_str(&format!(
            "  param p{i}: string = {}\n",
            crate::common::literal(p)
        ));
    }
    let mut expected = Vec::new();
    for (c, (code, head)) in CONTEXTS.iter().enumerate() {
        let mut list = Vec::new();
        let mut want = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let pre = affix().new_tree(&mut runner).expect("affix").current();
            let suf = affix().new_tree(&mut runner).expect("affix").current();
            list.push((pre.clone(), suf.clone()));
            want.push((
                format!("{head}{pre}{item}{suf}"),
                format!("{head}{pre}{}{suf}", params[i]),
            ));
        }
        // Each item is an index; the code picks its own affixes by index.
        let mut run = String::from("case $VCP_ITEM_INDEX in\n");
        let mut reduce = String::new();
        for (i, (pre, suf)) in list.iter().enumerate() {
            let with = |slot: &str| code.replace('«', pre).replace('»', suf).replace('@', slot);
            run.push_str(&format!(
                "{i}) {{\n{}\n}} >\"$VCP_WORK_DIR/out-{i}\" ;;\n",
                with("{item}")
            ));
            // A marker per slot until the code is a vcp literal, which would escape
            // the `$` of `${p<i>}`.
            reduce.push_str(&format!(
                "{{\n{}\n}} >\"$VCP_WORK_DIR/param-{i}\"\n",
                with(&format!("\u{1}{i}\u{2}"))
            ));
        }
        run.push_str("esac");
        let items_list: Vec<String> = items.iter().map(|s| crate::common::literal(s)).collect();
        src.push_str(&format!(
            "  stage c{c} {{\n    shard = [{}]\n    run = {}\n    reduce = {}\n  }}\n",
            items_list.join(", "),
            crate::common::literal(&run),
            {
                let mut code = crate::common::literal(&reduce);
                for i in 0..items.len() {
                    code = code.replace(&format!("\u{1}{i}\u{2}"), &format!("${{p{i}}}"));
                }
                code
            },
        ));
        expected.push(want);
    }
    src.push_str("}\n");
    let mut loader = MemoryLoader::new([("q.vcp".to_string(), src.clone())]);
    let (checked, output) = vcp::compile(&["q.vcp".to_string()], &mut loader, &Options::default());
    let Some(output) = output else {
        panic!("{:?}", checked.diagnostics);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    for (path, text) in output.into_strings() {
        if let Some(name) = path.strip_prefix("q/scripts/") {
            std::fs::write(scripts.join(name), text).expect("write");
        }
    }
    for shell in ["dash", "bash", "busybox"] {
        if !crate::common::require_tool(shell) {
            continue;
        }
        // The wrapper runs `sh -c`: `sh` is the shell under test.
        let bin = dir.path().join(format!("bin-{shell}"));
        std::fs::create_dir_all(&bin).expect("mkdir");
        let sh = bin.join("sh");
        let body = if shell == "busybox" {
            "#!/bin/dash\nexec busybox sh \"$@\"\n".to_string()
        } else {
            format!("#!/bin/dash\nexec {shell} \"$@\"\n")
        };
        std::fs::write(&sh, body).expect("write");
        std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        for (c, want) in expected.iter().enumerate() {
            for (script, file) in [
                (format!("c{c}.sh"), "out"),
                (format!("c{c}-reduce.sh"), "param"),
            ] {
                let work = dir.path().join(format!("{shell}-{c}-{file}"));
                let out = Command::new(&sh)
                    .arg(scripts.join(&script))
                    .env("PATH", &path)
                    .env("VC_TASK_INDEX", "0")
                    .env("VC_WORKER_NUM", "1")
                    .env("VCP_WORK_DIR", &work)
                    .output()
                    .expect("shell runs");
                assert!(
                    out.status.success(),
                    "{shell} {script}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                for (i, (item, param)) in want.iter().enumerate() {
                    let expect = if file == "out" { item } else { param };
                    let got = std::fs::read(work.join(format!("{file}-{i}")))
                        .unwrap_or_else(|e| panic!("{shell} {script} {file}-{i}: {e}"));
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        *expect,
                        "{shell}, context {:?}, case {i}",
                        CONTEXTS[c].0
                    );
                }
            }
        }
    }
    assert!(
        !std::path::Path::new("/tmp/vcp-pwned-q").exists(),
        "a value ran as code"
    );
}
