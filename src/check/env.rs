//! Environment variables: literal values (with the credential lint),
//! `secret(...)` and `config_map(...)` references, reserved names.

use super::items::plural;
use super::pipeline::PipelineChecker;
use super::{fixes, values};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::{self, EnvValue};
use crate::syntax::ast::Expr;

impl PipelineChecker<'_> {
    pub(super) fn env(&mut self, maps: &[&Expr]) -> Vec<ir::EnvVar> {
        let mut out: Vec<ir::EnvVar> = Vec::new();
        for (key, value, _) in self.map_entries(maps, "environment variable") {
            let name = key.name.clone();
            if let Err(why) = values::env_name(&name) {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadEnvName,
                        key.span,
                        format!("`{name}` is not a valid environment variable name: {why}"),
                    )
                    .with_label("invalid name")
                    .with_help(match fixes::env_name(&name) {
                        Some(fixed) => format!("write `{fixed}`"),
                        None => "write a name such as `LOG_LEVEL`".into(),
                    }),
                );
                continue;
            }
            if is_reserved_env(&name) {
                self.diags.push(
                    Diagnostic::error(Code::BadEnvName, key.span, format!("`{name}` is set by vcp for every worker"))
                        .with_label("reserved")
                        .with_help("RANK, WORLD_SIZE and the VC_*, VK_* and VCP_* variables come from Volcano and the wrapper; choose another name"),
                );
                continue;
            }
            let value = match value {
                Expr::Call {
                    name: f,
                    args,
                    span,
                } => {
                    let kind = f.name.as_str();
                    if kind != "secret" && kind != "config_map" {
                        let mut diag = Diagnostic::error(
                            Code::UnknownName,
                            f.span,
                            format!("unknown function `{kind}`"),
                        )
                        .with_label("not a function");
                        diag = match did_you_mean(kind, ["secret", "config_map"]) {
                            Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                            None => diag.with_help("environment values are strings, `secret(name, key)` or `config_map(name, key)`"),
                        };
                        self.diags.push(diag);
                        continue;
                    }
                    if args.len() != 2 {
                        self.diags.push(
                            Diagnostic::error(
                                Code::WrongType,
                                *span,
                                format!(
                                    "`{kind}` takes a name and a key, got {}",
                                    plural(args.len(), "argument")
                                ),
                            )
                            .with_label(format!("{kind}(\"name\", \"key\")"))
                            .with_help(format!(
                                "write `{kind}(\"<{}-name>\", \"<key>\")`: the object's name and the key of the value in it",
                                if kind == "secret" { "secret" } else { "config-map" }
                            )),
                        );
                        continue;
                    }
                    let object = self.name_value(
                        &args[0],
                        if kind == "secret" {
                            "secret"
                        } else {
                            "config map"
                        },
                        values::dns1123_subdomain,
                    );
                    let key_text = self.eval().string(&args[1]);
                    let Some(key_text) = key_text.filter(|k| match values::config_key(k) {
                        Ok(()) => true,
                        Err(why) => {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadName,
                                    args[1].span(),
                                    format!("key `{k}` is not valid: {why}"),
                                )
                                .with_label("invalid key")
                                .with_help(match fixes::label_value(k) {
                                    Some(fixed) if values::config_key(&fixed).is_ok() => format!("write `\"{fixed}\"` (keys are letters, digits, `-`, `_` and `.`)"),
                                    _ => "keys are 1 to 253 letters, digits, `-`, `_` and `.`, such as `password`".into(),
                                }),
                            );
                            false
                        }
                    }) else {
                        continue;
                    };
                    let Some(object) = object else { continue };
                    if kind == "secret" {
                        EnvValue::Secret {
                            name: object,
                            key: key_text,
                        }
                    } else {
                        EnvValue::ConfigMap {
                            name: object,
                            key: key_text,
                        }
                    }
                }
                other => {
                    let Some(text) = self.eval().text(other) else {
                        continue;
                    };
                    if let Some(why) = credential_smell(&name, &text) {
                        self.diags.push(
                            Diagnostic::warning(Code::InlineSecret, other.span(), format!("`{name}` looks like a credential written inline ({why})"))
                                .with_label("this value ends up in Git and in the manifests")
                                .with_help(format!("store it in a Secret and write `{name} = secret(\"<secret-name>\", \"<key>\")`")),
                        );
                    }
                    EnvValue::Literal(text)
                }
            };
            if let Some(existing) = out.iter_mut().find(|e| e.name == name) {
                // A later layer (the stage over its templates) wins.
                existing.value = value;
            } else {
                out.push(ir::EnvVar { name, value });
            }
        }
        out
    }
}

fn is_reserved_env(name: &str) -> bool {
    matches!(name, "RANK" | "WORLD_SIZE")
        || ["VC_", "VK_", "VCP_"].iter().any(|p| name.starts_with(p))
}

/// Why a literal environment value looks like a credential, if it does.
fn credential_smell(name: &str, value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    for suffix in [
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "API_KEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIALS",
    ] {
        if upper == suffix || upper.ends_with(&format!("_{suffix}")) {
            return Some("its name says so");
        }
    }
    let shapes: [(&str, usize); 8] = [
        ("ghp_", 30),
        ("github_pat_", 30),
        ("glpat-", 20),
        ("xoxb-", 20),
        ("xoxp-", 20),
        ("sk-", 30),
        ("hf_", 30),
        ("AKIA", 20),
    ];
    if shapes
        .iter()
        .any(|(p, len)| value.starts_with(p) && value.len() >= *len && !value.contains(' '))
    {
        return Some("its value has the shape of an access token");
    }
    if value.contains("-----BEGIN") && value.contains("PRIVATE KEY") {
        return Some("its value is a private key");
    }
    None
}
