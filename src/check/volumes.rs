//! Volumes: existing PersistentVolumeClaims and where stages mount them.

use super::fields::BlockKind;
use super::pipeline::PipelineChecker;
use super::{fixes, values};
use crate::diag::{Code, Diagnostic};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast::Decl;
use std::collections::BTreeMap;

impl PipelineChecker<'_> {
    pub(super) fn volumes(&mut self, decls: &[&Decl]) -> Vec<ir::Volume> {
        let mut out: Vec<ir::Volume> = Vec::new();
        let mut mounts: BTreeMap<String, Span> = BTreeMap::new();
        let mut names: BTreeMap<String, Span> = BTreeMap::new();
        for decl in decls {
            let name = &decl.name.name;
            if let Some(first) = names.get(name) {
                self.diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        decl.name.span,
                        format!("volume `{name}` is defined twice"),
                    )
                    .with_label("second definition")
                    .with_secondary(*first, "first defined here")
                    .with_help(format!(
                        "rename one of them (such as `volume {name}-2`), or remove the second"
                    )),
                );
                continue;
            }
            names.insert(name.clone(), decl.name.span);
            if let Err(why) = values::dns1123_label(name) {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadName,
                        decl.name.span,
                        format!("volume name `{name}` is not valid: {why}"),
                    )
                    .with_label("becomes a pod volume name")
                    .with_help(match fixes::k8s_name(name, values::dns1123_label) {
                        Some(fixed) => format!("write `volume {fixed}` (volume names are lower-case letters, digits and `-`)"),
                        None => "volume names are lower-case letters, digits and `-`, such as `volume data`".into(),
                    }),
                );
            } else if name == "vcp-scripts" {
                self.diags.push(
                    Diagnostic::error(
                        Code::BadVolume,
                        decl.name.span,
                        "`vcp-scripts` is the volume vcp mounts its scripts from",
                    )
                    .with_help("choose another name"),
                );
            }
            let fields = self.fields_of(&decl.body, "a volume");
            let fields = self.unique_fields(&fields, BlockKind::Volume, "volume");
            let mut claim = None;
            let mut mount = None;
            let mut read_only = false;
            let mut local = None;
            for &(key, f) in &fields {
                match key {
                    "claim" => {
                        claim = self.name_value(&f.value, "claim", values::dns1123_subdomain)
                    }
                    "mount" => {
                        let Some(path) = self.eval().string(&f.value) else {
                            continue;
                        };
                        let check = values::absolute_path(&path).and_then(|()| {
                            if path.contains(':') {
                                Err("it contains `:`, which Kubernetes does not allow in mount paths".into())
                            } else {
                                Ok(())
                            }
                        });
                        if let Err(why) = check {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadPath,
                                    f.value.span(),
                                    format!("mount path `{path}` is not valid: {why}"),
                                )
                                .with_label("invalid mount path")
                                .with_help(match fixes::absolute_path(&path.replace(':', "-")) {
                                    Some(fixed) => format!("write an absolute path in the container: `mount = \"{fixed}\"`"),
                                    None => "write an absolute path in the container, such as `mount = \"/data\"`".into(),
                                }),
                            );
                        } else if path.trim_end_matches('/').is_empty() {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadPath,
                                    f.value.span(),
                                    "a volume mounted at `/` would hide the container's own files",
                                )
                                .with_label("the root of the container")
                                .with_help(
                                    "mount the volume at a directory of its own, such as `/data`",
                                ),
                            );
                        } else if overlaps(&path, ir::SCRIPTS_MOUNT) {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadVolume,
                                    f.value.span(),
                                    format!(
                                        "`{path}` overlaps `{}`, where vcp mounts its scripts",
                                        ir::SCRIPTS_MOUNT
                                    ),
                                )
                                .with_help("mount the volume elsewhere, such as `/data`"),
                            );
                        } else if let Some(first) = mounts.get(&path) {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadVolume,
                                    f.value.span(),
                                    format!("two volumes are mounted at `{path}`"),
                                )
                                .with_label("mounted again here")
                                .with_secondary(*first, "first mounted here")
                                .with_help(format!(
                                    "mount each volume at a directory of its own, such as `{}-2`",
                                    path.trim_end_matches('/')
                                )),
                            );
                        } else {
                            mounts.insert(path.clone(), f.value.span());
                            mount = Some(path);
                        }
                    }
                    "local" => match self.eval().string(&f.value) {
                        Some(path) if path.is_empty() || path.contains(['\n', '\0']) => {
                            self.diags.push(
                                Diagnostic::error(
                                    Code::BadPath,
                                    f.value.span(),
                                    "`local` must be a non-empty path on one line",
                                )
                                .with_help(
                                    "write the folder `vcp run` uses for this volume, relative to this file, such as `local = \"data\"`",
                                ),
                            );
                        }
                        other => local = other,
                    },
                    _ => {
                        if let Some(b) = self.eval().bool(&f.value) {
                            read_only = b;
                        }
                    }
                }
            }
            let missing: Vec<&str> = ["claim", "mount"]
                .into_iter()
                .filter(|k| !fields.iter().any(|(n, _)| n == k))
                .collect();
            if !missing.is_empty() {
                self.diags.push(
                    Diagnostic::error(Code::BadVolume, decl.name.span, format!("volume `{name}` needs {}", missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" and ")))
                        .with_label("incomplete volume")
                        .with_help("a volume is an existing PersistentVolumeClaim and where to mount it: `volume data { claim = \"shared-data\", mount = \"/data\" }`"),
                );
            }
            if let (Some(claim), Some(mount)) = (claim, mount) {
                out.push(ir::Volume {
                    name: name.clone(),
                    claim,
                    mount,
                    read_only,
                    local,
                });
            }
        }
        out
    }
}

/// True when one path is the other or lies below it.
fn overlaps(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
}
