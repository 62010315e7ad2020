//! A real editor as the client: Neovim (0.7 or later, headless) starts
//! `vcp lsp` with its built-in client, opens a file with an error, and
//! reports the diagnostic it shows, the hover text and the place a
//! go-to-definition lands on, as JSON that this test reads.

use serde_json::Value;
use std::process::Command;

const SCRIPT: &str = r#"
local vcp, dir, out = os.getenv('VCP_BIN'), os.getenv('VCP_DIR'), os.getenv('VCP_OUT')
local result = {}
local function finish()
  local f = io.open(out, 'w')
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd('qa!')
end
local ok, err = pcall(function()
  vim.cmd('edit ' .. dir .. '/main.vcp')
  local id = vim.lsp.start_client({ name = 'vcp', cmd = { vcp, 'lsp' }, root_dir = dir })
  vim.lsp.buf_attach_client(0, id)
  result.attached = vim.wait(20000, function()
    local c = vim.lsp.get_client_by_id(id)
    return c ~= nil and c.initialized
  end, 20)
  vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 20)
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(result.diagnostics, { lnum = d.lnum, col = d.col, code = d.code, message = d.message })
  end
  local client = vim.lsp.get_client_by_id(id)
  -- Hover over `workers` (line 8, column 5; Neovim counts lines from 1).
  vim.api.nvim_win_set_cursor(0, { 8, 5 })
  local hover = client.request_sync('textDocument/hover', vim.lsp.util.make_position_params(), 20000, 0)
  result.hover = hover and hover.result and hover.result.contents.value or vim.NIL
  -- Go to the definition of the template `base` on line 7.
  vim.api.nvim_win_set_cursor(0, { 7, 16 })
  local def = client.request_sync('textDocument/definition', vim.lsp.util.make_position_params(), 20000, 0)
  local loc = def and def.result and def.result[1]
  if loc then
    vim.lsp.util.jump_to_location(loc, 'utf-16')
    result.definition = { file = vim.fn.expand('%:t'), cursor = vim.api.nvim_win_get_cursor(0) }
  end
  client.stop()
end)
if not ok then result.error = tostring(err) end
finish()
"#;

const COMMON: &str = "template base {\n  retry = 2\n  image = \"python:3.12-slim\"\n}\n";

const MAIN: &str = r#"import "common.vcp"

pipeline p {
  namespace = "ml"

  stage split {
    use      = base
    workers  = 3
    run      = "python split.py"
    retyr    = 1
  }
}
"#;

#[test]
fn neovim_shows_the_diagnostic_a_hover_and_goes_to_the_definition() {
    if !crate::common::require_tool("nvim") {
        return;
    }
    let dir = tempfile::tempdir().expect("a scratch directory");
    std::fs::write(dir.path().join("common.vcp"), COMMON).expect("write");
    std::fs::write(dir.path().join("main.vcp"), MAIN).expect("write");
    let script = dir.path().join("test.lua");
    std::fs::write(&script, SCRIPT).expect("write");
    let out = dir.path().join("result.json");
    let status = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("VCP_BIN", env!("CARGO_BIN_EXE_vcp"))
        .env("VCP_DIR", dir.path())
        .env("VCP_OUT", &out)
        .env("XDG_STATE_HOME", dir.path())
        .env("XDG_CACHE_HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .status()
        .expect("nvim runs");
    assert!(status.success(), "nvim: {status}");
    let text = std::fs::read_to_string(&out).expect("nvim wrote its result");
    let result: Value = serde_json::from_str(&text).expect("JSON");
    assert!(result.get("error").is_none(), "{result}");
    assert_eq!(result["attached"], true, "{result}");

    let diags = result["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(diags.len(), 1, "{result}");
    assert_eq!(diags[0]["code"], "E0101");
    assert_eq!(diags[0]["lnum"], 9, "line 10, from 0");
    assert_eq!(diags[0]["col"], 4);
    assert!(
        diags[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did you mean `retry`?")),
        "{result}"
    );

    let hover = result["hover"].as_str().unwrap_or_default();
    assert!(
        hover.contains("`workers`") && hover.contains("number of pods"),
        "{result}"
    );

    assert_eq!(result["definition"]["file"], "common.vcp", "{result}");
    assert_eq!(
        result["definition"]["cursor"],
        serde_json::json!([1, 9]),
        "{result}"
    );
}
