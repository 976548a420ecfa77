//! The config diff of any number of runs: every config.toml flattened to `path = value` fields
//! (`train.epochs`, `privacy.transforms[0].kind`), and the fields whose values differ, one value per
//! run. Two runs are the n = 2 case.

/// Fields left out of the diff: every run has its own name.
const IGNORED: [&str; 1] = ["name"];

/// One field that differs: its path and each run's value (None: absent in that run's config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffField {
    pub path: String,
    pub values: Vec<Option<String>>,
}

/// The fields that differ across the runs' configs, in the order they first appear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldDiff {
    pub fields: Vec<DiffField>,
    /// Which runs' config.toml could not be read or parsed, and why (their values count as absent).
    pub errors: Vec<String>,
}

impl FieldDiff {
    /// The diff of `configs` (each a config.toml's text, or why it could not be read).
    pub fn of(configs: &[Result<String, String>]) -> FieldDiff {
        let mut errors = Vec::new();
        let mut readable = Vec::new();
        let flat: Vec<Vec<(String, String)>> = configs
            .iter()
            .map(|c| match c.as_ref().map_err(Clone::clone).and_then(|t| flatten(t)) {
                Ok(f) => {
                    readable.push(true);
                    f
                }
                Err(e) => {
                    errors.push(e);
                    readable.push(false);
                    Vec::new()
                }
            })
            .collect();
        let mut paths: Vec<&str> = Vec::new();
        for f in &flat {
            for (p, _) in f {
                if !paths.contains(&p.as_str()) && !IGNORED.contains(&p.as_str()) {
                    paths.push(p);
                }
            }
        }
        let fields = paths
            .into_iter()
            .map(|p| DiffField {
                path: p.to_string(),
                values: flat.iter().map(|f| f.iter().find(|(q, _)| q == p).map(|(_, v)| v.clone())).collect(),
            })
            // Differ among the configs that read (an unreadable one is not a difference).
            .filter(|d| {
                let mut read = d.values.iter().zip(&readable).filter(|(_, r)| **r).map(|(v, _)| v);
                read.next().is_some_and(|first| read.any(|v| v != first))
            })
            .collect();
        FieldDiff { fields, errors }
    }

    /// The value of `path` in run `run` ("-" when absent), as a short cell.
    pub fn value(&self, path: &str, run: usize) -> Option<&str> {
        self.fields.iter().find(|f| f.path == path)?.values.get(run)?.as_deref()
    }

    /// Number of fields that differ.
    pub fn changes(&self) -> usize {
        self.fields.len()
    }
}

/// A config.toml as `path = value` fields in file order; values as TOML writes them (strings quoted).
pub fn flatten(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: toml::Table = toml::from_str(text).map_err(|e| format!("config.toml does not parse: {e}"))?;
    let mut out = Vec::new();
    flatten_into("", &toml::Value::Table(value), &mut out);
    Ok(out)
}

fn flatten_into(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten_into(&path, x, out);
            }
        }
        // Arrays of tables (arms, transforms) by index; arrays of plain values as one value.
        toml::Value::Array(a) if a.iter().any(|x| x.is_table()) => {
            for (i, x) in a.iter().enumerate() {
                flatten_into(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_fields_that_differ_with_every_runs_value() {
        let a = "name = \"a\"\nseed = 1\n[train]\nepochs = 5\n[[privacy.transforms]]\nkind = \"noise\"\nsigma = 0.1\n";
        let b = "name = \"b\"\nseed = 2\n[train]\nepochs = 5\n[[privacy.transforms]]\nkind = \"noise\"\nsigma = 0.2\n";
        let c = "name = \"c\"\nseed = 1\n[train]\nepochs = 5\n[[privacy.transforms]]\nkind = \"noise\"\n";
        let d = FieldDiff::of(&[Ok(a.into()), Ok(b.into()), Ok(c.into()), Err("x: gone".into())]);
        let paths: Vec<&str> = d.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["seed", "privacy.transforms[0].sigma"]);
        assert_eq!(d.value("privacy.transforms[0].sigma", 1), Some("0.2"));
        assert_eq!(d.value("privacy.transforms[0].sigma", 2), None);
        assert_eq!(d.value("seed", 1), Some("2"));
        assert_eq!(d.value("seed", 3), None, "an unreadable config has no values");
        assert_eq!(d.errors, ["x: gone"]);
        let same = FieldDiff::of(&[Ok(a.into()), Ok(a.replace("\"a\"", "\"z\""))]);
        assert_eq!(same.changes(), 0, "the name is not a difference");
    }
}
