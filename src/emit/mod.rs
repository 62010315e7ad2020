//! Emitting: the checked IR to files. Volcano objects go through the typed
//! model in [`volcano`] and the YAML writer in [`yaml`]; wrapper scripts come
//! from the templates in `templates/` through [`script`]. No IO: the result is
//! a sorted map of relative paths to contents, the same bytes on every run.
//!
//! - [`layout`](emit_keeping): which files a build is made of, and where;
//! - `output`: the output model ([`Output`], [`Text`]) and the header line;
//! - `stream`: the manifests as one YAML stream (`vcp build -o -`);
//! - `hash`: the spec-hash fingerprints of jobs and flows;
//! - [`volcano`]: Jobs, JobTemplates, JobFlows, ConfigMaps;
//! - [`kustomize`]: the kustomizations that list them, and where they name
//!   each other (for overlays).

mod hash;
pub mod kustomize;
mod layout;
mod output;
pub mod records;
pub mod script;
mod stream;
pub mod volcano;
pub mod yaml;

pub use layout::{CONFIG_MAP_LIMIT, Keep, emit, emit_keeping, pipeline_files};
pub use output::{Output, Text, header, is_generated};
pub use stream::{stream, stream_pieces};
