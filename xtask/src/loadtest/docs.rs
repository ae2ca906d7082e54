//! `--write-docs`: a section of docs/BENCHMARKS.md (or docs/RELIABILITY.md) that a command
//! owns, between marker comments, replaced on each run; the rest of the file is left as it is.

use std::path::Path;

use anyhow::{Context, Result};

use super::machine;

/// What a section says about its run besides the figures.
pub(crate) struct Record<'a> {
    pub(crate) title: &'a str,
    /// The command that reruns it.
    pub(crate) command: &'a str,
    /// The machine, described before the run.
    pub(crate) machine: &'a str,
}

/// Replaces (or appends) the section named `section` in the file at `path`.
pub(crate) fn write_section(
    path: &Path,
    section: &str,
    record: &Record<'_>,
    body: &str,
) -> Result<()> {
    let old =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = format!(
        "## {}\n\n`{}`\n\nMachine: {}; run on {} (UTC).\n\n{}",
        record.title,
        record.command,
        record.machine,
        machine::today(),
        body.trim_end()
    );
    std::fs::write(path, replace_section(&old, section, &text))
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote the {section} section of {}", path.display());
    Ok(())
}

/// `document` with the text between `section`'s markers replaced by `text`, or with the
/// markers and `text` appended when the markers are absent.
fn replace_section(document: &str, section: &str, text: &str) -> String {
    // Found by its name alone, so the begin line a file already has (whichever command it
    // names) is kept.
    let begin_prefix = format!("<!-- begin {section}: ");
    let end = format!("<!-- end {section} -->");
    if let Some(start) = document.find(&begin_prefix)
        && let Some(begin_length) = document[start..].find("-->")
        && let Some(stop) = document[start..].find(&end)
    {
        let begin = &document[start..start + begin_length + "-->".len()];
        let stop = start + stop + end.len();
        return format!("{}{begin}\n{text}\n{end}{}", &document[..start], &document[stop..]);
    }
    let begin = format!("<!-- begin {section}: written by `cargo xtask`, do not edit -->");
    format!("{}\n\n{begin}\n{text}\n{end}\n", document.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_appended_then_replaced_and_the_rest_is_kept() {
        let document = "# Benchmarks\n\nhand-written\n";
        let once = replace_section(document, "loadtest", "first");
        assert!(once.starts_with(document.trim_end()));
        assert!(once.contains("first"));
        let with_tail = format!("{once}\n## after\n");
        let twice = replace_section(&with_tail, "loadtest", "second");
        assert!(!twice.contains("first") && twice.contains("second"));
        assert!(
            twice.starts_with("# Benchmarks\n\nhand-written\n") && twice.ends_with("## after\n")
        );
        assert_eq!(twice.matches("<!-- begin loadtest").count(), 1);
        let other = replace_section(&twice, "loadtest-compare", "third");
        assert!(other.contains("second") && other.contains("third"));
    }
}
