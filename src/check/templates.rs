//! Templates: the layers a stage is made of (`use`), and the field names of
//! templates no stage uses yet.

use super::fields::BlockKind;
use super::pipeline::PipelineChecker;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::syntax::ast::{Block, Decl, Entry, Expr, Ident};

impl<'a> PipelineChecker<'a> {
    /// The field names of a template, checked even when no stage uses it.
    pub(super) fn template_fields(&mut self, decl: &Decl) {
        let block = format!("template `{}`", decl.name.name);
        let fields = self.fields_of(&decl.body, "a stage");
        self.unique_fields(&fields, BlockKind::Stage, &block);
    }

    /// The template layers of a stage, outermost first: each `use`d template
    /// (after its own `use`s), then the stage itself.
    pub(super) fn layers<'b>(
        &mut self,
        body: &'b Block,
        chain: &mut Vec<&'b str>,
        out: &mut Vec<(&'b Block, String)>,
    ) where
        'a: 'b,
    {
        for entry in &body.entries {
            let Entry::Field(f) = entry else { continue };
            if f.key.name != "use" {
                continue;
            }
            let names: Vec<&Ident> = match &f.value {
                Expr::Ident(i) => vec![i],
                Expr::List { items, .. } => items
                    .iter()
                    .filter_map(|e| match e {
                        Expr::Ident(i) => Some(i),
                        other => {
                            self.eval().wrong_type(other, "a template name");
                            None
                        }
                    })
                    .collect(),
                other => {
                    self.eval()
                        .wrong_type(other, "a template name or a list of them");
                    continue;
                }
            };
            for name in names {
                let Some(t) = self.templates.get(&name.name).copied() else {
                    let suggestion =
                        did_you_mean(&name.name, self.templates.keys().map(String::as_str));
                    let mut diag = Diagnostic::error(
                        Code::UnknownName,
                        name.span,
                        format!("unknown template `{}`", name.name),
                    )
                    .with_label("no template of this name is in scope");
                    diag = match suggestion {
                        Some(s) => diag.with_help(format!("did you mean `{s}`?")),
                        None if name.name == "python" || name.name == "pytorch" => {
                            diag.with_help("import it first: `import \"std/python\"`")
                        }
                        None if name.name.starts_with("cube") => {
                            diag.with_help("import it first: `import \"std/cube\"`")
                        }
                        None => {
                            diag.with_help("templates come from this file and the files it imports")
                        }
                    };
                    self.diags.push(diag);
                    continue;
                };
                if chain.contains(&t.decl.name.name.as_str()) {
                    let mut cycle: Vec<&str> = chain.clone();
                    cycle.push(&t.decl.name.name);
                    self.diags.push(
                        Diagnostic::error(
                            Code::TemplateCycle,
                            name.span,
                            format!("template cycle: {}", cycle.join(" -> ")),
                        )
                        .with_label("uses a template that uses this one")
                        .with_help(format!(
                            "remove `{}` from the `use` of `{}`: a template may use others, but never, through them, itself",
                            t.decl.name.name,
                            chain.last().copied().unwrap_or_default()
                        )),
                    );
                    continue;
                }
                chain.push(&t.decl.name.name);
                self.layers(&t.decl.body, chain, out);
                chain.pop();
                out.push((&t.decl.body, format!("template `{}`", t.decl.name.name)));
            }
        }
    }
}
