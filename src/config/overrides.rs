//! `--set PATH=VALUE`: an override of one config field, applied to the config document (a TOML table)
//! before the full check. `ppdl run`, `ppdl validate` and sweep axes all go through [`apply`].
//!
//! PATH is dotted with numeric list indices (`train.epochs`, `arms.2.transforms.0.sigma`); VALUE is
//! read as a TOML value, or as a string when it is not one (`--set model.arch=lenet`).

use toml::{Table, Value};

use crate::error::did_you_mean;

/// One override and where it came from (`--set train.epochs=3`, `sweep.toml:7: axis ...`), which error
/// messages name.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: String,
    pub value: Value,
    pub origin: String,
}

impl Override {
    pub fn new(path: impl Into<String>, value: Value, origin: impl Into<String>) -> Override {
        Override { path: path.into(), value, origin: origin.into() }
    }

    /// Parse a command-line `PATH=VALUE`.
    pub fn parse(arg: &str) -> Result<Override, String> {
        let (path, raw) =
            arg.split_once('=').ok_or_else(|| format!("--set {arg}: expected PATH=VALUE, e.g. train.epochs=3"))?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!("--set {arg}: expected a dotted config path before `=`, e.g. train.epochs"));
        }
        Ok(Override::new(path, parse_value(raw.trim()), format!("--set {arg}")))
    }

    /// A short name for what this override changes, for run names: the last field name and the value,
    /// e.g. `epochs3`, `sigma0.05`, `archlenet`.
    pub fn label(&self) -> String {
        let field = self.path.split('.').rev().find(|s| s.parse::<usize>().is_err()).unwrap_or("set");
        let value = match &self.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        format!("{field}{value}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect()
    }
}

/// The name of a run with these overrides when none is given: the config's name and what changed, e.g.
/// `quickstart-epochs3-seed7`.
pub fn derived_name(name: &str, overrides: &[Override]) -> String {
    std::iter::once(name.to_string()).chain(overrides.iter().map(Override::label)).collect::<Vec<_>>().join("-")
}

/// The overrides that turn the config document `from` into `to`, one per changed field, for naming a
/// run edited by hand (the TUI form) as `--set` names one: a table whose `kind` changed (a transform
/// of another kind) is its `kind` and the new kind's parameters; a list of named tables (arms) that
/// changed length is matched by name, an added entry being its `name` and a removed one `without`
/// its name (a name, not a value to apply); any other list that changed length is one change of the whole
/// list. Fields only `from` has, and the run's `name`, are left out.
pub fn changes(from: &Table, to: &Table, origin: &str) -> Vec<Override> {
    let mut out = Vec::new();
    table_changes(from, to, "", origin, &mut out);
    out.retain(|o| o.path != "name");
    out
}

fn table_changes(from: &Table, to: &Table, at: &str, origin: &str, out: &mut Vec<Override>) {
    let path = |key: &str| if at.is_empty() { key.to_string() } else { format!("{at}.{key}") };
    if let (Some(old), Some(new)) = (from.get("kind"), to.get("kind")) {
        if old != new {
            out.push(Override::new(path("kind"), new.clone(), origin));
            for (key, value) in to.iter().filter(|(k, _)| *k != "kind") {
                out.push(Override::new(path(key), value.clone(), origin));
            }
            return;
        }
    }
    for (key, new) in to {
        match from.get(key) {
            Some(old) => value_changes(old, new, &path(key), origin, out),
            None => out.push(Override::new(path(key), new.clone(), origin)),
        }
    }
}

fn value_changes(old: &Value, new: &Value, at: &str, origin: &str, out: &mut Vec<Override>) {
    match (old, new) {
        (Value::Table(a), Value::Table(b)) => table_changes(a, b, at, origin, out),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                value_changes(x, y, &format!("{at}.{i}"), origin, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.iter().chain(b).all(|v| v.get("name").is_some()) => {
            named_changes(a, b, at, origin, out)
        }
        _ if old != new => out.push(Override::new(at, new.clone(), origin)),
        _ => {}
    }
}

/// Lists of named tables of different lengths: entries matched by name.
fn named_changes(a: &[Value], b: &[Value], at: &str, origin: &str, out: &mut Vec<Override>) {
    let name = |v: &Value| v.get("name").cloned();
    for (i, new) in b.iter().enumerate() {
        match a.iter().find(|old| name(old) == name(new)) {
            Some(old) => value_changes(old, new, &format!("{at}.{i}"), origin, out),
            None => {
                out.push(Override::new(format!("{at}.{i}.name"), name(new).unwrap_or(Value::Boolean(true)), origin))
            }
        }
    }
    for old in a.iter().filter(|old| b.iter().all(|new| name(new) != name(old))) {
        out.push(Override::new(format!("{at}.without"), name(old).unwrap_or(Value::Boolean(true)), origin));
    }
}

/// A TOML value (`3`, `0.1`, `true`, `"x"`, `[1, 2]`, `{ kind = "noise" }`), else the text as a string.
pub fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

/// Set `o.path` in `doc` to `o.value`. `defaults` is the same config with every default filled in: a
/// field the document leaves out is taken from it, so any field of the schema can be set. Err: why the
/// path does not exist (with "did you mean").
pub fn apply(doc: &mut Table, defaults: &Table, o: &Override) -> Result<(), String> {
    let segments: Vec<&str> = o.path.split('.').collect();
    let defaults = Value::Table(defaults.clone());
    let mut root = Value::Table(std::mem::take(doc));
    let result = set(&mut root, Some(&defaults), &segments, "", &o.value);
    if let Value::Table(t) = root {
        *doc = t;
    }
    result
}

fn set(node: &mut Value, default: Option<&Value>, segs: &[&str], at: &str, value: &Value) -> Result<(), String> {
    let Some((&seg, rest)) = segs.split_first() else { return Ok(()) };
    let here = if at.is_empty() { seg.to_string() } else { format!("{at}.{seg}") };
    match node {
        Value::Table(table) => {
            let default_child = default.and_then(|d| d.get(seg));
            if !table.contains_key(seg) {
                match default_child {
                    Some(d) => {
                        table.insert(seg.to_string(), d.clone());
                    }
                    None => {
                        let known: Vec<&str> = table
                            .keys()
                            .chain(default.and_then(Value::as_table).into_iter().flat_map(|t| t.keys()))
                            .map(String::as_str)
                            .collect();
                        let hint = did_you_mean(seg, known.iter().copied());
                        // An optional field the resolved config leaves out (e.g. `data.dir`) is set
                        // as written; the schema check then accepts or names it.
                        if !rest.is_empty() || !hint.is_empty() {
                            let within = if at.is_empty() { "the config".to_string() } else { format!("`{at}`") };
                            return Err(format!("no field `{seg}` in {within}{hint}"));
                        }
                        table.insert(seg.to_string(), value.clone());
                        return Ok(());
                    }
                }
            }
            let child = table.get_mut(seg).expect("inserted above");
            if rest.is_empty() {
                *child = matched(value, child);
                Ok(())
            } else {
                set(child, default_child, rest, &here, value)
            }
        }
        Value::Array(items) => {
            let len = items.len();
            let index: usize = seg.parse().map_err(|_| {
                format!("`{at}` is a list: expected an index 0..{} where `{seg}` is", len.saturating_sub(1))
            })?;
            let child = items.get_mut(index).ok_or_else(|| {
                format!("`{at}` has {len} entr{}: index {index} is out of range", if len == 1 { "y" } else { "ies" })
            })?;
            if rest.is_empty() {
                *child = matched(value, child);
                Ok(())
            } else {
                set(child, default.and_then(|d| d.get(index)), rest, &here, value)
            }
        }
        _ => Err(format!("`{at}` is a single value, it has no field `{seg}`")),
    }
}

/// An integer written where the field holds a float (`sigma=1`) is the float.
fn matched(value: &Value, old: &Value) -> Value {
    match (value, old) {
        (Value::Integer(i), Value::Float(_)) => Value::Float(*i as f64),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn changes_name_each_edited_field_once() {
        let from = table(
            "name = \"q\"\n[train]\nepochs = 5\nbatch_size = 64\n[privacy]\ntransforms = [{ kind = \"pixel-permutation\" }, { kind = \"noise\", sigma = 0.05 }]",
        );
        let to = table(
            "name = \"other\"\n[train]\nepochs = 3\nbatch_size = 64\n[privacy]\ntransforms = [{ kind = \"orthogonal-mix\" }, { kind = \"noise\", sigma = 0.2 }]",
        );
        let found = changes(&from, &to, "test");
        let paths: Vec<&str> = found.iter().map(|o| o.path.as_str()).collect();
        assert_eq!(paths, ["train.epochs", "privacy.transforms.0.kind", "privacy.transforms.1.sigma"]);
        assert_eq!(derived_name("q", &found), "q-epochs3-kindorthogonal-mix-sigma0.2");
        assert!(changes(&from, &from, "test").is_empty());
        // A transform added: the whole list is the change.
        let longer = table("[privacy]\ntransforms = [{ kind = \"pixel-permutation\" }, { kind = \"noise\", sigma = 0.05 }, { kind = \"orthogonal-mix\" }]");
        let found = changes(&from, &longer, "test");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "privacy.transforms");
    }

    #[test]
    fn a_new_kind_names_its_parameters_and_named_lists_match_by_name() {
        let from =
            table("[[arms]]\nname = \"b\"\n[[arms]]\nname = \"p\"\ntransforms = [{ kind = \"pixel-permutation\" }]");
        let to = table(
            "[[arms]]\nname = \"b\"\n[[arms]]\nname = \"p\"\ntransforms = [{ kind = \"noise\", sigma = 0.05 }]\n[[arms]]\nname = \"k\"",
        );
        let found = changes(&from, &to, "test");
        assert_eq!(derived_name("q", &found), "q-kindnoise-sigma0.05-namek");
        let fewer = table("[[arms]]\nname = \"b\"");
        assert_eq!(derived_name("q", &changes(&from, &fewer, "test")), "q-withoutp");
    }

    #[test]
    fn values_parse_as_toml_or_fall_back_to_strings() {
        assert_eq!(parse_value("3"), Value::Integer(3));
        assert_eq!(parse_value("0.5"), Value::Float(0.5));
        assert_eq!(parse_value("lenet"), Value::String("lenet".into()));
        assert_eq!(parse_value("\"a b\""), Value::String("a b".into()));
        assert!(Override::parse("train.epochs").is_err());
        assert_eq!(Override::parse("train.epochs=3").unwrap().label(), "epochs3");
        assert_eq!(Override::parse("arms.1.transforms.0.sigma=0.05").unwrap().label(), "sigma0.05");
    }

    #[test]
    fn applies_to_written_defaulted_and_indexed_fields() {
        let mut doc = table("name = \"q\"\n[train]\nepochs = 5\n[[arms]]\nname = \"b\"\n[[arms]]\nname = \"p\"\ntransforms = [{ kind = \"noise\", sigma = 0.1 }]\n");
        let defaults = table("name = \"q\"\n[train]\nepochs = 5\nbatch_size = 64\n[[arms]]\nname = \"b\"\n[[arms]]\nname = \"p\"\ntransforms = [{ kind = \"noise\", sigma = 0.1 }]\n[attacks.inversion]\nn = 8\n");
        let set = |doc: &mut Table, arg: &str| apply(doc, &defaults, &Override::parse(arg).unwrap());
        set(&mut doc, "train.epochs=2").unwrap();
        set(&mut doc, "train.batch_size=32").unwrap();
        set(&mut doc, "arms.1.transforms.0.sigma=1").unwrap();
        set(&mut doc, "attacks.inversion.n=3").unwrap();
        assert_eq!(doc["train"]["epochs"].as_integer(), Some(2));
        assert_eq!(doc["train"]["batch_size"].as_integer(), Some(32));
        assert_eq!(doc["arms"][1]["transforms"][0]["sigma"].as_float(), Some(1.0));
        assert_eq!(doc["attacks"]["inversion"]["n"].as_integer(), Some(3));

        let e = set(&mut doc, "train.epoch=2").unwrap_err();
        assert!(e.contains("no field `epoch` in `train`") && e.contains("did you mean `epochs`"), "{e}");
        let e = set(&mut doc, "arms.5.name=x").unwrap_err();
        assert!(e.contains("`arms` has 2 entries: index 5 is out of range"), "{e}");
        let e = set(&mut doc, "arms.first.name=x").unwrap_err();
        assert!(e.contains("`arms` is a list"), "{e}");
        let e = set(&mut doc, "trian.epochs=2").unwrap_err();
        assert!(e.contains("did you mean `train`"), "{e}");
    }
}
