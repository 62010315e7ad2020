//! What the kubelet does to a container's env values before the process
//! sees them: `$(NAME)` of an earlier variable is replaced by its value,
//! `$$` becomes `$`, everything else stays. A Rust rendering of the rules of
//! Kubernetes' `Expand` (kubernetes/kubernetes, commit
//! 02604f7db394870a4f9af9deb7e457274a0aa7ee,
//! `third_party/forked/golang/expansion/expand.go`), and of how the kubelet
//! applies it to a container's env list in order (`makeEnvironmentVariables`
//! in `pkg/kubelet/kubelet_pods.go`: each value is expanded with the
//! variables resolved before it).

use serde_json::Value;
use std::collections::BTreeMap;

/// `Expand(input, mapping)` (its cases: `expand_test.go` beside it): `mapping` gives a name's value, `None` for an
/// unknown name, which stays `$(name)`.
pub(crate) fn expand(input: &str, mapping: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        // A `$` that is the last byte is copied as it is.
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match bytes[cursor + 1] {
                // `$$`: an escaped `$`.
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest[1..].find(')') {
                    Some(close) => {
                        let name = &rest[1..1 + close];
                        match mapping(name) {
                            Some(value) => out.push_str(&value),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        close + 2
                    }
                    // `$(` without `)`: kept, and reading goes on after `(`.
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                // `$` before anything else: kept with the next character.
                _ => {
                    let next = rest.chars().next().map_or(1, char::len_utf8);
                    out.push('$');
                    out.push_str(&rest[..next]);
                    next
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.push_str(&input[checkpoint..]);
    out
}

/// The environment a container's process gets from its `env` list (values
/// only; `valueFrom` entries are left out), expanded as the kubelet does.
pub(crate) fn container_env(container: &Value) -> BTreeMap<String, String> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for entry in container["env"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (entry["name"].as_str(), entry["value"].as_str()) else {
            continue;
        };
        let expanded = expand(value, |n| {
            resolved
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        });
        resolved.push((name.to_string(), expanded));
    }
    resolved.into_iter().collect()
}

#[test]
fn expansion_follows_the_kubernetes_rules() {
    let vars = |n: &str| match n {
        "A" => Some("x".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    for (input, want) in [
        ("", ""),
        ("plain", "plain"),
        ("$(A)", "x"),
        ("a$(A)b$(A)", "axbx"),
        ("$(EMPTY)", ""),
        ("$(UNKNOWN)", "$(UNKNOWN)"),
        ("$$", "$"),
        ("$$(A)", "$(A)"),
        ("$$$(A)", "$x"),
        ("$$$$", "$$"),
        ("cost $$5", "cost $5"),
        ("$", "$"),
        ("a$", "a$"),
        ("$a", "$a"),
        ("$HOME", "$HOME"),
        ("${A}", "${A}"),
        ("$(", "$("),
        ("$(A", "$(A"),
        ("$()", "$()"),
        ("$(A)$", "x$"),
        ("$é", "$é"),
        ("$(a b)", "$(a b)"),
        ("$($(A))", "$($(A))"),
        // Cases of the upstream expand_test.go, with its VAR_A as A.
        ("$$$$$$(A)", "$$$(A)"),
        ("$$$$$$$(A)", "$$$x"),
        ("$$$$$$$(UNKNOWN)", "$$$$(UNKNOWN)"),
        ("$(A$(A))", "$(A$(A))"),
        ("--$($($($($--", "--$($($($($--"),
        ("$(foo$$var)", "$(foo$$var)"),
        ("foo\\$(A)bar", "foo\\xbar"),
        ("$?_boo_$!", "$?_boo_$!"),
        ("$(A)_______$(", "x_______$("),
        ("\n", "\n"),
    ] {
        assert_eq!(expand(input, vars), want, "{input:?}");
    }
}

#[test]
fn later_variables_see_the_earlier_ones() {
    let container = serde_json::json!({ "env": [
        { "name": "A", "value": "x" },
        { "name": "B", "value": "$(A)-$(C)" },
        { "name": "C", "value": "c" },
        { "name": "S", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } },
    ]});
    let env = container_env(&container);
    assert_eq!(env["B"], "x-$(C)");
    assert_eq!(env.len(), 3);
}
