//! The steps of loading a scenario file, reported as they begin so that a caller can show progress
//! (`netlab check` and `run` do on a terminal, for large files). Loading a 50 MB file takes seconds,
//! most of it reading the TOML.

/// A step of `Scenario::load_all_with`, reported when it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStep {
    /// Reading the file's bytes (its size).
    Reading {
        /// The file's size in bytes.
        bytes: u64,
    },
    /// Parsing the TOML text into a tree.
    Parsing,
    /// Checking the file's shape (sections, arrays of tables).
    Shape,
    /// Reading every entry's keys and values.
    Entries,
    /// The checks across entries (names, addresses, references).
    Checks,
}

impl LoadStep {
    /// What the step does, in a few words ("parsing TOML").
    pub fn describe(&self) -> String {
        match self {
            LoadStep::Reading { bytes } => format!("reading {:.1} MB", *bytes as f64 / (1u64 << 20) as f64),
            LoadStep::Parsing => "parsing TOML".into(),
            LoadStep::Shape => "checking sections".into(),
            LoadStep::Entries => "reading entries".into(),
            LoadStep::Checks => "checking names, addresses and references".into(),
        }
    }
}
