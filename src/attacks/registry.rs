//! The attack registry: the one trait every attack implements ([`Attack`]), and what the rest of the
//! program asks of the attacks listed in [`super::ATTACKS`] (names, titles, parameter tables, what they
//! need, what kind of result they give). Adding an attack is its file plus one line in that list
//! (docs/ARCHITECTURE.md, "A new attack").
//!
//! **Parameters.** An attack's parameters are a serde struct of its own file, read from its table
//! `[attacks.NAME]` (NAME in snake case: `[attacks.known_plaintext]`) with a default for every field.
//! The config layer keeps the tables as written ([`AttacksConfig::tables`]); [`check`] (called from
//! `validate::check`) reads and checks them, and [`resolve`] fills them with every default, so that a
//! resolved config (`ppdl validate`) shows every attack's parameters.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::verdict::Spec;
use super::{AttackContext, AttackRecord, Progress, ATTACKS};
use crate::config::{AttacksConfig, ALL_ATTACKS};
use crate::error::{closest, did_you_mean, InputError};

/// What kind of result an attack gives: figures and tables group attacks by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultKind {
    /// A count of keys: a brute-force adversary's work factor.
    KeySearch,
    /// What the provider's model is worth to whoever steals it without the key.
    ModelTheft,
    /// Reconstructions of the customer's inputs, scored by PSNR, SSIM and recognition
    /// (`super::recon`): the trade-off figure takes the best of these attacks.
    Reconstruction,
    /// The secret label assignment recovered.
    LabelRecovery,
    /// Encodings linked to the plaintext images they encode (re-identification).
    Linkage,
}

/// The kinds of protected arm an attack can target (the baseline is never attacked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Keyed input transforms with label protection: the adversary faces a secret key.
    Keyed,
    /// U-shaped split learning: the adversary sees cut-layer activations and gradients.
    Split,
    /// InstaHide: the adversary sees every epoch's mixed, sign-masked training encodings.
    InstaHide,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Keyed => "keyed",
            Scheme::Split => "split",
            Scheme::InstaHide => "instahide",
        }
    }

    /// Why an attack made for other schemes does not apply to an arm of this one.
    pub fn not_for(self) -> &'static str {
        match self {
            Scheme::Keyed => {
                "keyed arm: this attack targets a split arm's cut (cut-layer activations and gradients, the provider's \
                 middle layers); a keyed arm's provider holds the whole network and the encoded inputs instead"
            }
            Scheme::Split => {
                "split arm: the provider never sees the customer's inputs, encoded or raw, only cut-layer \
                 activations, and there is no key to attack"
            }
            Scheme::InstaHide => {
                "InstaHide arm: no key encodes the inputs and no cut splits the model: each training encoding \
                 mixes k private images with fresh random weights under a fresh sign mask, redrawn every epoch, and \
                 test images reach the model unencoded; Carlini et al.'s attack (`carlini-instahide`) is the one \
                 for it"
            }
        }
    }
}

/// What an attack draws on beyond the public scheme and the adversary's public data (the adversary
/// half of the test split, from which known pairs are made through the oracle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The provider's trained model (`provider/model.safetensors`).
    ProviderModel,
    /// The encoded training set with its output codes, as the provider received it (kept from the
    /// run, or re-encoded with the key).
    ProviderTrainingSet,
}

impl Need {
    pub fn describe(self) -> &'static str {
        match self {
            Need::ProviderModel => "the provider's trained model (provider/model.safetensors)",
            Need::ProviderTrainingSet => "the encoded training set the provider received",
        }
    }
}

/// One attack-resistance analysis. Implement it on a unit struct in the attack's own file and list
/// that struct in [`super::ATTACKS`].
pub trait Attack: Sync + 'static {
    /// The name in `attacks.enabled`, `ppdl attack --only` and attacks.json (kebab case).
    const NAME: &'static str;
    /// A human title for tables and figure captions.
    const TITLE: &'static str;
    const RESULT: ResultKind;
    /// What it needs from the run (it is skipped, saying why, when one is missing).
    const NEEDS: &'static [Need] = &[];
    /// The kinds of arm it attacks; on the others it is recorded as not applicable, saying why
    /// ([`Attack::not_for`]).
    const SCHEMES: &'static [Scheme] = &[Scheme::Keyed];
    /// Its `[attacks.NAME]` table: every field with a serde default, `deny_unknown_fields`.
    /// [`NoParams`] for an attack without parameters.
    type Params: Serialize + DeserializeOwned + Default;

    /// Ranges of the parameters. Err((field inside the table, e.g. `n[1]`, what was expected)).
    fn check(_params: &Self::Params) -> Result<(), (String, String)> {
        Ok(())
    }

    /// The verdict rule (`super::verdict` decides with it; README prints it).
    fn rule() -> Spec;

    /// Why it does not apply to an arm of `scheme` (one not in [`Attack::SCHEMES`]).
    fn not_for(scheme: Scheme) -> String {
        scheme.not_for().into()
    }

    /// Err(why) when the attack does not apply to this arm of one of its [`Attack::SCHEMES`]
    /// (recorded as not applicable, not as a failure).
    fn applies(_ctx: &AttackContext<'_>) -> Result<(), String> {
        Ok(())
    }

    /// Observe, recover, score: the record with its verdict (`super::verdict::decide`). Report
    /// progress through `progress`; stop early (`complete = false`) when `ctx.stop_requested()`.
    fn run(
        &self,
        ctx: &AttackContext<'_>,
        params: &Self::Params,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord>;
}

/// The parameters of an attack that has none (no table is shown for it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// An [`Attack`] as the registry holds it (implemented for every `Attack`).
pub trait AnyAttack: Sync {
    fn name(&self) -> &'static str;
    fn title(&self) -> &'static str;
    fn result(&self) -> ResultKind;
    fn needs(&self) -> &'static [Need];
    fn schemes(&self) -> &'static [Scheme];
    fn rule(&self) -> Spec;
    /// Err(why) when it does not apply to the arm: another kind of scheme, or [`Attack::applies`].
    fn applies(&self, ctx: &AttackContext<'_>) -> Result<(), String>;
    /// Its parameter table with every default filled in, after reading and checking `given` (the
    /// table as written, if any). Err((field inside the table, what was expected)).
    fn resolve_table(&self, given: Option<&toml::Value>) -> Result<toml::Table, (String, String)>;
    /// Run it with the parameters of `given` (defaults where absent).
    fn run_with(
        &self,
        ctx: &AttackContext<'_>,
        given: Option<&toml::Value>,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord>;
}

impl<A: Attack> AnyAttack for A {
    fn name(&self) -> &'static str {
        A::NAME
    }
    fn title(&self) -> &'static str {
        A::TITLE
    }
    fn result(&self) -> ResultKind {
        A::RESULT
    }
    fn needs(&self) -> &'static [Need] {
        A::NEEDS
    }
    fn schemes(&self) -> &'static [Scheme] {
        A::SCHEMES
    }
    fn rule(&self) -> Spec {
        A::rule()
    }
    fn applies(&self, ctx: &AttackContext<'_>) -> Result<(), String> {
        let scheme = ctx.scheme();
        if !A::SCHEMES.contains(&scheme) {
            return Err(A::not_for(scheme));
        }
        A::applies(ctx)
    }
    fn resolve_table(&self, given: Option<&toml::Value>) -> Result<toml::Table, (String, String)> {
        let params = read::<A>(given)?;
        A::check(&params)?;
        Ok(table_of(&params))
    }
    fn run_with(
        &self,
        ctx: &AttackContext<'_>,
        given: Option<&toml::Value>,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        let params = read::<A>(given).map_err(|(field, expected)| {
            anyhow::anyhow!("parameter `attacks.{}.{field}`: expected {expected}", table_name(A::NAME))
        })?;
        self.run(ctx, &params, progress)
    }
}

/// An attack's typed parameters from the config (defaults where its table is absent).
pub fn params<A: Attack>(config: &AttacksConfig) -> anyhow::Result<A::Params> {
    let key = table_name(A::NAME);
    read::<A>(config.tables.get(&key)).map_err(|(field, expected)| {
        InputError::new(format!("field `{}`: expected {expected}", join(&format!("attacks.{key}"), &field))).into()
    })
}

fn read<A: Attack>(given: Option<&toml::Value>) -> Result<A::Params, (String, String)> {
    let Some(value) = given else { return Ok(A::Params::default()) };
    if !value.is_table() {
        return Err((String::new(), format!("a table of `{}` parameters, got {}", A::NAME, value.type_str())));
    }
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let field = e.path().to_string();
        explain(A::NAME, &table_of(&A::Params::default()), if field == "." { "" } else { &field }, &e.into_inner())
    })
}

fn table_of(params: &impl Serialize) -> toml::Table {
    toml::Table::try_from(params).expect("attack parameters serialise to a TOML table")
}

/// (field inside the table, what was expected) for serde's message about one table.
fn explain(attack: &str, defaults: &toml::Table, field: &str, e: &toml::de::Error) -> (String, String) {
    let msg = e.message().trim();
    if let Some(unknown) = msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
        let expected = if defaults.is_empty() {
            format!("no parameters (`{attack}` has none): remove `{unknown}`")
        } else {
            let names = || defaults.keys().map(String::as_str);
            format!("a parameter of `{attack}`, one of {}{}", quoted(names()), did_you_mean(unknown, names()))
        };
        // The path already ends with the unknown key (serde_path_to_error records it), unless empty.
        return (if field.is_empty() { unknown.to_string() } else { field.to_string() }, expected);
    }
    // "invalid type: string \"x\", expected usize" -> "a non-negative integer, got string \"x\""
    let (got, wanted) = msg.rsplit_once(", expected ").unwrap_or(("", msg));
    let wanted = match wanted {
        "usize" | "u64" | "u32" => "a non-negative integer",
        "f64" | "f32" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        other => other,
    };
    let got = got.strip_prefix("invalid type: ").or_else(|| got.strip_prefix("invalid value: ")).unwrap_or(got);
    let expected = if got.is_empty() { wanted.to_string() } else { format!("{wanted}, got {got}") };
    (field.to_string(), expected)
}

fn join(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (_, true) => parent.to_string(),
        _ => format!("{parent}.{child}"),
    }
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// `known-plaintext` -> `known_plaintext`: the key of an attack's table under `[attacks]`.
pub fn table_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The registered attacks' names, in canonical order.
pub fn names() -> Vec<&'static str> {
    ATTACKS.iter().map(|a| a.name()).collect()
}

/// The attack of this name, if registered.
pub fn find(name: &str) -> Option<&'static dyn AnyAttack> {
    ATTACKS.iter().copied().find(|a| a.name() == name)
}

/// The attack of this name, or an input error listing the names (with a suggestion for a near miss).
pub fn by_name(name: &str) -> Result<&'static dyn AnyAttack, InputError> {
    find(name).ok_or_else(|| {
        InputError::new(format!("unknown attack `{name}`, expected one of {}{}", quoted(names().into_iter()), {
            did_you_mean(name, names())
        }))
    })
}

/// Position in canonical order (unregistered names last), for sorting records.
pub fn rank(name: &str) -> usize {
    ATTACKS.iter().position(|a| a.name() == name).unwrap_or(usize::MAX)
}

/// The enabled attacks in canonical order, `all` expanded, duplicates removed.
pub fn selected(config: &AttacksConfig) -> Vec<&'static dyn AnyAttack> {
    ATTACKS.iter().copied().filter(|a| config.enabled.iter().any(|e| e == ALL_ATTACKS || e == a.name())).collect()
}

/// Which attacks will run, in words: "all 7: key-space, wrong-key, ..." or "none: attacks are off".
pub fn describe(config: &AttacksConfig) -> String {
    let selected = selected(config);
    let names = selected.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ");
    match selected.len() {
        0 => "none: attacks are off (attacks.enabled = [])".into(),
        n if n == ATTACKS.len() => format!("all {n}: {names}"),
        n => format!("{n} of {}: {names}", ATTACKS.len()),
    }
}

/// Per protected arm of `config`, the selected attacks of its family (`Attack::SCHEMES`): what
/// `ppdl validate` lists under the selection, e.g. "`split-1` (split): wrong-key, model-theft, ...". An
/// attack may still find at run time that it does not apply (the jigsaw solver needs a block scramble).
pub fn per_arm(config: &crate::config::Config) -> Vec<String> {
    let selected = selected(&config.attacks);
    config
        .arms()
        .iter()
        .filter_map(|arm| {
            let scheme = match arm.scheme {
                crate::config::SchemeConfig::Keyed(_) => Scheme::Keyed,
                crate::config::SchemeConfig::Split(_) => Scheme::Split,
                crate::config::SchemeConfig::InstaHide(_) => Scheme::InstaHide,
                crate::config::SchemeConfig::None => return None,
            };
            let names: Vec<&str> =
                selected.iter().filter(|a| a.schemes().contains(&scheme)).map(|a| a.name()).collect();
            let list = if names.is_empty() { "none of the selected attacks".to_string() } else { names.join(", ") };
            Some(format!("`{}` ({}): {list}", arm.name, scheme.name()))
        })
        .collect()
}

/// How many attacks a config runs, in a table cell: "all 7", "3 of 7" or "none".
pub fn count(config: &AttacksConfig) -> String {
    match selected(config).len() {
        0 => "none".into(),
        n if n == ATTACKS.len() => format!("all {n}"),
        n => format!("{n} of {}", ATTACKS.len()),
    }
}

/// The `--only` help: the registered names.
pub fn only_help() -> String {
    format!("Run only this attack and merge its record into attacks.json ({})", names().join(", "))
}

/// Check `[attacks]` against the registry: every name in `enabled`, every `[attacks.NAME]` table and
/// its parameters. Err((field path, what was expected)).
pub fn check(config: &AttacksConfig) -> Result<(), (String, String)> {
    tables(config).map(drop)
}

/// `config` with every registered attack's table filled with its defaults (in canonical order; none
/// for an attack without parameters), after [`check`].
pub fn resolve(config: &AttacksConfig) -> Result<AttacksConfig, (String, String)> {
    Ok(AttacksConfig { tables: tables(config)?, ..config.clone() })
}

fn tables(config: &AttacksConfig) -> Result<toml::Table, (String, String)> {
    let choices: Vec<&str> = std::iter::once(ALL_ATTACKS).chain(names()).collect();
    for (i, name) in config.enabled.iter().enumerate() {
        if !choices.contains(&name.as_str()) {
            return Err((
                format!("attacks.enabled[{i}]"),
                format!(
                    "an attack's name, one of {}, got `{name}`{}",
                    quoted(choices.iter().copied()),
                    did_you_mean(name, choices.iter().copied())
                ),
            ));
        }
    }
    let table_names: Vec<String> = ATTACKS.iter().map(|a| table_name(a.name())).collect();
    for key in config.tables.keys() {
        if !table_names.contains(key) {
            let keys = ["enabled", "aux_fraction"].into_iter().chain(table_names.iter().map(String::as_str));
            let near = closest(key, keys.clone());
            return Err((
                format!("attacks.{key}"),
                format!(
                    "`enabled`, `aux_fraction` or an attack's parameter table, one of {}{}",
                    ATTACKS
                        .iter()
                        .filter(|a| a.resolve_table(None).is_ok_and(|t| !t.is_empty()))
                        .map(|a| format!("`[attacks.{}]`", table_name(a.name())))
                        .collect::<Vec<_>>()
                        .join(", "),
                    near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default()
                ),
            ));
        }
    }
    let mut out = toml::Table::new();
    for (attack, key) in ATTACKS.iter().zip(table_names) {
        let table = attack
            .resolve_table(config.tables.get(&key))
            .map_err(|(field, expected)| (join(&format!("attacks.{key}"), &field), expected))?;
        if !table.is_empty() {
            out.insert(key, toml::Value::Table(table));
        }
    }
    Ok(out)
}

/// Checks the attacks' `check` functions share. Err((field, what was expected)).
pub mod ranges {
    /// A non-empty list of sample counts, each >= 1.
    pub fn counts(field: &str, n: &[usize]) -> Result<(), (String, String)> {
        if n.is_empty() {
            return Err((field.to_string(), "a non-empty list of sample counts".into()));
        }
        if let Some(i) = n.iter().position(|&v| v == 0) {
            return Err((format!("{field}[{i}]"), "an integer >= 1, got 0".into()));
        }
        Ok(())
    }

    /// An integer >= 1.
    pub fn positive(field: &str, v: usize) -> Result<(), (String, String)> {
        if v == 0 {
            return Err((field.to_string(), "an integer >= 1, got 0".into()));
        }
        Ok(())
    }

    /// A finite number > 0 (learning rates).
    pub fn rate(field: &str, v: f64) -> Result<(), (String, String)> {
        if !(v > 0.0 && v.is_finite()) {
            return Err((field.to_string(), format!("a positive number, got {v}")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tables_are_unique_and_every_default_passes_its_own_check() {
        let mut names = names();
        let tables: std::collections::BTreeSet<String> = names.iter().map(|n| table_name(n)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ATTACKS.len());
        assert_eq!(tables.len(), ATTACKS.len());
        for a in ATTACKS {
            assert!(!a.name().contains('_') && a.name() != ALL_ATTACKS, "{}", a.name());
            assert!(a.resolve_table(None).is_ok(), "{}: its defaults fail its own check", a.name());
            assert_eq!(rank(a.name()), ATTACKS.iter().position(|b| b.name() == a.name()).unwrap());
        }
        assert_eq!(rank("no-such-attack"), usize::MAX);
    }

    #[test]
    fn the_reconstruction_attacks_are_known_by_their_result_kind() {
        let recon: Vec<&str> =
            ATTACKS.iter().filter(|a| a.result() == ResultKind::Reconstruction).map(|a| a.name()).collect();
        assert_eq!(
            recon,
            [
                "known-plaintext",
                "statistical",
                "inversion",
                "jigsaw",
                "split-inversion",
                "split-known-pairs",
                "carlini-instahide"
            ]
        );
    }

    #[test]
    fn selection_and_its_description_follow_the_registry_order() {
        let mut c = AttacksConfig { enabled: vec!["inversion".into(), "key-space".into()], ..Default::default() };
        assert_eq!(selected(&c).iter().map(|a| a.name()).collect::<Vec<_>>(), ["key-space", "inversion"]);
        assert_eq!(describe(&c), format!("2 of {}: key-space, inversion", ATTACKS.len()));
        assert_eq!(count(&c), format!("2 of {}", ATTACKS.len()));
        c.enabled = vec![ALL_ATTACKS.into(), "inversion".into()];
        assert_eq!(selected(&c).len(), ATTACKS.len());
        assert_eq!(describe(&c), format!("all {}: {}", ATTACKS.len(), names().join(", ")));
        c.enabled.clear();
        assert_eq!(count(&c), "none");
        assert!(by_name("fine_tune").err().unwrap().message.contains("(did you mean `fine-tune`?)"));
        assert!(only_help().contains(&names().join(", ")));
    }
}
