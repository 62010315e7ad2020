//! One stage: its template layers merged, then every field checked into an
//! `ir::Stage`.

use super::fields::BlockKind;
use super::pipeline::PipelineChecker;
use super::{fixes, values};
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, ArgPart, Command};
use crate::source::Span;
use crate::syntax::ast::{Decl, Expr, Field, Ident};
use std::collections::BTreeMap;

/// Spans of a stage's parts, kept beside the IR for later checks.
#[derive(Clone, Debug)]
pub(super) struct StageSpans {
    pub(super) name: Span,
    pub(super) after: Vec<Ident>,
    pub(super) reduce: Option<Span>,
    pub(super) gang: Option<Span>,
    /// The `shard` value (for `output(stage)`).
    pub(super) shard: Option<Span>,
}

impl PipelineChecker<'_> {
    pub(super) fn stage(
        &mut self,
        decl: &Decl,
        default_image: Option<&str>,
        default_image_failed: bool,
        default_ttl: u64,
        pipeline: &ir::Pipeline,
    ) -> (Option<ir::Stage>, StageSpans) {
        let errors_before = self.errors();
        let name = decl.name.name.clone();
        if let Err(why) = values::dns1035_label(&name) {
            self.diags.push(
                Diagnostic::error(
                    Code::BadName,
                    decl.name.span,
                    format!("stage name `{name}` is not valid: {why}"),
                )
                .with_label("used in Job and host names")
                .with_help(super::pipeline::decl_name_help("stage", &name)),
            );
        }
        let mut layers = Vec::new();
        let errors_before_use = self.errors();
        self.layers(&decl.body, &mut vec![], &mut layers);
        // A stage whose templates failed misses their fields: saying so again
        // as "no image" or "no run" would repeat the same mistake.
        let use_failed = self.errors() > errors_before_use;
        layers.push((&decl.body, "stage".to_string()));
        self.suggested.clear();

        // The winning value of each field, and every value of map fields.
        let mut last: BTreeMap<&str, &Field> = BTreeMap::new();
        let mut maps: BTreeMap<&str, Vec<&Expr>> = BTreeMap::new();
        for (layer, block) in &layers {
            let fields = self.fields_of(layer, "a stage");
            for (key, f) in self.unique_fields(&fields, BlockKind::Stage, block) {
                let merges = BlockKind::Stage
                    .field(key)
                    .is_some_and(|spec| spec.kind.merges_by_key());
                if merges {
                    maps.entry(key).or_default().push(&f.value);
                }
                last.insert(key, f);
            }
        }

        let value = |k: &str| last.get(k).map(|f| &f.value);
        let image = match value("image") {
            Some(v) => self.image(v),
            None => match default_image {
                Some(i) => Some(i.to_string()),
                None if use_failed || default_image_failed || self.suggested.contains("image") => {
                    None
                }
                None => {
                    self.diags.push(
                        Diagnostic::error(Code::MissingField, decl.name.span, format!("stage `{name}` has no image"))
                            .with_label("which container image runs this stage?")
                            .with_help("set `image = \"...\"` in the stage, in a template it uses, or once for all stages in the pipeline"),
                    );
                    None
                }
            },
        };
        let command = match value("run") {
            Some(v) => self.command(v).inspect(|c| {
                self.literal_mounts("run", v, c, &pipeline.volumes);
            }),
            None if use_failed || self.suggested.contains("run") => None,
            None => {
                self.diags.push(
                    Diagnostic::error(Code::MissingField, decl.name.span, format!("stage `{name}` has no `run` command"))
                        .with_label("nothing to run")
                        .with_help("add `run = \"python task.py {item}\"` (shell code) or `run = [\"python\", \"task.py\"]` (arguments)"),
                );
                None
            }
        };
        let max = i64::from(i32::MAX);
        let workers = value("workers").map_or(Some(1), |v| self.eval().int(v, "workers", 1, max));
        let parallel =
            value("parallel").map_or(Some(1), |v| self.eval().int(v, "parallel", 1, 10_000));
        let retries = value("retry").map_or(Some(0), |v| self.eval().int(v, "retry", 0, 1_000));
        let timeout = match value("timeout") {
            Some(v) => match self.eval().duration(v) {
                Some(0) => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::OutOfRange,
                            v.span(),
                            "a timeout of 0 would stop every worker at once",
                        )
                        .with_help(
                            "write the longest time an item may take, such as `timeout = 30m`, or remove `timeout` for no limit",
                        ),
                    );
                    None
                }
                other => other.map(Some),
            },
            None => Some(None),
        };
        let ttl = value("ttl").map_or(Some(default_ttl), |v| self.ttl(v));
        self.ttl_under_gitops(self.gitops, value("ttl"));
        let shard = match value("shard") {
            Some(v) => self.shard(v).map(Some),
            None => Some(None),
        };
        if let (Some(Command::Shell(_) | Command::Argv(_)), Some(None)) =
            (command.as_ref(), shard.as_ref())
            && command.as_ref().is_some_and(Command::mentions_item)
            && let Some(v) = value("run")
        {
            self.diags.push(
                Diagnostic::error(Code::ItemWithoutShard, v.span(), "the command uses the item (`{item}` or `$VCP_ITEM`) but the stage has no `shard` rule")
                    .with_label("no items to run this for")
                    .with_help("add `shard = range(0, 100)` (or a list, `lines(path)`, `files(glob)`), or remove `{item}`"),
            );
        }
        let after = match value("after") {
            Some(v) => self.after(v),
            None => Vec::new(),
        };
        let env = self.env(maps.get("env").map_or(&[][..], Vec::as_slice));
        let sharded = matches!(shard, Some(Some(_)));
        let gang = self.gang(value("gang"), command.as_ref(), &env, workers, sharded);
        let checkpoint = value("checkpoint").map(|v| self.checkpoint(v, &pipeline.volumes));
        let output = value("output").map(|v| self.checkpoint(v, &pipeline.volumes));
        let max_failed = value("max_failed").and_then(|v| {
            let budget = self.max_failed(v)?;
            let per_item = command.as_ref().is_some_and(Command::mentions_item);
            let records = checkpoint.as_ref().is_some_and(Option::is_some);
            let fits = command.is_none() || self.budget_needs(v.span(), per_item, records);
            fits.then_some(budget)
        });
        let working_dir = match value("working_dir") {
            Some(v) => self
                .eval()
                .string(v)
                .and_then(|p| match values::absolute_path(&p) {
                    Ok(()) => Some(p),
                    Err(why) => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::BadPath,
                                v.span(),
                                format!("working_dir `{p}` is not valid: {why}"),
                            )
                            .with_label("invalid path")
                            .with_help(match fixes::absolute_path(&p) {
                                Some(fixed) => format!("write an absolute path in the container, such as `working_dir = \"{fixed}\"`"),
                                None => "write an absolute path in the container, such as `/app`".into(),
                            }),
                        );
                        None
                    }
                }),
            None => None,
        };
        let mut node_selector =
            self.node_selector(maps.get("node_selector").map_or(&[][..], Vec::as_slice));
        let tolerations = match value("tolerations") {
            Some(v) => self.tolerations(v),
            None => Vec::new(),
        };
        let resources = self.resources(maps.get("resources").map_or(&[][..], Vec::as_slice));
        if let Some(model) = &resources.gpu_model {
            node_selector.insert(resources.gpu_model_label.clone(), model.clone());
        }
        let reduce = match value("reduce") {
            Some(v) => self
                .reduce(
                    v,
                    image.as_deref(),
                    maps.get("env").map_or(&[][..], Vec::as_slice),
                    &resources,
                    &node_selector,
                    &tolerations,
                )
                .map(Some),
            None => Some(None),
        };
        if let (Some(v), Some(Some(r))) = (value("reduce"), &reduce) {
            self.literal_mounts("reduce", v, &r.command, &pipeline.volumes);
        }
        let mut labels = pipeline.labels.clone();
        labels.extend(self.labels(maps.get("labels").map_or(&[][..], Vec::as_slice), true));
        let mut annotations = pipeline.annotations.clone();
        let own = maps.get("annotations").map_or(&[][..], Vec::as_slice);
        annotations.extend(self.labels(own, false));
        // With the pipeline's: the pipeline's alone were checked with it.
        if let Some(last) = own.last() {
            self.annotations_fit(&annotations, last.span());
        }

        let spans = StageSpans {
            name: decl.name.span,
            after: after.clone(),
            reduce: value("reduce").map(Expr::span),
            gang: value("gang").map(Expr::span),
            shard: value("shard").map(Expr::span),
        };
        if self.errors() > errors_before {
            return (None, spans);
        }
        let stage = (|| {
            Some(ir::Stage {
                name,
                span: decl.name.span,
                line: self.sources.location(decl.span).line,
                image: image?,
                command: command?,
                workers: u32::try_from(workers?).ok()?,
                parallel: u32::try_from(parallel?).ok()?,
                shard: shard?,
                retries: u32::try_from(retries?).ok()?,
                timeout: timeout?,
                ttl: ttl?,
                reduce: reduce?,
                after: {
                    let mut names: Vec<String> = after.iter().map(|i| i.name.clone()).collect();
                    names.sort();
                    names.dedup();
                    names
                },
                env,
                working_dir,
                node_selector,
                tolerations,
                resources,
                labels,
                annotations,
                gang: gang?,
                max_failed,
                checkpoint: checkpoint.map_or(Some(None), |c| c.map(Some))?,
                output: output.map_or(Some(None), |o| o.map(Some))?,
            })
        })();
        (stage, spans)
    }

    /// `reduce = "cmd"` or `reduce { run, image, resources, env }`, with
    /// the stage's image and env beneath the block's and the reduce's own
    /// resources (`ir::Reduce`).
    fn reduce(
        &mut self,
        v: &Expr,
        stage_image: Option<&str>,
        stage_env: &[&Expr],
        stage_resources: &ir::Resources,
        stage_node_selector: &BTreeMap<String, String>,
        stage_tolerations: &[ir::Toleration],
    ) -> Option<ir::Reduce> {
        let mut image = stage_image.map(str::to_string);
        let mut env_maps: Vec<&Expr> = stage_env.to_vec();
        let mut resource_maps: Vec<&Expr> = Vec::new();
        let command = match v {
            Expr::Map(block) => {
                let fields = self.fields_of(block, "a reduce block");
                let fields = self.unique_fields(&fields, BlockKind::Reduce, "reduce block");
                let mut command = None;
                for (key, f) in &fields {
                    match *key {
                        "run" => command = Some(self.command(&f.value)),
                        "image" => image = self.image(&f.value),
                        "env" => env_maps.push(&f.value),
                        _ => resource_maps.push(&f.value),
                    }
                }
                match command {
                    Some(c) => c,
                    None if self.suggested.contains("run") => None,
                    None => {
                        self.diags.push(
                            Diagnostic::error(
                                Code::MissingField,
                                block.span,
                                "the reduce block has no `run` command",
                            )
                            .with_label("nothing to run")
                            .with_help("add `run = \"python merge.py\"` to the block"),
                        );
                        None
                    }
                }
            }
            other => self.command(other),
        };
        if command.as_ref().is_some_and(Command::mentions_item) {
            self.diags.push(
                Diagnostic::error(Code::ItemWithoutShard, v.span(), "`{item}` has no meaning in `reduce`")
                    .with_label("reduce runs once, after all items")
                    .with_help("read the workers' results from a shared volume; $VCP_SHARD_FILE lists every item, WORLD_SIZE says how many workers there were"),
            );
            return None;
        }
        let env = self.env(&env_maps);
        let mut resources = self.resources(&resource_maps);
        resources
            .cpu
            .get_or_insert_with(|| ir::Reduce::DEFAULT_CPU.to_string());
        resources
            .memory
            .get_or_insert_with(|| ir::Reduce::DEFAULT_MEMORY.to_string());
        let mut node_selector = stage_node_selector.clone();
        if stage_resources.gpu_model.is_some() {
            node_selector.remove(&stage_resources.gpu_model_label);
        }
        if let Some(model) = &resources.gpu_model {
            node_selector.insert(resources.gpu_model_label.clone(), model.clone());
        }
        let tolerations = stage_tolerations
            .iter()
            .filter(|t| {
                stage_resources.gpu == 0
                    || t.key.as_deref() != Some(stage_resources.gpu_resource.as_str())
            })
            .cloned()
            .collect();
        Some(ir::Reduce {
            command: command?,
            image: image?,
            env,
            resources,
            node_selector,
            tolerations,
        })
    }

    pub(super) fn command(&mut self, v: &Expr) -> Option<Command> {
        match v {
            Expr::List { items, span } => {
                if items.is_empty() {
                    self.diags.push(
                        Diagnostic::error(Code::WrongType, *span, "the argument list is empty")
                            .with_label("no program to run")
                            .with_help("name the program and its arguments: `run = [\"python3\", \"task.py\"]`"),
                    );
                    return None;
                }
                let mut args = Vec::new();
                for item in items {
                    let text = self.eval().text(item)?;
                    let mut parts = Vec::new();
                    for (i, piece) in text.split("{item}").enumerate() {
                        if i > 0 {
                            parts.push(ArgPart::Item);
                        }
                        if !piece.is_empty() {
                            parts.push(ArgPart::Text(piece.to_string()));
                        }
                    }
                    args.push(parts);
                }
                Some(Command::Argv(args))
            }
            _ => {
                let code = self.eval().shell(v)?;
                if code.trim().is_empty() {
                    self.diags.push(
                        Diagnostic::error(Code::WrongType, v.span(), "the command is empty")
                            .with_label("nothing to run")
                            .with_help("write the shell command to run, such as `run = \"python3 task.py {item}\"`"),
                    );
                    return None;
                }
                Some(Command::Shell(code))
            }
        }
    }

    pub(super) fn after(&mut self, v: &Expr) -> Vec<Ident> {
        let items: Vec<&Expr> = match v {
            Expr::List { items, .. } => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Expr::Ident(i) => out.push(i.clone()),
                Expr::Str(s) if s.as_plain().is_some() => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::WrongType,
                            s.span,
                            "stages in `after` are names, not strings",
                        )
                        .with_label("remove the quotes")
                        .with_help(format!(
                            "write `after = [{}]`",
                            s.as_plain().unwrap_or_default()
                        )),
                    );
                }
                other => self.eval().wrong_type(other, "a stage name"),
            }
        }
        out
    }
}
