//! The server loop: initialization, then messages in order. Notifications
//! change documents and mark them dirty; every message waiting is read
//! before the dirty documents are checked, so a burst of keystrokes costs
//! one check (a request first brings the checks up to date, so that it is
//! answered from the text it was sent against). Each request runs under
//! `catch_unwind`: a bug in one answer is an error reply, not a dead server.

use super::workspace::Workspace;
use super::{actions, completion, hover, navigate, symbols, text, tokens};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{self as note, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionProviderCapability,
    CompletionOptions, HoverContents, InitializeParams, InitializeResult, MarkupContent,
    MarkupKind, OneOf, Position, PositionEncodingKind, RenameOptions, SaveOptions,
    SemanticTokensFullOptions, SemanticTokensOptions, SemanticTokensServerCapabilities,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri, WorkspaceEdit,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

pub(crate) fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(["$", "{", "\"", "[", "/"].map(String::from).to_vec()),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                ..SemanticTokensOptions::default()
            },
        )),
        folding_range_provider: Some(lsp_types::FoldingRangeProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves one client until `exit`. True when the client asked for a
/// shutdown first (the exit status the protocol asks for).
pub(crate) fn serve(conn: &Connection, cwd: PathBuf) -> bool {
    let Some(root) = initialize(conn, cwd) else {
        return false;
    };
    let mut server = Server {
        conn,
        ws: Workspace::new(root),
        shutdown: false,
    };
    while let Ok(first) = conn.receiver.recv() {
        let mut batch = vec![first];
        batch.extend(conn.receiver.try_iter());
        for message in batch {
            match message {
                Message::Request(r) => server.request(r),
                Message::Notification(n) if n.method == note::Exit::METHOD => {
                    return server.shutdown;
                }
                Message::Notification(n) => server.notification(n),
                Message::Response(_) => {}
            }
        }
        server.flush();
    }
    false
}

/// Waits for `initialize`, answers it, and returns the workspace folder.
fn initialize(conn: &Connection, cwd: PathBuf) -> Option<PathBuf> {
    loop {
        match conn.receiver.recv().ok()? {
            Message::Request(r) if r.method == req::Initialize::METHOD => {
                let params: InitializeParams = match serde_json::from_value(r.params) {
                    Ok(p) => p,
                    Err(e) => {
                        send(
                            conn,
                            Response::new_err(r.id, ErrorCode::InvalidParams as i32, e.to_string()),
                        );
                        continue;
                    }
                };
                #[allow(deprecated)] // rootUri: clients without workspace folders send it.
                let folder = params
                    .workspace_folders
                    .as_ref()
                    .and_then(|f| f.first())
                    .map(|f| f.uri.clone())
                    .or(params.root_uri.clone());
                let root = folder.and_then(|u| text::uri_to_path(&u)).unwrap_or(cwd);
                let result = InitializeResult {
                    capabilities: capabilities(),
                    server_info: Some(ServerInfo {
                        name: "vcp".to_string(),
                        version: Some(env!("CARGO_PKG_VERSION").to_string()),
                    }),
                };
                send(conn, Response::new_ok(r.id, result));
                return Some(root);
            }
            Message::Request(r) => send(
                conn,
                Response::new_err(
                    r.id,
                    ErrorCode::ServerNotInitialized as i32,
                    format!("`{}` before `initialize`", r.method),
                ),
            ),
            Message::Notification(n) if n.method == note::Exit::METHOD => return None,
            _ => {}
        }
    }
}

fn send(conn: &Connection, message: impl Into<Message>) {
    // The client is gone when this fails: the loop ends on the next receive.
    let _ = conn.sender.send(message.into());
}

struct Server<'a> {
    conn: &'a Connection,
    ws: Workspace,
    shutdown: bool,
}

type Reply<T> = Result<T, String>;

impl Server<'_> {
    fn flush(&mut self) {
        if !self.ws.is_dirty() {
            return;
        }
        let published = catch_unwind(AssertUnwindSafe(|| self.ws.flush()));
        match published {
            Ok(list) => {
                for params in list {
                    send(
                        self.conn,
                        Notification::new(note::PublishDiagnostics::METHOD.to_string(), params),
                    );
                }
            }
            Err(_) => self.log("vcp: checking the open documents failed (a bug in vcp)"),
        }
    }

    fn log(&self, message: &str) {
        send(
            self.conn,
            Notification::new(
                note::LogMessage::METHOD.to_string(),
                lsp_types::LogMessageParams {
                    typ: lsp_types::MessageType::ERROR,
                    message: message.to_string(),
                },
            ),
        );
    }

    fn notification(&mut self, n: Notification) {
        let outcome = catch_unwind(AssertUnwindSafe(|| self.apply(&n)));
        if outcome.is_err() {
            self.log(&format!(
                "vcp: handling `{}` failed (a bug in vcp)",
                n.method
            ));
        }
    }

    fn apply(&mut self, n: &Notification) {
        match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                if let Some(p) = params::<lsp_types::DidOpenTextDocumentParams>(n) {
                    let d = p.text_document;
                    self.ws.open(d.uri, d.text, d.version);
                }
            }
            note::DidChangeTextDocument::METHOD => {
                if let Some(p) = params::<lsp_types::DidChangeTextDocumentParams>(n)
                    && let Some(doc) = self.ws.doc_mut(&p.text_document.uri)
                {
                    for change in p.content_changes {
                        text::apply_change(&mut doc.text, change.range, &change.text);
                    }
                    doc.version = p.text_document.version;
                }
            }
            note::DidCloseTextDocument::METHOD => {
                if let Some(p) = params::<lsp_types::DidCloseTextDocumentParams>(n) {
                    self.ws.close(&p.text_document.uri);
                }
            }
            note::DidSaveTextDocument::METHOD => {
                if let Some(p) = params::<lsp_types::DidSaveTextDocumentParams>(n) {
                    self.ws.touched(&p.text_document.uri);
                }
            }
            note::DidChangeWatchedFiles::METHOD => {
                if let Some(p) = params::<lsp_types::DidChangeWatchedFilesParams>(n) {
                    for change in p.changes {
                        self.ws.touched(&change.uri);
                    }
                }
            }
            _ => {}
        }
    }

    fn request(&mut self, r: Request) {
        let id = r.id.clone();
        if self.shutdown {
            send(
                self.conn,
                Response::new_err(
                    id,
                    ErrorCode::InvalidRequest as i32,
                    "the server is shutting down".to_string(),
                ),
            );
            return;
        }
        let response = catch_unwind(AssertUnwindSafe(|| self.dispatch(r))).unwrap_or_else(|_| {
            Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                "vcp failed to answer this request (a bug in vcp; the server goes on)".to_string(),
            )
        });
        send(self.conn, response);
    }

    fn dispatch(&mut self, r: Request) -> Response {
        // Answers are about the text the request was sent against.
        self.flush();
        match r.method.as_str() {
            req::Shutdown::METHOD => {
                self.shutdown = true;
                Response::new_ok(r.id, ())
            }
            req::HoverRequest::METHOD => self.on::<req::HoverRequest>(r, Self::hover),
            req::Completion::METHOD => self.on::<req::Completion>(r, Self::completion),
            req::GotoDefinition::METHOD => self.on::<req::GotoDefinition>(r, Self::definition),
            req::References::METHOD => self.on::<req::References>(r, Self::references),
            req::PrepareRenameRequest::METHOD => {
                self.on::<req::PrepareRenameRequest>(r, Self::prepare_rename)
            }
            req::Rename::METHOD => self.on::<req::Rename>(r, Self::rename),
            req::DocumentSymbolRequest::METHOD => {
                self.on::<req::DocumentSymbolRequest>(r, Self::symbols)
            }
            req::Formatting::METHOD => self.on::<req::Formatting>(r, Self::formatting),
            req::CodeActionRequest::METHOD => {
                self.on::<req::CodeActionRequest>(r, Self::code_actions)
            }
            req::SemanticTokensFullRequest::METHOD => {
                self.on::<req::SemanticTokensFullRequest>(r, Self::semantic_tokens)
            }
            req::FoldingRangeRequest::METHOD => {
                self.on::<req::FoldingRangeRequest>(r, Self::folding)
            }
            _ => Response::new_err(
                r.id,
                ErrorCode::MethodNotFound as i32,
                format!("vcp lsp does not answer `{}`", r.method),
            ),
        }
    }

    fn on<R>(&mut self, r: Request, f: fn(&mut Self, R::Params) -> Reply<R::Result>) -> Response
    where
        R: lsp_types::request::Request,
        R::Params: DeserializeOwned,
        R::Result: Serialize,
    {
        let params = match serde_json::from_value::<R::Params>(r.params) {
            Ok(p) => p,
            Err(e) => {
                return Response::new_err(
                    r.id,
                    ErrorCode::InvalidParams as i32,
                    format!("invalid parameters of `{}`: {e}", r.method),
                );
            }
        };
        match f(self, params) {
            Ok(result) => Response::new_ok(r.id, result),
            Err(message) => Response::new_err(r.id, ErrorCode::RequestFailed as i32, message),
        }
    }

    /// A document's name, text and the byte offset of a position in it.
    fn locate(&self, uri: &Uri, position: Position) -> Option<(String, String, usize)> {
        let name = self.ws.name_of(uri);
        let text = navigate::text_of(&self.ws, &name)?;
        let offset = text::LineIndex::new(&text).offset(position);
        Some((name, text, offset))
    }

    fn hover(&mut self, p: lsp_types::HoverParams) -> Reply<Option<lsp_types::Hover>> {
        let at = p.text_document_position_params;
        let Some((name, text, offset)) = self.locate(&at.text_document.uri, at.position) else {
            return Ok(None);
        };
        let Some((value, start, end)) = hover::hover(&self.ws, &name, offset) else {
            return Ok(None);
        };
        Ok(Some(lsp_types::Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(text::LineIndex::new(&text).range(start, end)),
        }))
    }

    fn completion(
        &mut self,
        p: lsp_types::CompletionParams,
    ) -> Reply<Option<lsp_types::CompletionResponse>> {
        let at = p.text_document_position;
        let Some((name, text, offset)) = self.locate(&at.text_document.uri, at.position) else {
            return Ok(None);
        };
        let items = completion::complete(&text, offset, self.ws.analysis_for(&name));
        Ok(Some(lsp_types::CompletionResponse::Array(items)))
    }

    fn definition(
        &mut self,
        p: lsp_types::GotoDefinitionParams,
    ) -> Reply<Option<lsp_types::GotoDefinitionResponse>> {
        let at = p.text_document_position_params;
        let Some((name, _, offset)) = self.locate(&at.text_document.uri, at.position) else {
            return Ok(None);
        };
        let found = navigate::definition(&self.ws, &name, offset);
        Ok((!found.is_empty()).then_some(lsp_types::GotoDefinitionResponse::Array(found)))
    }

    fn references(
        &mut self,
        p: lsp_types::ReferenceParams,
    ) -> Reply<Option<Vec<lsp_types::Location>>> {
        let at = p.text_document_position;
        let Some((name, _, offset)) = self.locate(&at.text_document.uri, at.position) else {
            return Ok(None);
        };
        Ok(Some(navigate::references(
            &self.ws,
            &name,
            offset,
            p.context.include_declaration,
        )))
    }

    fn prepare_rename(
        &mut self,
        p: lsp_types::TextDocumentPositionParams,
    ) -> Reply<Option<lsp_types::PrepareRenameResponse>> {
        let Some((name, _, offset)) = self.locate(&p.text_document.uri, p.position) else {
            return Ok(None);
        };
        match navigate::prepare_rename(&self.ws, &name, offset) {
            Some((range, placeholder)) => Ok(Some(
                lsp_types::PrepareRenameResponse::RangeWithPlaceholder { range, placeholder },
            )),
            None => Err("only stages, templates, params and volumes can be renamed".to_string()),
        }
    }

    fn rename(&mut self, p: lsp_types::RenameParams) -> Reply<Option<WorkspaceEdit>> {
        let at = p.text_document_position;
        let Some((name, _, offset)) = self.locate(&at.text_document.uri, at.position) else {
            return Ok(None);
        };
        navigate::rename(&self.ws, &name, offset, &p.new_name).map(Some)
    }

    fn symbols(
        &mut self,
        p: lsp_types::DocumentSymbolParams,
    ) -> Reply<Option<lsp_types::DocumentSymbolResponse>> {
        let name = self.ws.name_of(&p.text_document.uri);
        let Some(text) = navigate::text_of(&self.ws, &name) else {
            return Ok(None);
        };
        // The tree of the last check when it read this text; a parse otherwise.
        let checked = self.ws.analysis_for(&name).and_then(|a| {
            let id = a.find(&name)?;
            (a.file(id).text == text).then(|| a.tree(id)).flatten()
        });
        let symbols = match checked {
            Some(tree) => symbols::document_symbols(tree, &text),
            None => {
                let parsed = crate::syntax::parse(crate::source::FileId(0), &text);
                symbols::document_symbols(&parsed.file, &text)
            }
        };
        Ok(Some(lsp_types::DocumentSymbolResponse::Nested(symbols)))
    }

    fn formatting(
        &mut self,
        p: lsp_types::DocumentFormattingParams,
    ) -> Reply<Option<Vec<lsp_types::TextEdit>>> {
        let name = self.ws.name_of(&p.text_document.uri);
        let Some(text) = navigate::text_of(&self.ws, &name) else {
            return Ok(None);
        };
        match actions::format(&text) {
            Ok(edits) => Ok(Some(edits)),
            Err(why) => {
                // Not an error reply: format-on-save of a half-typed file
                // would pop one up at every save.
                send(
                    self.conn,
                    Notification::new(
                        note::LogMessage::METHOD.to_string(),
                        lsp_types::LogMessageParams {
                            typ: lsp_types::MessageType::INFO,
                            message: why,
                        },
                    ),
                );
                Ok(None)
            }
        }
    }

    fn code_actions(
        &mut self,
        p: lsp_types::CodeActionParams,
    ) -> Reply<Option<lsp_types::CodeActionResponse>> {
        let name = self.ws.name_of(&p.text_document.uri);
        let (Some(text), Some(analysis)) = (
            navigate::text_of(&self.ws, &name),
            self.ws.analysis_for(&name),
        ) else {
            return Ok(None);
        };
        let Some(file) = analysis.find(&name) else {
            return Ok(None);
        };
        let index = text::LineIndex::new(&text);
        let (start, end) = (index.offset(p.range.start), index.offset(p.range.end));
        let uri = p.text_document.uri;
        let actions = actions::fixes(analysis, file, start, end)
            .into_iter()
            .map(|fix| {
                let edits = fix
                    .edits
                    .iter()
                    .map(|(s, e, new)| lsp_types::TextEdit::new(index.range(*s, *e), new.clone()))
                    .collect();
                // As in navigate.rs: a `Uri` never changes once parsed.
                #[allow(clippy::mutable_key_type)]
                let mut changes = std::collections::HashMap::new();
                changes.insert(uri.clone(), edits);
                CodeActionOrCommand::CodeAction(lsp_types::CodeAction {
                    title: fix.title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    is_preferred: Some(fix.preferred),
                    edit: Some(WorkspaceEdit {
                        changes: Some(changes),
                        ..WorkspaceEdit::default()
                    }),
                    ..lsp_types::CodeAction::default()
                })
            })
            .collect();
        Ok(Some(actions))
    }

    fn semantic_tokens(
        &mut self,
        p: lsp_types::SemanticTokensParams,
    ) -> Reply<Option<lsp_types::SemanticTokensResult>> {
        let name = self.ws.name_of(&p.text_document.uri);
        let Some(text) = navigate::text_of(&self.ws, &name) else {
            return Ok(None);
        };
        Ok(Some(lsp_types::SemanticTokensResult::Tokens(
            lsp_types::SemanticTokens {
                result_id: None,
                data: tokens::semantic_tokens(&text),
            },
        )))
    }

    fn folding(
        &mut self,
        p: lsp_types::FoldingRangeParams,
    ) -> Reply<Option<Vec<lsp_types::FoldingRange>>> {
        let name = self.ws.name_of(&p.text_document.uri);
        let Some(text) = navigate::text_of(&self.ws, &name) else {
            return Ok(None);
        };
        Ok(Some(symbols::folding_ranges(&text)))
    }
}

fn params<P: DeserializeOwned>(n: &Notification) -> Option<P> {
    serde_json::from_value(n.params.clone()).ok()
}
