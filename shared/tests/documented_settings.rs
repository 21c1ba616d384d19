//! Every environment variable the binaries read is documented in `.env.example` and the README,
//! and every deprecated name still read is in the README's "Deprecated names" table.

use std::{collections::BTreeSet, fs, path::Path};

fn env_vars_in(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            env_vars_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).unwrap();
            for part in text.split("env = \"").skip(1) {
                if let Some(name) = part.split('"').next() {
                    found.insert(name.to_owned());
                }
            }
        }
    }
}

#[test]
fn every_setting_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut vars = BTreeSet::new();
    for krate in [
        "api/src",
        "worker/src",
        "shared/src",
        "botapi/src",
        "console/src",
    ] {
        env_vars_in(&root.join(krate), &mut vars);
    }
    assert!(vars.len() > 20, "found only {vars:?}");
    let example = fs::read_to_string(root.join(".env.example")).unwrap();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let missing: Vec<String> = vars
        .iter()
        .flat_map(|v| {
            let mut m = Vec::new();
            if !example.contains(v.as_str()) {
                m.push(format!("{v} (.env.example)"));
            }
            if !readme.contains(v.as_str()) {
                m.push(format!("{v} (README.md)"));
            }
            m
        })
        .collect();
    assert!(missing.is_empty(), "undocumented settings: {missing:?}");
}

#[test]
fn every_deprecated_name_is_in_the_readme_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let table = readme
        .split("### Deprecated names")
        .nth(1)
        .expect("README.md has a \"Deprecated names\" section");
    let missing: Vec<_> = sluice_shared::config::renamed::LEGACY
        .iter()
        .filter(|row| !table.contains(&format!("`{}`", row.old)))
        .map(|row| row.old)
        .collect();
    assert!(
        missing.is_empty(),
        "deprecated but not in the table: {missing:?}"
    );
}
