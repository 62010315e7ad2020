// The vcp extension's client: starts `vcp lsp` (the binary the `vcp.path`
// setting names) for .vcp files and restarts it when the setting changes.
// Highlighting comes from the TextMate grammar (syntaxes/) and, once the
// server runs, its semantic tokens; everything else from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration("vcp").get("path") || "vcp";
  // `--stdio` is what the client passes for TransportKind.stdio; vcp accepts it.
  return { command, args: ["lsp"], transport: TransportKind.stdio };
}

async function start(context) {
  client = new LanguageClient(
    "vcp",
    "vcp",
    serverOptions(),
    {
      documentSelector: [{ scheme: "file", language: "vcp" }, { scheme: "untitled", language: "vcp" }],
      synchronize: {
        // Imported files that change on disk are checked again.
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.vcp"),
      },
    },
  );
  try {
    await client.start();
  } catch (e) {
    vscode.window.showErrorMessage(
      `vcp: cannot start \`${serverOptions().command} lsp\` (${e.message}). ` +
        "Install vcp or set `vcp.path` to the binary.",
    );
  }
}

async function restart(context) {
  if (client) {
    await client.stop().catch(() => {});
  }
  await start(context);
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("vcp.restartServer", () => restart(context)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("vcp.path")) {
        restart(context);
      }
    }),
  );
  return start(context);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
