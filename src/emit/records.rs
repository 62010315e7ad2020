//! A stage's records on a volume: done and failed items (`checkpoint`),
//! under the build's run key. The run key is the spec hash of the whole
//! build of the pipeline (the JobFlow's, or the single Job's): re-applying
//! the same build keeps it, so restarted workers skip what is done; any
//! change gives a new key, and a fresh start.

use super::script::shell_quote;
use crate::ir::{FailureBudget, ItemSource, JobKind, Pipeline, Stage};
use memchr::memmem::Finder;
use std::sync::LazyLock;

/// The pod variable that carries the run key.
pub const RUN_KEY_VAR: &str = "VCP_RUN_KEY";
/// Written into the pod template first and filled in once the build's
/// hash is known: the same shape as a spec hash, so the YAML is the same
/// length and form before and after.
pub const RUN_KEY_PLACEHOLDER: &str = "k000000000000";

/// True when the stage's pods need the run key: it keeps records or
/// output lines, or reads another stage's.
pub fn needs_run_key(stage: &Stage) -> bool {
    stage.checkpoint.is_some()
        || stage.output.is_some()
        || matches!(
            stage.shard.as_ref().map(|s| &s.source),
            Some(ItemSource::Output(_))
        )
}

/// Where a pipeline's records and output lines go on a volume:
/// `<mount>/.vcp/<pipeline>/<run key>`, as shell code (one word).
fn dir_code(pipeline: &Pipeline, volume: &str) -> Option<String> {
    let volume = pipeline.volumes.iter().find(|v| v.name == volume)?;
    Some(format!(
        "\"${{{}}}\"{}\"${{{RUN_KEY_VAR}:?is set in the pod by the Job vcp emits}}\"",
        volume.env_name(),
        shell_quote(&format!("/.vcp/{}/", pipeline.name)),
    ))
}

/// The call that lists the items of `output(from)`: the output lines of
/// every worker of `from`, in rank order. Shell code.
pub fn output_items_call(pipeline: &Pipeline, from: &str) -> String {
    let source = pipeline.stage(from);
    let dir = source
        .and_then(|s| s.output.as_deref())
        .and_then(|v| dir_code(pipeline, v))
        .unwrap_or_else(|| "''".into());
    format!(
        "vcp_list_output {dir} {} {} \"$1\"",
        shell_quote(from),
        source.map_or(0, |s| s.workers)
    )
}

/// The settings a stage's script sets for the records: the failure budget
/// and the records directory. Empty when the stage keeps none. Shell code
/// made of quoted pieces.
pub fn script_settings(pipeline: &Pipeline, stage: &Stage, kind: JobKind) -> String {
    let mut code = String::new();
    let mut exported = Vec::new();
    if kind == JobKind::Work {
        match stage.max_failed {
            Some(FailureBudget::Count(n)) => {
                code.push_str(&format!(
                    "# At most {n} item(s) may fail for good without failing the stage.\nVCP_MAX_FAILED={n}\n"
                ));
                exported.push("VCP_MAX_FAILED");
            }
            Some(FailureBudget::Basis(b)) => {
                code.push_str(&format!(
                    "# At most {b}/10000 of all items may fail for good without failing the stage.\nVCP_MAX_FAILED_BASIS={b}\n"
                ));
                exported.push("VCP_MAX_FAILED_BASIS");
            }
            None => {}
        }
    }
    if let Some((volume, dir)) = stage
        .checkpoint
        .as_ref()
        .and_then(|v| Some((v, dir_code(pipeline, v)?)))
    {
        code.push_str(&format!(
            "# Done and failed items, on volume {volume} under the build's run key;\n# `vcp run` gives a directory of its own.\nVCP_DONE_DIR=${{VCP_DONE_DIR:-{dir}}}\n",
        ));
        exported.push("VCP_DONE_DIR");
    }
    if let (JobKind::Work, Some((volume, dir))) = (
        kind,
        stage
            .output
            .as_ref()
            .and_then(|v| Some((v, dir_code(pipeline, v)?))),
    ) {
        code.push_str(&format!(
            "# The lines the workers write to $VCP_OUTPUT, kept on volume {volume}.\nVCP_OUTPUT_DIR={dir}\n",
        ));
        exported.push("VCP_OUTPUT_DIR");
    }
    if !exported.is_empty() {
        code.push_str(&format!("export {}\n", exported.join(" ")));
    }
    code
}

/// Fills in the run key of every pod template of `text` (a Job or
/// JobTemplate document): the value line after `- name: VCP_RUN_KEY`. User
/// variables cannot be named so (`VCP_` is reserved, E0110), and only
/// scripts are written as literal blocks, never in a job's document.
pub fn with_run_key(mut text: String, key: &str) -> String {
    debug_assert_eq!(key.len(), RUN_KEY_PLACEHOLDER.len());
    static NAME: LazyLock<Finder<'static>> =
        LazyLock::new(|| Finder::new(&format!("- name: {RUN_KEY_VAR}\n")).into_owned());
    let value = format!("value: {RUN_KEY_PLACEHOLDER}\n");
    let mut at = 0;
    while let Some(found) = NAME.find(&text.as_bytes()[at..]) {
        let line = at + found + NAME.needle().len();
        let rest = &text[line..];
        let indent = rest.len() - rest.trim_start_matches(' ').len();
        let start = line + indent;
        if text[start..].starts_with(&value) {
            let from = start + "value: ".len();
            text.replace_range(from..from + key.len(), key);
        }
        at = line;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_key_fills_its_own_variable_only() {
        let doc = format!(
            "env:\n- name: A\n  value: {p}\n- name: {RUN_KEY_VAR}\n  value: {p}\n",
            p = RUN_KEY_PLACEHOLDER
        );
        let filled = with_run_key(doc, "h0123456789ab");
        assert_eq!(
            filled,
            format!(
                "env:\n- name: A\n  value: {RUN_KEY_PLACEHOLDER}\n- name: {RUN_KEY_VAR}\n  value: h0123456789ab\n"
            )
        );
    }
}
