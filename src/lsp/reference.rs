//! The language reference (docs/language.md, embedded) as data: the tables
//! of fields, item sources and strategies, which hover and completion show.
//! The field table of the checker (`check::fields`) says which fields exist;
//! this says what they mean, in the words users read on the page.

use crate::check::fields::BlockKind;

const LANGUAGE: &str = include_str!("../../docs/language.md");

/// One row of a reference table: the names it documents and its cells by
/// column title (`type`, `default`, `meaning`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) names: Vec<String>,
    pub(crate) cells: Vec<(String, String)>,
}

impl Row {
    pub(crate) fn cell(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_str())
    }
}

/// The rows of the first table under `heading` whose first column is `first`.
fn table(heading: &str, first: &str) -> Vec<Row> {
    let Some(at) = LANGUAGE.lines().position(|l| l.trim() == heading) else {
        return Vec::new();
    };
    let mut lines = LANGUAGE.lines().skip(at + 1);
    let header = lines
        .by_ref()
        .take_while(|l| !l.starts_with("## ") || heading.starts_with("###"))
        .find(|l| cells(l).first().is_some_and(|c| c == first));
    let Some(header) = header else {
        return Vec::new();
    };
    let columns = cells(header);
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let values = cells(l);
            let names = values.first().map(|c| backticked(c)).unwrap_or_default();
            Row {
                names,
                cells: columns.iter().cloned().zip(values).skip(1).collect(),
            }
        })
        .collect()
}

/// The cells of a table row; `\|` is a `|` inside a cell.
fn cells(line: &str) -> Vec<String> {
    let line = line.trim();
    let Some(inner) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
        return Vec::new();
    };
    inner
        .replace("\\|", "\u{0}")
        .split('|')
        .map(|c| c.trim().replace('\u{0}', "|"))
        .collect()
}

/// The `quoted` words of a cell.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn heading(block: BlockKind) -> Option<&'static str> {
    match block {
        BlockKind::Pipeline => Some("## Pipelines"),
        BlockKind::Stage => Some("## Stages"),
        BlockKind::Volume => Some("### Volumes"),
        BlockKind::Resources => Some("### Resources"),
        BlockKind::Toleration | BlockKind::Overlay => None,
    }
}

/// The reference row of a field of a block.
pub(crate) fn field(block: BlockKind, name: &str) -> Option<Row> {
    let heading = heading(block)?;
    table(heading, "field")
        .into_iter()
        .find(|r| r.names.iter().any(|n| n == name))
}

/// The reference row of a shard strategy (`modulo`, ...).
pub(crate) fn strategy(name: &str) -> Option<Row> {
    table("## Sharding", "strategy")
        .into_iter()
        .find(|r| r.names.iter().any(|n| n == name))
}

/// The reference row of an item source (`range`, `lines`, `files`).
pub(crate) fn source(name: &str) -> Option<Row> {
    table("## Sharding", "source")
        .into_iter()
        .find(|r| r.names.iter().any(|n| n.split('(').next() == Some(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_a_documented_block_has_a_row() {
        for block in BlockKind::ALL {
            if heading(block).is_none() {
                continue;
            }
            for f in block.fields() {
                let row = field(block, f.name);
                assert!(row.is_some(), "{block:?} `{}`", f.name);
            }
        }
        let workers = field(BlockKind::Stage, "workers").expect("workers");
        assert_eq!(workers.cell("type"), Some("int ≥ 1"));
        assert_eq!(workers.cell("default"), Some("`1`"));
        let tolerations = field(BlockKind::Stage, "tolerations").expect("tolerations");
        assert!(
            tolerations
                .cell("meaning")
                .is_some_and(|m| m.contains("\"Equal\"|\"Exists\""))
        );
        let gpu = field(BlockKind::Resources, "memory").expect("memory");
        assert!(gpu.cell("meaning").is_some_and(|m| m.contains("requests")));
    }

    #[test]
    fn every_strategy_and_source_has_a_row() {
        for s in crate::ir::Strategy::ALL {
            assert!(strategy(s.as_str()).is_some(), "{s}");
        }
        for k in crate::ir::SourceKind::ALL
            .into_iter()
            .filter(|k| k.is_call())
        {
            assert!(source(k.as_str()).is_some(), "{k}");
        }
    }
}
