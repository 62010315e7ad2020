//! The features on in-memory documents: a workspace whose files are all
//! open (nothing is read from disk), checked, then asked what an editor
//! asks. The protocol around them is tested in tests/lsp.rs.

use super::text::{LineIndex, path_to_uri};
use super::workspace::Workspace;
use super::{actions, hover, navigate};
use std::path::{Path, PathBuf};

const ROOT: &str = "/nonexistent/vcp-lsp-unit";

const LIB: &str = "template base {\n  retry = 2\n  env { A = \"1\" }\n}\ntemplate gpu {\n  use = base\n  env { B = \"2\" }\n  resources { gpu = 1 }\n}\n";

const MAIN: &str = "import \"lib.vcp\"\n\npipeline p {\n  param day: string = \"d1\"\n  volume data { claim = \"c\", mount = \"/data\" }\n\n  stage a {\n    use = gpu\n    workers = 2\n    shard = [\"x\", \"y\", \"z\"] by hash\n    run = \"ls $VCP_VOLUME_DATA/${day}/{item}\"\n  }\n\n  stage b {\n    after = [a]\n    run = \"echo ${day}\"\n  }\n  image = \"python:3.12-slim\"\n}\n";

fn workspace(files: &[(&str, &str)]) -> Workspace {
    let mut ws = Workspace::new(PathBuf::from(ROOT));
    for (name, text) in files {
        let uri = path_to_uri(&Path::new(ROOT).join(name)).expect("a URI");
        ws.open(uri, (*text).to_string(), 1);
    }
    ws.flush();
    ws
}

fn offset(text: &str, needle: &str, skip: usize) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("`{needle}`")) + skip
}

#[test]
fn a_clean_workspace_has_no_diagnostics_and_hovers() {
    let ws = workspace(&[("lib.vcp", LIB), ("main.vcp", MAIN)]);
    let a = ws.analysis_for("main.vcp").expect("checked");
    assert!(
        a.checked.diagnostics.is_empty(),
        "{:?}",
        a.checked.diagnostics
    );
    let (text, ..) = hover::hover(&ws, "main.vcp", offset(MAIN, "stage a", 6)).expect("stage");
    assert!(
        text.contains("`p-p-a-worker-1`, is 14 of 63 characters, **49 left**"),
        "{text}"
    );
    assert!(text.contains("JobTemplate `p-a` in JobFlow `p`"), "{text}");
    assert!(text.contains("shard: 3 items by `hash`"), "{text}");
    let (text, ..) = hover::hover(&ws, "main.vcp", offset(MAIN, "use = gpu", 7)).expect("template");
    for field in [
        "retry = 2",
        "env.A = \"1\"",
        "env.B = \"2\"",
        "resources.gpu = 1",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }
    let (text, ..) = hover::hover(&ws, "main.vcp", offset(MAIN, "${day}/", 3)).expect("param");
    assert!(
        text.contains("value `d1`") && text.contains("$VCP_PARAM_DAY"),
        "{text}"
    );
    let (text, ..) = hover::hover(&ws, "main.vcp", offset(MAIN, "by hash", 4)).expect("strategy");
    assert!(text.contains("cksum"), "{text}");
    let (text, ..) = hover::hover(&ws, "main.vcp", offset(MAIN, "claim", 1)).expect("field");
    assert!(text.contains("PersistentVolumeClaim"), "{text}");
}

#[test]
fn definitions_and_references_cross_files() {
    let ws = workspace(&[("lib.vcp", LIB), ("main.vcp", MAIN)]);
    let def = navigate::definition(&ws, "main.vcp", offset(MAIN, "use = gpu", 7));
    assert_eq!(def.len(), 1);
    assert!(def[0].uri.as_str().ends_with("/lib.vcp"));
    assert_eq!(def[0].range.start.line, 4);
    // From `$VCP_VOLUME_DATA` to the volume, and its references.
    let at_var = offset(MAIN, "VCP_VOLUME_DATA", 12);
    let def = navigate::definition(&ws, "main.vcp", at_var);
    assert_eq!(def.len(), 1);
    assert_eq!(def[0].range.start.line, 4);
    let refs = navigate::references(&ws, "main.vcp", offset(MAIN, "${day}/", 3), true);
    assert_eq!(refs.len(), 3, "{refs:?}");
    // A template used by a template: `base` has its declaration and one use.
    let refs = navigate::references(&ws, "lib.vcp", offset(LIB, "base", 0), true);
    assert_eq!(refs.len(), 2, "{refs:?}");
}

#[test]
fn renames_follow_every_form_and_refuse_what_the_checker_rejects() {
    let ws = workspace(&[("lib.vcp", LIB), ("main.vcp", MAIN)]);
    let edit = navigate::rename(
        &ws,
        "main.vcp",
        offset(MAIN, "volume data", 8),
        "scratch-space",
    )
    .expect("renamed");
    let changes = edit.changes.expect("changes");
    let edits: Vec<&str> = changes
        .values()
        .flatten()
        .map(|e| e.new_text.as_str())
        .collect();
    assert_eq!(edits, ["scratch-space", "SCRATCH_SPACE"]);
    let edit =
        navigate::rename(&ws, "main.vcp", offset(MAIN, "stage a", 6), "first").expect("renamed");
    assert_eq!(edit.changes.expect("changes").values().flatten().count(), 2);
    for bad in ["b", "A", "2x", "by"] {
        let refused = navigate::rename(&ws, "main.vcp", offset(MAIN, "stage a", 6), bad);
        assert!(refused.is_err(), "{bad}");
    }
    assert!(navigate::rename(&ws, "main.vcp", offset(MAIN, "pipeline p", 9), "q").is_err());
}

fn fixed(files: &[(&str, &str)], name: &str, at: usize) -> Vec<String> {
    let ws = workspace(files);
    let a = ws.analysis_for(name).expect("checked");
    let id = a.find(name).expect("file");
    let text = a.file(id).text.clone();
    actions::fixes(a, id, at, at)
        .into_iter()
        .map(|fix| {
            let mut out = text.clone();
            let mut edits = fix.edits.clone();
            edits.sort_by_key(|e| std::cmp::Reverse(e.0));
            for (s, e, new) in edits {
                out.replace_range(s..e, &new);
            }
            out
        })
        .collect()
}

#[test]
fn code_actions_apply_what_the_help_lines_say() {
    let typo = "pipeline p {\n  stage s {\n    workes = 2\n    run = \"x\"\n  }\n}\n";
    let got = fixed(&[("t.vcp", typo)], "t.vcp", offset(typo, "workes", 1));
    assert_eq!(got, [typo.replace("workes", "workers")]);

    let twice =
        "pipeline p {\n  stage s {\n    retry = 1\n    run = \"x\"\n    retry = 2\n  }\n}\n";
    let got = fixed(&[("t.vcp", twice)], "t.vcp", offset(twice, "retry = 2", 1));
    assert_eq!(got, [twice.replace("    retry = 2\n", "")]);

    let misplaced = "pipeline p {\n  stage s {\n    run = \"x\"\n    memory = \"4Gi\"\n    resources { cpu = \"1\" }\n  }\n}\n";
    let got = fixed(
        &[("t.vcp", misplaced)],
        "t.vcp",
        offset(misplaced, "memory", 1),
    );
    let moved = misplaced
        .replace("    memory = \"4Gi\"\n", "")
        .replace("cpu = \"1\"", "cpu = \"1\", memory = \"4Gi\"");
    assert_eq!(got, [moved]);

    let unknown_param = "pipeline p {\n  stage s { run = \"echo ${when}\" }\n}\n";
    let got = fixed(
        &[("t.vcp", unknown_param)],
        "t.vcp",
        offset(unknown_param, "${when}", 3),
    );
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("pipeline p {\n  param when: string = \"...\"\n"),
        "{}",
        got[0]
    );

    let shell = "pipeline p {\n  stage s { run = \"echo ${HOME}\" }\n}\n";
    let got = fixed(&[("t.vcp", shell)], "t.vcp", offset(shell, "${HOME}", 3));
    assert_eq!(got, [shell.replace("${HOME}", "$${HOME}")]);

    let no_import = "pipeline p {\n  stage s { use = python, run = \"x\" }\n}\n";
    let got = fixed(
        &[("t.vcp", no_import)],
        "t.vcp",
        offset(no_import, "python", 1),
    );
    assert_eq!(got, [format!("import \"std/python\"\n{no_import}")]);
}

#[test]
fn formatting_is_vcp_fmt_and_leaves_broken_files_alone() {
    let messy = "pipeline p {\n stage s {   run = \"x\" }\n}\n";
    let edits = actions::format(messy).expect("formats");
    let expected = crate::fmt::format(messy).expect("fmt");
    assert_eq!(edits[0].new_text, expected);
    assert_eq!(
        edits[0].range.end,
        LineIndex::new(messy).position(messy.len())
    );
    assert!(actions::format(&expected).expect("formatted").is_empty());
    assert!(actions::format("pipeline p {").is_err());
}

#[test]
fn an_error_in_an_imported_template_reaches_the_importer_and_clears() {
    let bad = LIB.replace("retry = 2", "retry = -1");
    let mut ws = workspace(&[("lib.vcp", &bad), ("main.vcp", MAIN)]);
    let a = ws.analysis_for("main.vcp").expect("checked");
    assert!(a.checked.has_errors());
    // Hover keeps the names of the last good build... there was none yet.
    assert!(!a.fresh && a.build.is_none());
    let uri = path_to_uri(&Path::new(ROOT).join("lib.vcp")).expect("a URI");
    if let Some(doc) = ws.doc_mut(&uri) {
        doc.text = LIB.to_string();
    }
    let published = ws.flush();
    assert!(
        published
            .iter()
            .any(|p| p.uri == uri && p.diagnostics.is_empty())
    );
    let a = ws.analysis_for("main.vcp").expect("checked");
    assert!(!a.checked.has_errors() && a.fresh);
}
