//! Diagnostics as data.
//!
//! The compiler never prints and never panics on user input: every problem is a
//! [`Diagnostic`] with a stable [`Code`], a primary span, optional secondary
//! labels and a help line. The CLI renders them (with miette) at the edge; tests
//! snapshot the rendering. Each code has a page in `docs/errors/`, embedded in
//! the binary and printed by `vcp explain`.

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// Every diagnostic code vcp can produce. The string form never changes meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code, such as `E0101`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// A one-line title, also the first line of the docs page.
            pub fn title(self) -> &'static str {
                match self {
                    $(Code::$variant => $title,)*
                }
            }

            /// The full `docs/errors/<code>.md` page.
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!("../docs/errors/", $code, ".md")),)*
                }
            }
        }
    };
}

codes! {
    Syntax = "E0001", "syntax error";
    BadString = "E0002", "invalid string literal";
    UnknownField = "E0101", "unknown field";
    DuplicateField = "E0102", "field set twice";
    MissingField = "E0103", "required field missing";
    WrongType = "E0104", "value of the wrong type";
    OutOfRange = "E0105", "number out of range";
    BadQuantity = "E0106", "invalid resource quantity";
    BadDuration = "E0107", "invalid duration";
    BadImage = "E0108", "invalid container image reference";
    BadPath = "E0109", "invalid path";
    BadEnvName = "E0110", "invalid or reserved environment variable name";
    UnknownName = "E0201", "unknown name";
    Duplicate = "E0202", "defined twice";
    UnknownStage = "E0203", "unknown stage in `after`";
    DependencyCycle = "E0204", "stages depend on each other in a cycle";
    TemplateCycle = "E0205", "templates use each other in a cycle";
    ImportNotFound = "E0301", "imported file not found";
    ImportCycle = "E0302", "files import each other in a cycle";
    NotASource = "E0303", "not a source file (not regular, or over 64 MiB)";
    UnknownShard = "E0401", "unknown item source or shard strategy";
    StrategyMismatch = "E0402", "shard strategy does not fit the item source";
    BadShardArgs = "E0403", "invalid item source arguments";
    ItemWithoutShard = "E0404", "`{item}` used in a stage without `shard`";
    BadItem = "E0405", "invalid work item";
    QuotedItem = "E0406", "`{item}` or `${param}` inside single quotes";
    UnsafeItemContext = "E0407", "`{item}` or `${param}` where the shell would not keep it exact";
    BadName = "E0501", "invalid Kubernetes name";
    NameTooLong = "E0502", "generated Kubernetes name too long";
    BadLabelKey = "E0503", "invalid label or annotation key";
    BadLabelValue = "E0504", "invalid label value";
    BadQueue = "E0505", "queue Volcano would reject";
    ScriptsTooLarge = "E0506", "wrapper scripts too large for a ConfigMap";
    BadVolume = "E0507", "invalid volume";
    AnnotationsTooLarge = "E0508", "annotations too large for one object";
    UnknownSet = "E0601", "`--set` names an unknown parameter";
    BadSet = "E0602", "`--set` value does not fit the parameter";
    InlineSecret = "E0701", "literal value looks like a credential";
    UnpinnedImage = "E0801", "image tag not pinned";
    LiteralMount = "E0802", "command names a volume's mount path";
    TooManyHosts = "E0901", "too many workers for the host list";
    HostsWithoutGang = "E0902", "host names read without a gang";
    BudgetWithoutRecords = "E0903", "failure budget without items or a checkpoint";
    BadOutputSource = "E0904", "`output(stage)` of a stage that does not come first or has no output";
    GitOpsConflict = "E1001", "field at odds with the pipeline's `gitops` controller";
}

/// A secondary label: another place that explains the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is. `None` only for problems outside any file (`--set`).
    pub span: Option<Span>,
    /// Text under the primary span.
    pub label: Option<String>,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: Some(span),
            label: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// An error that belongs to no file, such as a bad `--set` argument.
    pub fn global(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span: None,
            label: None,
            secondary: Vec::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one check, in the order they were found. The checker
/// owns one and lends it to every part that reports (the loader, the
/// evaluator, the name budgets); each builds a [`Diagnostic`] with
/// [`Diagnostic::error`] and its `with_*` methods and pushes it here.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
    errors: usize,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, diag: Diagnostic) {
        self.errors += usize::from(diag.is_error());
        self.list.push(diag);
    }

    /// How many of the diagnostics are errors: a part that reports compares
    /// the count before and after to learn whether it failed.
    pub fn error_count(&self) -> usize {
        self.errors
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.list.iter()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<I: IntoIterator<Item = Diagnostic>>(&mut self, diags: I) {
        for diag in diags {
            self.push(diag);
        }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3) && d < c.len().max(name.len()))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Sorts diagnostics by file and position so that output is stable.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| {
        d.span
            .map_or((u32::MAX, 0, 0), |s| (s.file.0, s.start, s.end))
    });
}
