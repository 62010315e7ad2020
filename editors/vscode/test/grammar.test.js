// Tests the TextMate grammar with the engine VS Code uses (vscode-textmate
// on the Oniguruma regex library): tricky lexemes get the scopes they
// should, and every example and standard library file highlights without
// a string or comment leaking past its end.
//
//   npm ci && node test/grammar.test.js [files...]
//
// Run by tests/lsp_grammar.rs; exits 1 on the first failure.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = __dirname;
const repo = path.join(here, "..", "..", "..");

async function registry() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const onigLib = Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  });
  const grammarPath = path.join(here, "..", "syntaxes", "vcp.tmLanguage.json");
  return new vsctm.Registry({
    onigLib,
    loadGrammar: async (scope) =>
      scope === "source.vcp"
        ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
        : null,
  });
}

// Every token of a text: { line, text, scopes }.
function tokenize(grammar, text) {
  let stack = vsctm.INITIAL;
  const out = [];
  text.split("\n").forEach((line, n) => {
    const r = grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      out.push({ line: n, start: t.startIndex, text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    }
    stack = r.ruleStack;
  });
  return { tokens: out, end: stack };
}

// Cases: a snippet and, for pieces of it, a scope the piece must have
// (`!scope`: must not have). A piece is the first token whose text is
// exactly it, or the nth with `piece#n`.
const CASES = [
  {
    code: 'run = "echo ${day} and $${HOME} # not a comment" # a comment',
    expect: [
      ["run", "variable.other.property"],
      ["day", "variable.parameter"],
      ["${", "punctuation.section.interpolation.begin"],
      ["$${", "constant.character.escape.dollar"],
      ["HOME} # not a comment", "string.quoted.double"],
      ["HOME} # not a comment", "!meta.interpolation"],
      ["HOME} # not a comment", "!comment.line"],
      [" and ", "string.quoted.double"],
      ["# a comment", "comment.line"],
    ],
  },
  {
    code: 'run = """\n  echo "quoted" ${n}\n  # inside, not a comment\n  """\nworkers = 2 # after',
    expect: [
      ['  echo "quoted" ', "string.quoted.triple"],
      ["n", "variable.parameter"],
      ["  # inside, not a comment", "string.quoted.triple"],
      ["  # inside, not a comment", "!comment.line"],
      ["workers", "variable.other.property"],
      ["2", "constant.numeric"],
      ["# after", "comment.line"],
    ],
  },
  {
    code: 'a = "esc \\" \\n \\u{1F600} \\$ \\q"\nb = "unclosed\nc = 1\nd = "end\\$${day}"',
    expect: [
      ['\\"', "constant.character.escape"],
      ["\\u{1F600}", "constant.character.escape"],
      ["\\$", "constant.character.escape"],
      ["\\q", "invalid.illegal.escape"],
      ["c", "variable.other.property"],
      ["c", "!string"],
      ["day", "variable.parameter"],
    ],
  },
  {
    code: 'import "std/python"\npipeline etl {\n  param day: string = "x"\n  volume data { claim = "c", mount = "/d" }\n  stage load {\n    shard = range(0, 300) by hash\n    timeout = 1h30m\n    after = [extract]\n    env { K = secret("s", "k") }\n    run = ["python", "{item}"]\n    ok = true\n  }\n}',
    expect: [
      ["import", "keyword.control.import"],
      ["pipeline", "storage.type.pipeline"],
      ["etl", "entity.name.type.pipeline"],
      ["param", "storage.type.param"],
      ["day", "variable.parameter"],
      ["string", "support.type"],
      ["volume", "storage.type.volume"],
      ["data", "entity.name.type.volume"],
      ["stage", "storage.type.stage"],
      ["load", "entity.name.type.stage"],
      ["range", "support.function"],
      ["by", "keyword.operator.by"],
      ["hash", "support.constant.strategy"],
      ["1", "constant.numeric"],
      ["h30m", "keyword.other.unit"],
      ["extract", "variable.other"],
      ["secret", "support.function"],
      ["{item}", "variable.language.item"],
      ["true", "constant.language.boolean"],
      ["env", "variable.other.property"],
    ],
  },
  {
    code: 'labels { "app.kubernetes.io/team" = "ml" }\nname-with-dash = 3',
    expect: [
      ["app.kubernetes.io/team", "string.quoted.double"],
      ["name-with-dash", "variable.other.property"],
    ],
  },
];

function find(tokens, piece) {
  const [text, nth] = piece.split("#").length === 2 && /^\d+$/.test(piece.split("#")[1])
    ? [piece.split("#")[0], Number(piece.split("#")[1])]
    : [piece, 1];
  return tokens.filter((t) => t.text === text)[nth - 1];
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exitCode = 1;
}

function checkFile(grammar, file) {
  const text = fs.readFileSync(file, "utf8");
  const { tokens, end } = tokenize(grammar, text);
  const rel = path.relative(repo, file);
  // Nothing open at the end: no string ran past its closing quotes.
  if (end.depth > 1) fail(`${rel}: a rule is still open at the end of the file`);
  for (const t of tokens) {
    if (t.scopes.some((s) => s.startsWith("invalid"))) fail(`${rel}:${t.line + 1}: invalid token ${JSON.stringify(t.text)}`);
  }
  text.split("\n").forEach((line, n) => {
    const lineTokens = tokens.filter((t) => t.line === n);
    const inString = (t) => t.scopes.some((s) => s.startsWith("string"));
    // A line that starts a comment is a comment, unless a string holds it.
    if (/^\s*#/.test(line)) {
      const first = lineTokens.find((t) => t.text.trim() !== "");
      if (first && !inString(first) && !first.scopes.some((s) => s.startsWith("comment"))) {
        fail(`${rel}:${n + 1}: comment line not a comment`);
      }
    }
    const decl = line.match(/^\s*(pipeline|template|stage|volume)\s+([A-Za-z_][A-Za-z0-9_-]*)/);
    if (decl) {
      const name = lineTokens.find((t) => t.text === decl[2]);
      if (!name || !name.scopes.some((s) => s.startsWith(`entity.name.type.${decl[1]}`))) {
        fail(`${rel}:${n + 1}: ${decl[1]} name not highlighted as one`);
      }
    }
    for (const m of line.matchAll(/(?<![$\\])\$\{([A-Za-z_][A-Za-z0-9_-]*)\}/g)) {
      const name = lineTokens.find((t) => t.text === m[1] && t.scopes.some((s) => s.startsWith("meta.interpolation")));
      const quoted = lineTokens.some((t) => t.text.includes(m[0]) && !t.scopes.some((s) => s.startsWith("string")));
      if (!name && !quoted) fail(`${rel}:${n + 1}: \`${m[0]}\` not an interpolation`);
    }
  });
  return tokens.length;
}

function vcpFiles(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== "expected" && e.name !== "node_modules") vcpFiles(p, out);
    else if (e.isFile() && e.name.endsWith(".vcp")) out.push(p);
  }
  return out;
}

async function main() {
  const grammar = await (await registry()).loadGrammar("source.vcp");
  let checks = 0;
  for (const c of CASES) {
    const { tokens } = tokenize(grammar, c.code);
    for (const [piece, scope] of c.expect) {
      const t = find(tokens, piece);
      checks++;
      if (!t) {
        fail(`no token ${JSON.stringify(piece)} in ${JSON.stringify(c.code)}: ${JSON.stringify(tokens.map((t) => t.text))}`);
        continue;
      }
      const has = t.scopes.some((s) => s.startsWith(scope.replace(/^!/, "")));
      if (scope.startsWith("!") ? has : !has) {
        fail(`${JSON.stringify(piece)}: scopes ${t.scopes.join(" ")}, expected ${scope}`);
      }
    }
  }
  const files = process.argv.length > 2
    ? process.argv.slice(2)
    : [...vcpFiles(path.join(repo, "examples"), []), ...vcpFiles(path.join(repo, "stdlib"), []), ...vcpFiles(path.join(repo, "tests", "fmt", "cases"), [])];
  let tokens = 0;
  for (const f of files) tokens += checkFile(grammar, f);
  console.log(`grammar: ${checks} scope checks, ${files.length} files (${tokens} tokens) highlighted`);
  if (files.length === 0) fail("no .vcp file found");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
