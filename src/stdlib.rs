//! The standard library: `.vcp` modules embedded in the binary and imported
//! as `import "std/<name>"`. They are parsed and checked like user files.

/// Every module, by import name, sorted.
pub const MODULES: &[(&str, &str)] = &[
    ("std/cube", include_str!("../stdlib/std/cube.vcp")),
    ("std/python", include_str!("../stdlib/std/python.vcp")),
];

/// The text of a module, if `name` is one.
pub fn module(name: &str) -> Option<&'static str> {
    let name = name.strip_suffix(".vcp").unwrap_or(name);
    MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}
