//! The alert rules, dashboards and scaling queries under `deploy/` name only metrics the code
//! exports (`sluice_shared::metrics::ALL`): a renamed metric cannot silently blind an alert.

use std::{collections::BTreeSet, fs, path::Path};

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "yml" || e == "yaml" || e == "json")
        {
            out.push(path);
        }
    }
}

#[test]
fn deploy_names_only_exported_metrics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let exported: BTreeSet<&str> = sluice_shared::metrics::ALL.iter().copied().collect();
    let mut used = BTreeSet::new();
    let mut unknown = Vec::new();
    for path in &paths {
        let text = fs::read_to_string(path).unwrap();
        for (i, _) in text.match_indices("sluice_") {
            let name: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // Recording rules (`level:metric:op`) and the adapter's external metric are names
            // of the deploy files' own; histogram series are ours.
            let recording = text[i + name.len()..].starts_with(':');
            if recording || name == "sluice_worker_backlog" {
                continue;
            }
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .fold(name.as_str(), |n, s| n.strip_suffix(s).unwrap_or(n));
            used.insert(base.to_owned());
            if !exported.contains(base) {
                unknown.push(format!(
                    "{} in {}",
                    name,
                    path.strip_prefix(&root).unwrap().display()
                ));
            }
        }
    }
    assert!(used.len() > 10, "found only {used:?}: is deploy/ there?");
    unknown.sort();
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "metrics used under deploy/ that the code does not export: {unknown:?}"
    );
}
