//! `vcp lsp` driven over stdio as an editor drives it: a client that
//! speaks only the protocol (JSON-RPC with Content-Length framing, written
//! here, not vcp's code) checks the capabilities, diagnostics with codes and
//! did-you-means, hover, completion in each place, definitions across an
//! import, rename, formatting equal to `vcp fmt`, symbols, code actions; and
//! that broken documents, the fuzz corpus and malformed messages all get
//! answers from a server that goes on. The editor test (Neovim) is
//! `lsp_nvim.rs`.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long any one answer may take before the test calls the server hung.
const PATIENCE: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: mpsc::Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for replies.
    notes: Vec<Value>,
    dir: PathBuf,
}

fn reader(stdout: ChildStdout, tx: mpsc::Sender<Value>) {
    let mut out = BufReader::new(stdout);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse::<usize>().ok();
            }
        }
        let Some(length) = length else { return };
        let mut body = vec![0; length];
        if out.read_exact(&mut body).is_err() {
            return;
        }
        let Ok(value) = serde_json::from_slice(&body) else {
            return;
        };
        if tx.send(value).is_err() {
            return;
        }
    }
}

impl Client {
    fn start(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vcp"))
            .args(["lsp", "--stdio"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("vcp lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || reader(stdout, tx));
        let mut client = Client {
            child,
            stdin,
            messages,
            next_id: 0,
            notes: Vec::new(),
            dir: dir.to_path_buf(),
        };
        let init = client.request(
            "initialize",
            json!({ "capabilities": {}, "rootUri": uri(dir, "") , "processId": null }),
        );
        let caps = &init["result"]["capabilities"];
        for cap in [
            "hoverProvider",
            "completionProvider",
            "definitionProvider",
            "referencesProvider",
            "renameProvider",
            "documentSymbolProvider",
            "documentFormattingProvider",
            "codeActionProvider",
            "semanticTokensProvider",
            "foldingRangeProvider",
        ] {
            assert!(!caps[cap].is_null(), "capability {cap}: {init}");
        }
        client.notify("initialized", json!({}));
        client
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("write to the server");
        self.stdin.flush().expect("flush");
    }

    fn send(&mut self, value: &Value) {
        let body = value.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    fn next(&mut self) -> Value {
        self.messages
            .recv_timeout(PATIENCE)
            .expect("the server answers (it did not crash or hang)")
    }

    /// Waits for the reply with this id, keeping notifications.
    fn reply(&mut self, id: &Value) -> Value {
        loop {
            let m = self.next();
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return m;
            }
            self.notes.push(m);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = json!(self.next_id);
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        self.reply(&id)
    }

    fn open(&mut self, name: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri(&self.dir, name), "languageId": "vcp", "version": 1, "text": text
            }}),
        );
    }

    /// The next diagnostics published for `name`.
    fn diagnostics(&mut self, name: &str) -> Vec<Value> {
        let want = uri(&self.dir, name);
        if let Some(i) = self.notes.iter().position(|n| {
            n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == want
        }) {
            let n = self.notes.remove(i);
            return n["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        loop {
            let m = self.next();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == want {
                return m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            self.notes.push(m);
        }
    }

    fn at(&mut self, method: &str, name: &str, line: u32, character: u32, extra: Value) -> Value {
        let mut params = json!({
            "textDocument": { "uri": uri(&self.dir, name) },
            "position": { "line": line, "character": character },
        });
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.request(method, params)["result"].clone()
    }

    fn shutdown(mut self) {
        let reply = self.request("shutdown", Value::Null);
        assert!(reply.get("error").is_none(), "{reply}");
        self.notify("exit", Value::Null);
        let status = self.child.wait().expect("vcp lsp exits");
        assert!(
            status.success(),
            "exit status after shutdown + exit: {status}"
        );
    }
}

fn uri(dir: &Path, name: &str) -> String {
    let path = if name.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(name)
    };
    format!("file://{}", path.display()).replace(' ', "%20")
}

/// The position (line, UTF-16 column) of the first `needle` in `text`,
/// plus `skip` characters.
fn pos(text: &str, needle: &str, skip: usize) -> (u32, u32) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in the text"))
        + skip;
    let line = text[..at].matches('\n').count();
    let col = text[..at]
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    (line as u32, col as u32)
}

fn labels(result: &Value) -> Vec<String> {
    let items = result.get("items").unwrap_or(result);
    items
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["label"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const COMMON: &str =
    "# Shared templates.\ntemplate base {\n  retry = 2\n  image = \"python:3.12-slim\"\n}\n";

const MAIN: &str = r#"import "common.vcp"

pipeline wordcount {
  namespace = "ml"
  param day: string = "2026-11-28"

  stage split {
    use     = base
    workers = 3
    shard   = range(0, 300) by modulo
    run     = "python split.py {item} ${day}"
  }

  stage count {
    use     = base
    after   = [split]
    workes  = 2
    run     = "python count.py"
  }
}
"#;

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a scratch directory");
    std::fs::write(dir.path().join("common.vcp"), COMMON).expect("write");
    std::fs::write(dir.path().join("main.vcp"), MAIN).expect("write");
    dir
}

#[test]
fn diagnostics_hover_completion_definition_rename_format_symbols() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    c.open("main.vcp", MAIN);

    // A misspelled field: E0101 with its page and a did-you-mean.
    let diags = c.diagnostics("main.vcp");
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d["code"], "E0101");
    assert!(
        d["codeDescription"]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with("docs/errors/E0101.md"))
    );
    assert!(
        d["message"]
            .as_str()
            .is_some_and(|m| m.contains("did you mean `workers`?")),
        "{d}"
    );
    let (line, col) = pos(MAIN, "workes", 0);
    assert_eq!(
        d["range"]["start"],
        json!({ "line": line, "character": col })
    );

    // Its quick fix.
    let actions = c.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri(dir.path(), "main.vcp") },
            "range": d["range"],
            "context": { "diagnostics": [d] },
        }),
    );
    let fix = &actions["result"][0];
    assert_eq!(fix["title"], "Replace with `workers`", "{actions}");
    let edit = &fix["edit"]["changes"][uri(dir.path(), "main.vcp")][0];
    assert_eq!(edit["newText"], "workers");

    // Fixed by a change: the diagnostics clear.
    let (line, col) = pos(MAIN, "workes", 0);
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri(dir.path(), "main.vcp"), "version": 2 },
            "contentChanges": [{
                "range": { "start": { "line": line, "character": col }, "end": { "line": line, "character": col + 6 } },
                "text": "workers"
            }],
        }),
    );
    assert!(c.diagnostics("main.vcp").is_empty());
    let text = MAIN.replace("workes ", "workers");

    // Hover: a field's reference, a stage's names and shard, a param.
    let (line, col) = pos(&text, "workers = 3", 1);
    let hover = c.at("textDocument/hover", "main.vcp", line, col, json!({}));
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        value.contains("`workers`") && value.contains("number of pods"),
        "{value}"
    );
    let (line, col) = pos(&text, "stage split", 7);
    let hover = c.at("textDocument/hover", "main.vcp", line, col, json!({}));
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        value.contains("wordcount-wordcount-split-worker-2"),
        "{value}"
    );
    assert!(
        value.contains("34 of 63 characters, **29 left**"),
        "{value}"
    );
    assert!(value.contains("worker 1: 100 item(s): 1, 4, 7"), "{value}");
    let (line, col) = pos(&text, "${day}", 3);
    let hover = c.at("textDocument/hover", "main.vcp", line, col, json!({}));
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        value.contains("param `day`") && value.contains("2026-11-28"),
        "{value}"
    );
    let (line, col) = pos(&text, "use     = base", 11);
    let hover = c.at("textDocument/hover", "main.vcp", line, col, json!({}));
    let value = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(value.contains("retry = 2"), "a template's fields: {value}");

    // Definition across the import, and of the import itself.
    let (line, col) = pos(&text, "use     = base", 11);
    let def = c.at("textDocument/definition", "main.vcp", line, col, json!({}));
    assert_eq!(def[0]["uri"], uri(dir.path(), "common.vcp"), "{def}");
    assert_eq!(
        def[0]["range"]["start"],
        json!({ "line": 1, "character": 9 })
    );
    let def = c.at("textDocument/definition", "main.vcp", 0, 10, json!({}));
    assert_eq!(def[0]["uri"], uri(dir.path(), "common.vcp"), "{def}");

    // References of a template: both uses and the declaration.
    let refs = c.at(
        "textDocument/references",
        "main.vcp",
        line,
        col,
        json!({ "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(3), "{refs}");

    // Completion: fields, stages in `after`, templates after `use`, strategies after `by`.
    let typed = text.replace(
        "    run     = \"python count.py\"\n",
        "    run     = \"python count.py\"\n    ti\n",
    );
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri(dir.path(), "main.vcp"), "version": 3 }, "contentChanges": [{ "text": typed }] }),
    );
    let (line, col) = pos(&typed, "    ti\n", 6);
    let got = labels(&c.at("textDocument/completion", "main.vcp", line, col, json!({})));
    assert!(
        got.contains(&"timeout".to_string()) && !got.contains(&"workers".to_string()),
        "{got:?}"
    );
    let (line, col) = pos(&typed, "[split]", 1);
    let got = labels(&c.at("textDocument/completion", "main.vcp", line, col, json!({})));
    assert_eq!(got, ["split"]);
    let (line, col) = pos(&typed, "use     = base", 10);
    let got = labels(&c.at("textDocument/completion", "main.vcp", line, col, json!({})));
    assert!(
        got.contains(&"base".to_string()) && got.contains(&"python".to_string()),
        "{got:?}"
    );
    let (line, col) = pos(&typed, "by modulo", 3);
    let got = labels(&c.at("textDocument/completion", "main.vcp", line, col, json!({})));
    assert_eq!(got, ["modulo", "block", "hash", "size"]);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri(dir.path(), "main.vcp"), "version": 4 }, "contentChanges": [{ "text": text }] }),
    );

    // Rename a stage: the declaration and `after`.
    let (line, col) = pos(&text, "stage split", 7);
    let edit = c.at(
        "textDocument/rename",
        "main.vcp",
        line,
        col,
        json!({ "newName": "tokenize" }),
    );
    let edits = edit["changes"][uri(dir.path(), "main.vcp")]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edits.len(), 2, "{edit}");
    assert!(edits.iter().all(|e| e["newText"] == "tokenize"));
    let (after_line, _) = pos(&text, "[split]", 1);
    assert!(
        edits
            .iter()
            .any(|e| e["range"]["start"]["line"] == after_line)
    );
    // A name the checker rejects is refused: upper case, or a pod name past 63.
    for bad in [
        "Split",
        "a-stage-name-long-enough-to-push-the-pod-name-past-sixty-three",
    ] {
        let params = json!({
            "textDocument": { "uri": uri(dir.path(), "main.vcp") },
            "position": { "line": line, "character": col },
            "newName": bad,
        });
        let reply = c.request("textDocument/rename", params);
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("the checker would reject this name"),
            "{bad}: {reply}"
        );
    }
    // Rename a template across files.
    let (line, col) = pos(&text, "use     = base", 11);
    let edit = c.at(
        "textDocument/rename",
        "main.vcp",
        line,
        col,
        json!({ "newName": "shared" }),
    );
    assert_eq!(
        edit["changes"][uri(dir.path(), "common.vcp")]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{edit}"
    );
    assert_eq!(
        edit["changes"][uri(dir.path(), "main.vcp")]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{edit}"
    );

    // Formatting is exactly `vcp fmt`.
    let messy = "pipeline   p {\n stage s {   run = \"x\"\n workers=2 }\n}\n";
    c.open("messy.vcp", messy);
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri(dir.path(), "messy.vcp") }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let formatted = edits["result"][0]["newText"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    std::fs::write(dir.path().join("messy.vcp"), messy).expect("write");
    let fmt = Command::new(env!("CARGO_BIN_EXE_vcp"))
        .args(["fmt", "messy.vcp"])
        .current_dir(dir.path())
        .output()
        .expect("vcp fmt runs");
    assert!(fmt.status.success());
    let by_fmt = std::fs::read_to_string(dir.path().join("messy.vcp")).expect("read");
    assert_eq!(formatted, by_fmt);

    // Document symbols: the pipeline holds its param and stages.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri(dir.path(), "main.vcp") } }),
    );
    let pipeline = &symbols["result"][1];
    assert_eq!(pipeline["name"], "wordcount", "{symbols}");
    let children: Vec<&str> = pipeline["children"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(children, ["day", "split", "count"]);

    // Semantic tokens and folding answer.
    let tokens = c.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": uri(dir.path(), "main.vcp") } }),
    );
    assert!(
        tokens["result"]["data"]
            .as_array()
            .is_some_and(|d| d.len() > 50),
        "{tokens}"
    );
    let folds = c.request(
        "textDocument/foldingRange",
        json!({ "textDocument": { "uri": uri(dir.path(), "main.vcp") } }),
    );
    assert!(
        folds["result"].as_array().is_some_and(|f| f.len() >= 3),
        "{folds}"
    );
    c.shutdown();
}

#[test]
fn an_imported_file_that_changes_rechecks_its_importers() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    c.open("main.vcp", &MAIN.replace("workes ", "workers"));
    assert!(c.diagnostics("main.vcp").is_empty());
    // The template the pipeline uses gets a bad value: the error shows in
    // the imported file, from the check of the importer.
    c.open("common.vcp", &COMMON.replace("retry = 2", "retry = -1"));
    let mut diags = c.diagnostics("common.vcp");
    while diags.is_empty() {
        // What the check of main.vcp said of common.vcp before it changed.
        diags = c.diagnostics("common.vcp");
    }
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "E0105");
    c.shutdown();
}

#[test]
fn malformed_messages_get_error_replies_and_the_server_goes_on() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    let framed = |body: &[u8]| {
        let mut m = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        m.extend_from_slice(body);
        m
    };
    let bad: Vec<Vec<u8>> = vec![
        framed(b"{not json"),
        framed(b"[1,2]"),
        framed(br#"{"jsonrpc":"2.0","id":77,"method":42}"#),
        framed(b"\xff\xfe\xfd\xfc"),
        b"X-Nothing: here\r\n\r\n".to_vec(),
        b"Content-Length: -3\r\n\r\n".to_vec(),
    ];
    for (i, message) in bad.iter().enumerate() {
        c.send_raw(message);
        let reply = c.next();
        let code = reply["error"]["code"].as_i64().unwrap_or_default();
        assert!([-32700, -32600].contains(&code), "message {i}: {reply}");
        if i == 2 {
            assert_eq!(reply["id"], 77, "the id is kept when there is one");
        }
    }
    // A known method with wrong params, an unknown method, a request about a
    // document never opened.
    let reply = c.request("textDocument/hover", json!({ "textDocument": 3 }));
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    let reply = c.request("vcp/frobnicate", json!({}));
    assert_eq!(reply["error"]["code"], -32601, "{reply}");
    let reply = c.at("textDocument/hover", "nowhere.vcp", 0, 0, json!({}));
    assert!(reply.is_null());
    // Still serving.
    c.open("main.vcp", MAIN);
    assert_eq!(c.diagnostics("main.vcp").len(), 1);
    c.shutdown();
}

/// Every request a client may send, at several places of a document.
fn poke(c: &mut Client, name: &str, text: &str) {
    let lines = text.lines().count().max(1) as u32;
    for line in [0, lines / 2, lines.saturating_sub(1), lines + 3] {
        for character in [0, 3, 200] {
            for method in [
                "textDocument/hover",
                "textDocument/completion",
                "textDocument/definition",
                "textDocument/prepareRename",
            ] {
                let reply = c.request(
                    method,
                    json!({ "textDocument": { "uri": uri(&c.dir, name) }, "position": { "line": line, "character": character } }),
                );
                assert_ne!(
                    reply["error"]["code"], -32603,
                    "{method} {line}:{character}: {reply}"
                );
            }
        }
    }
    for method in [
        "textDocument/documentSymbol",
        "textDocument/semanticTokens/full",
        "textDocument/foldingRange",
    ] {
        let reply = c.request(
            method,
            json!({ "textDocument": { "uri": uri(&c.dir, name) } }),
        );
        assert_ne!(reply["error"]["code"], -32603, "{method}: {reply}");
    }
    let reply = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri(&c.dir, name) }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_ne!(reply["error"]["code"], -32603, "{reply}");
}

#[test]
fn broken_and_half_typed_documents_and_the_fuzz_corpus_get_answers() {
    let dir = workspace();
    let mut c = Client::start(dir.path());
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut inputs: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(root.join("tests/fixtures/fuzz")).expect("the fuzz corpus") {
        let path = entry.expect("entry").path();
        // Two inputs take the checker's error-explaining parser about 11 s
        // each in a debug build, and a document is parsed up to four times.
        let slow = path.to_string_lossy().contains("timeout-unclosed-lists");
        if slow && std::env::var_os("VCP_TEST_FULL").is_none() {
            eprintln!("skipped {} (VCP_TEST_FULL=1 sends it too)", path.display());
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        inputs.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    // Half-typed: every few bytes of an example, as someone typing it.
    let example = std::fs::read_to_string(root.join("examples/etl/pipeline.vcp")).expect("example");
    let step = if std::env::var_os("VCP_TEST_FULL").is_some() {
        7
    } else {
        61
    };
    for end in (0..example.len()).step_by(step) {
        if example.is_char_boundary(end) {
            inputs.push((format!("etl[..{end}]"), example[..end].to_string()));
        }
    }
    for broken in [
        "pipeline {",
        "pipeline p { stage s { run = \"${\" } }",
        "pipeline p { stage s { shard = range(0, 10) by } }",
        "template t { use = t }",
        "import \"nowhere.vcp\"\nimport \"std/nothing\"",
        "pipeline p { stage s { after = [s], run = \"x\" } }",
        "\u{0}\u{1}\"\"\"",
        "pipeline p { param x: int = 99999999999999999999999 }",
    ] {
        inputs.push((broken.to_string(), broken.to_string()));
    }
    for (i, (what, text)) in inputs.iter().enumerate() {
        let name = format!("doc{i}.vcp");
        c.open(&name, text);
        c.diagnostics(&name);
        poke(&mut c, &name, text);
        c.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri(&c.dir, &name) } }),
        );
        let _ = what;
    }
    c.shutdown();
}
