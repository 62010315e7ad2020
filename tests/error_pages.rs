//! The pages of `docs/errors/` (what `vcp explain` prints) cannot go stale:
//!
//! - an example followed by "`vcp check tests/ui/<case> [--set ...]`
//!   reports:" is that UI case, byte for byte, and the ```text block after
//!   it is what vcp prints for it today (the rendering the UI snapshots
//!   hold). `VCP_BLESS=1 cargo test` rewrites both from the case and the
//!   binary's current output; read the diff;
//! - every other ```vcp block (the fixes) checks without errors and without
//!   the page's own code: a whole file as it is, a fragment inside a
//!   pipeline and a stage (its stages and volumes in the pipeline, each of
//!   its fields on its own, in the block that has that field).

use vcp::check::Options;
use vcp::check::fields::BlockKind;
use vcp::diag::Code;

/// One fenced block of a page: its info string, its text, and where the
/// text sits in the page (byte range of the content between the fences).
struct Fence {
    info: String,
    body: String,
    range: std::ops::Range<usize>,
    /// The prose between the previous fence and this one.
    before: String,
}

fn fences(page: &str) -> Vec<Fence> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut prose_start = 0;
    while let Some(open) = page[pos..].find("```").map(|i| pos + i) {
        let info_end = page[open..].find('\n').map_or(page.len(), |i| open + i);
        let info = page[open + 3..info_end].trim().to_string();
        let start = (info_end + 1).min(page.len());
        let Some(close) = page[start..].find("\n```").map(|i| start + i + 1) else {
            break;
        };
        out.push(Fence {
            info,
            body: page[start..close].to_string(),
            range: start..close,
            before: page[prose_start..open].to_string(),
        });
        pos = close + 3;
        prose_start = pos;
    }
    out
}

/// The case a ```text block shows: from "`vcp check <case> <args>` reports:".
fn reported_case(prose: &str) -> Option<(String, Vec<String>)> {
    let line = prose
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with("reports:"))?;
    let command = line.split('`').nth(1)?;
    let mut words = command.split_whitespace();
    (words.next()? == "vcp" && words.next()? == "check").then_some(())?;
    let case = words.next()?.to_string();
    Some((case, words.map(str::to_string).collect()))
}

/// Serves a page's example as a file of `tests/ui/` (whose `lib/` its
/// imports may name), and the other files from the disk.
struct ExampleLoader {
    name: String,
    text: String,
}

impl vcp::check::Loader for ExampleLoader {
    fn load(&mut self, path: &str) -> Result<String, String> {
        if path == self.name {
            Ok(self.text.clone())
        } else {
            vcp::cli::FsLoader.load(path)
        }
    }
}

/// A fix example read as a file: the diagnostics it gets.
fn check_text(text: &str) -> Vec<vcp::diag::Diagnostic> {
    let name = "tests/ui/docs-example.vcp".to_string();
    let mut loader = ExampleLoader {
        name: name.clone(),
        text: text.to_string(),
    };
    let (checked, _) = vcp::compile(&[name], &mut loader, &Options::default());
    checked.diagnostics
}

/// The top-level entries of a fragment: each starts on a line at depth 0,
/// outside strings.
fn entries(fragment: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0i32;
    let mut in_triple = false;
    for line in fragment.lines() {
        let starts_entry = depth == 0 && !in_triple && !line.trim().is_empty();
        if starts_entry && !line.trim_start().starts_with('#') {
            out.push(String::new());
        }
        if let Some(last) = out.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
        let mut chars = line.char_indices().peekable();
        let mut in_string = false;
        while let Some((i, c)) = chars.next() {
            if in_triple {
                if line[i..].starts_with("\"\"\"") {
                    in_triple = false;
                    chars.nth(1);
                }
                continue;
            }
            if in_string {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '#' => break,
                '"' if line[i..].starts_with("\"\"\"") => {
                    in_triple = true;
                    chars.nth(1);
                }
                '"' => in_string = true,
                '{' | '[' | '(' => depth += 1,
                '}' | ']' | ')' => depth -= 1,
                _ => {}
            }
        }
    }
    out
}

/// The names `after = [...]` lists in `text`.
fn after_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in text.split("after").skip(1) {
        let Some(list) = part
            .trim_start()
            .strip_prefix('=')
            .and_then(|p| p.trim_start().strip_prefix('['))
        else {
            continue;
        };
        let list = list.split(']').next().unwrap_or("");
        out.extend(
            list.split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
        );
    }
    out
}

/// A fragment as the files it is checked as: its stages and volumes in one
/// pipeline (with a stand-in for each stage their `after` names and the
/// fragment does not define), then each field in the block it belongs to.
fn fragment_files(fragment: &str) -> Vec<String> {
    let mut decls = Vec::new();
    let mut files = Vec::new();
    for entry in entries(fragment) {
        let first = entry.split_whitespace().next().unwrap_or("");
        if first == "stage" || first == "volume" {
            decls.push(entry);
            continue;
        }
        let key = first.trim_end_matches(['=', '{']);
        let in_pipeline =
            BlockKind::Stage.field(key).is_none() && BlockKind::Pipeline.field(key).is_some();
        let mut run = if key == "run" {
            String::new()
        } else {
            "    run = \"true\"\n".to_string()
        };
        if entry.contains("{item}") && key != "shard" {
            // A command of a sharded stage, shown without its `shard`.
            run.push_str("    shard = range(3)\n");
        }
        files.push(if in_pipeline {
            format!(
                "pipeline docs {{\n  image = \"python:3.12-slim\"\n{entry}  stage s {{\n{run}  }}\n}}\n"
            )
        } else {
            format!(
                "pipeline docs {{\n  image = \"python:3.12-slim\"\n  stage s {{\n{run}{entry}  }}\n}}\n"
            )
        });
    }
    if !decls.is_empty() {
        let text = decls.concat();
        let mut file = String::from("pipeline docs {\n  image = \"python:3.12-slim\"\n");
        for name in after_names(&text) {
            if !text.contains(&format!("stage {name} ")) {
                file.push_str(&format!("  stage {name} {{ run = \"true\" }}\n"));
            }
        }
        if text.contains("stage ") {
            file.push_str(&text);
        } else {
            file.push_str(&text);
            file.push_str("  stage s { run = \"true\" }\n");
        }
        file.push_str("}\n");
        files.push(file);
    }
    files
}

fn is_whole_file(text: &str) -> bool {
    text.lines().any(|l| {
        ["pipeline ", "template ", "import "]
            .iter()
            .any(|k| l.starts_with(k))
    })
}

/// What is wrong with one page; with `bless`, the page as it should be.
fn check_page(code: Code, bless: bool) -> (Vec<String>, String) {
    let root = crate::common::root();
    let rel = format!("docs/errors/{}.md", code.as_str());
    let page = std::fs::read_to_string(root.join(&rel)).expect("page");
    let blocks = fences(&page);
    let mut problems = Vec::new();
    // Replacements (range, new text), applied back to front when blessing.
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut shown_cases = 0;
    let mut bound = vec![false; blocks.len()];
    for (i, block) in blocks.iter().enumerate() {
        if block.info != "text" {
            continue;
        }
        let actual = if let Some((case, _)) =
            reported_case(&block.before).filter(|(case, _)| case.starts_with("tests/ui/generated/"))
        {
            // Generated by tests/ui.rs (too large to commit): the example
            // before it is an excerpt.
            if case != "tests/ui/generated/E0506-scripts-too-large.vcp" {
                problems.push(format!("{rel}: no generated case `{case}` (tests/ui.rs)"));
                continue;
            }
            if let Some(j) = i.checked_sub(1) {
                bound[j] = true;
            }
            shown_cases += 1;
            crate::ui::scripts_too_large().0
        } else if let Some((case, args)) = reported_case(&block.before) {
            let path = root.join(&case);
            let Ok(text) = std::fs::read_to_string(&path) else {
                problems.push(format!("{rel}: shows `{case}`, which does not exist"));
                continue;
            };
            let case_args = crate::ui::case_args(&text);
            if case_args != args {
                problems.push(format!(
                    "{rel}: `{case}` is run with {case_args:?}, the page says {args:?}"
                ));
            }
            match i.checked_sub(1).map(|j| &blocks[j]) {
                Some(example) if example.info == "vcp" => {
                    bound[i - 1] = true;
                    if example.body != text {
                        problems.push(format!(
                            "{rel}: the example before `{case}`'s output is not the case's text"
                        ));
                        edits.push((example.range.clone(), text.clone()));
                    }
                }
                _ => problems.push(format!("{rel}: no ```vcp example before `{case}`'s output")),
            }
            shown_cases += 1;
            let (rendered, _) = crate::ui::run_case(&path);
            strip_outcome(&rendered)
        } else {
            problems.push(format!(
                "{rel}: a ```text block that is not \"`vcp check tests/ui/<case>` reports:\""
            ));
            continue;
        };
        if block.body != actual {
            problems.push(format!(
                "{rel}: the output shown for the example differs from what vcp prints:\n--- page\n{}--- vcp\n{actual}",
                block.body
            ));
            edits.push((block.range.clone(), actual));
        }
    }
    if shown_cases == 0 {
        problems.push(format!("{rel}: no example with vcp's output"));
    }
    for (block, _) in blocks
        .iter()
        .zip(&bound)
        .filter(|(b, bound)| b.info == "vcp" && !**bound)
    {
        let files = if is_whole_file(&block.body) {
            vec![block.body.clone()]
        } else {
            fragment_files(&block.body)
        };
        for file in files {
            let bad: Vec<String> = check_text(&file)
                .iter()
                .filter(|d| d.is_error() || d.code == code)
                .map(|d| format!("{}: {}", d.code.as_str(), d.message))
                .collect();
            if !bad.is_empty() {
                problems.push(format!(
                    "{rel}: an example that should check cleanly gets {bad:?}, as\n{file}"
                ));
            }
        }
    }
    let mut new_page = page.clone();
    if bless {
        edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (range, text) in edits {
            new_page.replace_range(range, &text);
        }
    }
    (problems, new_page)
}

/// `run_case`'s rendering without its last line (`--> failed: ...`), which
/// is the snapshot's, not vcp's.
fn strip_outcome(rendered: &str) -> String {
    let body = rendered.trim_end_matches('\n');
    match body.rfind('\n') {
        Some(i) if body[i + 1..].starts_with("--> ") => format!("{}\n", &body[..i]),
        _ if body.starts_with("--> ") => String::new(),
        _ => rendered.to_string(),
    }
}

#[test]
fn error_pages_show_what_vcp_prints() {
    let bless = crate::common::blessing();
    let mut problems = Vec::new();
    for &code in Code::ALL {
        let (found, new_page) = check_page(code, bless);
        if bless {
            let path = crate::common::root().join(format!("docs/errors/{}.md", code.as_str()));
            let old = std::fs::read_to_string(&path).expect("page");
            if old != new_page {
                std::fs::write(&path, new_page).expect("write page");
            }
            // What blessing cannot fix (a fix example with errors) still fails.
            problems.extend(
                check_page(code, false)
                    .0
                    .into_iter()
                    .filter(|p| p.contains("should check cleanly") || p.contains("does not exist")),
            );
        } else {
            problems.extend(found);
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems in docs/errors (`VCP_BLESS=1 cargo test --test main error_pages` rewrites the examples and outputs):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn fragments_split_into_entries() {
    assert_eq!(
        entries("run = \"\"\"\n  a {\n\"\"\"\nworkers = 4\n# note\nx { a = [\n 1,\n] }\n"),
        [
            "run = \"\"\"\n  a {\n\"\"\"\n",
            "workers = 4\n# note\n",
            "x { a = [\n 1,\n] }\n"
        ]
    );
    assert_eq!(after_names("stage a { after = [b, c] }"), ["b", "c"]);
}
