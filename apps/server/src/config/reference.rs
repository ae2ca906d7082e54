//! `docs/OPERATIONS.md` lists every field of the config file, and nothing else: the fields are
//! found from the config types themselves (each refuses unknown fields and names the ones it
//! takes), so a field added to a type and not to the document fails this test.

use std::collections::BTreeSet;

use super::{FileConfig, Layer, resolve};

const OPERATIONS: &str = include_str!("../../../../docs/OPERATIONS.md");

/// What the server says to a table holding only an unknown field at `header`.
fn refusal(header: &str) -> String {
    let text = format!("{header}\n__probe = 1\n");
    match FileConfig::parse(&text)
        .and_then(|file| resolve(Layer::default(), Layer::default(), file))
    {
        Ok(_) => String::new(),
        Err(error) => format!("{error:#}"),
    }
}

/// The fields a table at `header` takes, when it is a table that refuses unknown fields.
fn fields_at(header: &str) -> Option<Vec<String>> {
    let message = refusal(header);
    if !message.contains("unknown field `__probe`") {
        return None;
    }
    let expected = &message[message.rfind("expected")?..];
    Some(expected.split('`').skip(1).step_by(2).map(str::to_owned).collect())
}

/// Every field path under `path`, depth first: tables and lists of tables are descended.
fn walk(path: &str, fields: Vec<String>, found: &mut BTreeSet<String>) {
    for field in fields {
        let full = if path.is_empty() { field.clone() } else { format!("{path}.{field}") };
        // A table is documented by its fields; a list of tables has a row of its own too.
        if let Some(inner) = fields_at(&format!("[{full}]")) {
            walk(&full, inner, found);
        } else if let Some(inner) = fields_at(&format!("[[{full}]]")) {
            found.insert(full.clone());
            walk(&full, inner, found);
        } else {
            found.insert(full);
        }
    }
}

fn documented() -> BTreeSet<String> {
    let start = OPERATIONS.find("## The config file").expect("a config file section");
    let section = &OPERATIONS[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |at| at + 3);
    section[..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn config_reference_lists_every_field_and_nothing_else() {
    let top = fields_at("").expect("the file refuses unknown sections");
    let mut found = BTreeSet::new();
    walk("", top, &mut found);
    assert!(found.len() > 80, "too few fields found, the probe is broken: {found:?}");
    let documented = documented();
    let missing: Vec<_> = found.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&found).collect();
    assert!(missing.is_empty(), "fields missing from docs/OPERATIONS.md: {missing:?}");
    assert!(
        stale.is_empty(),
        "docs/OPERATIONS.md lists fields the server does not read: {stale:?}"
    );
}
