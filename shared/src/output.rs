//! How the list commands print: lines for people (the default) or one JSON document for
//! scripts, chosen with `--output`.

use serde::Serialize;

#[derive(clap::Args, Debug, Clone, Copy)]
pub struct OutputArgs {
    /// `text`: one tab-separated line per item and a count, for people; `json`: one JSON
    /// document on stdout, for scripts.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

impl OutputArgs {
    pub fn is_json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// Prints `value` as one line of JSON.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<(), serde_json::Error> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
