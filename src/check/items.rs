//! Work items and sharding: `shard = <source> [by <strategy>]`.

use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::{self, ItemSource, SourceKind, Strategy};
use crate::syntax::ast::Expr;

impl PipelineChecker<'_> {
    pub(super) fn shard(&mut self, v: &Expr) -> Option<ir::Shard> {
        let (source_expr, strategy) = match v {
            Expr::By {
                source, strategy, ..
            } => {
                let s = match strategy.name.parse::<Strategy>() {
                    Ok(s) => s,
                    Err(_) => {
                        let other = strategy.name.as_str();
                        let mut diag = Diagnostic::error(
                            Code::UnknownShard,
                            strategy.span,
                            format!("unknown shard strategy `{other}`"),
                        )
                        .with_label("not a strategy");
                        diag = match did_you_mean(other, Strategy::ALL.map(Strategy::as_str)) {
                            Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                            None => diag.with_help(format!(
                                "strategies are {}",
                                quoted_list(Strategy::ALL.map(Strategy::as_str))
                            )),
                        };
                        self.diags.push(diag);
                        return None;
                    }
                };
                (&**source, s)
            }
            other => (other, Strategy::Modulo),
        };
        let source = self.item_source(source_expr)?;
        if strategy == Strategy::Size && source.is_static() {
            let what = if matches!(source, ItemSource::Range { .. }) {
                "numbers from `range`"
            } else {
                "a literal list"
            };
            let by_span = match v {
                Expr::By { strategy, .. } => strategy.span,
                _ => v.span(),
            };
            self.diags.push(
                Diagnostic::error(Code::StrategyMismatch, by_span, format!("`size` balances files by their size, but the items are {what}"))
                    .with_label("needs files")
                    .with_secondary(source_expr.span(), "these items have no size")
                    .with_help("use `files(\"/data/*.parquet\") by size` or `lines(\"list-of-paths.txt\") by size`; for other items use `modulo`, `block` or `hash`"),
            );
            return None;
        }
        Some(ir::Shard { source, strategy })
    }

    pub(super) fn item_source(&mut self, expr: &Expr) -> Option<ItemSource> {
        match expr {
            Expr::List { items, span } => {
                if items.is_empty() {
                    self.diags.push(
                        Diagnostic::error(Code::BadItem, *span, "the item list is empty")
                            .with_label("no items")
                            .with_help("list at least one item, or remove `shard`"),
                    );
                    return None;
                }
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    let Some(text) = self.eval().text(item) else {
                        ok = false;
                        continue;
                    };
                    if text.is_empty() || memchr::memchr2(b'\n', b'\0', text.as_bytes()).is_some() {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadItem,
                                item.span(),
                                if text.is_empty() {
                                    "an item cannot be empty".to_string()
                                } else {
                                    "an item cannot contain a newline or NUL".to_string()
                                },
                            )
                            .with_label("invalid item")
                            .with_help("items travel one per line through the shard files"),
                        );
                        ok = false;
                        continue;
                    }
                    out.push(text);
                }
                ok.then_some(ItemSource::List(out))
            }
            Expr::Call { name, args, span } => match name.name.parse::<SourceKind>() {
                Ok(SourceKind::Range) => {
                    if !(1..=3).contains(&args.len()) {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadShardArgs,
                                *span,
                                format!(
                                    "`range` takes 1 to 3 arguments, got {}",
                                    plural(args.len(), "argument")
                                ),
                            )
                            .with_label("range(end), range(start, end) or range(start, end, step)")
                            .with_help(
                                "write `range(300)` for 0 to 299, `range(1, 301)` for 1 to 300, or `range(0, 300, 10)` for every tenth",
                            ),
                        );
                        return None;
                    }
                    // Items are computed by awk in the wrapper, in doubles:
                    // keep them exact and printable as integers everywhere.
                    let limit = i64::from(i32::MAX);
                    // `range(end)` counts from 0, as Python's does.
                    let (start, end) = match args.as_slice() {
                        [end] => (Some(0), self.eval().int(end, "range end", -limit, limit)),
                        [start, end, ..] => (
                            self.eval().int(start, "range start", -limit, limit),
                            self.eval().int(end, "range end", -limit, limit),
                        ),
                        [] => return None,
                    };
                    let step = match args.get(2) {
                        Some(s) => {
                            let step = self.eval().int(s, "range step", -limit, limit)?;
                            if step == 0 {
                                self.diags.push(
                                    Diagnostic::error(
                                        Code::BadShardArgs,
                                        s.span(),
                                        "a range step cannot be 0",
                                    )
                                    .with_label("would never end")
                                    .with_help(
                                        "write a step of 1 or more to count up (`range(0, 300, 1)`), or below 0 to count down (`range(300, 0, -1)`)",
                                    ),
                                );
                                return None;
                            }
                            step
                        }
                        None => 1,
                    };
                    let (start, end) = (start?, end?);
                    let empty = if step > 0 { start >= end } else { start <= end };
                    if empty {
                        self.diags.push(Diagnostic::error(Code::BadShardArgs, *span, format!("this range has no items: range({start}, {end}, {step})")).with_label("empty").with_help(if step > 0 {
                                "the end is exclusive and must be above the start; count down with a negative step: range(10, 0, -1)"
                            } else {
                                "with a negative step the end must be below the start"
                            }));
                        return None;
                    }
                    Some(ItemSource::Range { start, end, step })
                }
                Ok(kind @ (SourceKind::Lines | SourceKind::Files)) => {
                    if args.len() != 1 {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadShardArgs,
                                *span,
                                format!(
                                    "`{}` takes one argument, got {}",
                                    name.name,
                                    plural(args.len(), "argument")
                                ),
                            )
                            .with_label(if kind == SourceKind::Lines {
                                "lines(\"/data/items.txt\")"
                            } else {
                                "files(\"/data/*.csv\")"
                            })
                            .with_help(if kind == SourceKind::Lines {
                                "write one path, to a file with one item a line: `lines(\"/data/items.txt\")`"
                            } else {
                                "write one glob; to read several folders, match them in one pattern: `files(\"/data/*/*.csv\")`"
                            }),
                        );
                        return None;
                    }
                    let text = self.eval().string(&args[0])?;
                    if text.is_empty() || text.contains(['\n', '\0']) {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadShardArgs,
                                args[0].span(),
                                format!(
                                    "the argument of `{}` must be a non-empty path on one line",
                                    name.name
                                ),
                            )
                            .with_help(if kind == SourceKind::Lines {
                                "write the path of a file on a volume: `lines(\"/data/items.txt\")`"
                            } else {
                                "write a glob of files on a volume: `files(\"/data/*.csv\")`"
                            }),
                        );
                        return None;
                    }
                    Some(if kind == SourceKind::Lines {
                        ItemSource::Lines(text)
                    } else {
                        ItemSource::Files(text)
                    })
                }
                Ok(SourceKind::Output) => match args.as_slice() {
                    [Expr::Ident(stage)] => Some(ItemSource::Output(stage.name.clone())),
                    _ => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadShardArgs,
                                *span,
                                "`output` takes the name of one stage",
                            )
                            .with_label("output(stage)")
                            .with_help("name the earlier stage whose workers write the items to $VCP_OUTPUT: `shard = output(list) by hash`"),
                        );
                        None
                    }
                },
                Ok(SourceKind::List) | Err(_) => {
                    let other = name.name.as_str();
                    let mut diag = Diagnostic::error(
                        Code::UnknownShard,
                        name.span,
                        format!("unknown item source `{other}`"),
                    )
                    .with_label("not an item source");
                    let calls = SourceKind::ALL.into_iter().filter(|k| k.is_call());
                    diag = match did_you_mean(other, calls.map(SourceKind::as_str)) {
                        Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                        None => diag.with_help(format!(
                            "item sources are {}",
                            quoted_list(SourceKind::ALL.map(SourceKind::syntax))
                        )),
                    };
                    self.diags.push(diag);
                    None
                }
            },
            other => {
                self.eval().wrong_type(
                    other,
                    "an item source: `range(...)`, `[...]`, `lines(...)` or `files(...)`",
                );
                None
            }
        }
    }
}

pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `` `a`, `b` and `c` ``: names for a help line.
fn quoted_list<const N: usize>(names: [&str; N]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}
