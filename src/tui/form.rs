//! The experiment form: a copy of one config being edited, every field a researcher changes grouped
//! under headings (run, training, data, arms, attacks), checked by `validate::check` after every
//! change. Scalar rows read and write the config's TOML document by their `--set` path (one way for
//! every field); arms, transforms and the attack selection are edited on the config itself. ←/→
//! offer only values the check accepts where the set is finite. Pure state: no terminal, no files.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use toml::Value;

use crate::attacks::registry;
use crate::config::overrides::{self, Override};
use crate::config::{
    Arch, ArmConfig, Config, InstaHideConfig, PrivacyConfig, SchemeConfig, SplitConfig, BASELINE_ARM, PRIVATE_ARM,
};
use crate::data::load::DatasetKind;
use crate::scheme::transforms::{self, Param, ParamType};

/// What ←/→ adds to or takes from a number (rates and tiny numbers are doubled and halved instead).
const NUMBER_STEP: f64 = 0.05;
/// The sizes ←/→ offer for `train_limit` and `test_limit` (then "all").
const LIMITS: [i64; 9] = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
/// The largest `cut` / `tail` ←/→ try (no architecture has more layers).
const MAX_LAYERS: i64 = 16;
/// How many of an attack's parameters the form shows: its first scalar ones, in declared order.
const ATTACK_PARAMS: usize = 2;

/// The headings the rows are grouped under, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Run,
    Training,
    Data,
    Arms,
    Attacks,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Run => "run",
            Section::Training => "training",
            Section::Data => "data",
            Section::Arms => "arms",
            Section::Attacks => "attacks",
        }
    }
}

/// One row of the form. `a` is an arm's index in `Config::arms()`, `t` a transform's in its arm, `j`
/// a parameter's in its kind's declared order, `k` an attack's in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The name the edited config runs under (derived from what changed; shown, not edited).
    RunName,
    Seed,
    Epochs,
    BatchSize,
    Optimizer,
    LearningRate,
    LrDecay,
    Dataset,
    Arch,
    TrainLimit,
    TestLimit,
    ArmName(usize),
    Scheme(usize),
    /// The arm's own architecture, or `model.arch`.
    ArmArch(usize),
    LabelPermutation(usize),
    CodesPerClass(usize),
    FixedKey(usize),
    Kind(usize, usize),
    Param(usize, usize, usize),
    Cut(usize),
    Tail(usize),
    SplitNoise(usize),
    NopeekAlpha(usize),
    /// InstaHide: images mixed into each encoding.
    MixK(usize),
    /// InstaHide: the largest weight of one image.
    MixUpper(usize),
    AuxFraction,
    /// Whether attack k runs.
    Attack(usize),
    /// Main parameter j of attack k.
    AttackParam(usize, usize),
}

impl Field {
    pub fn section(self) -> Section {
        use Field::*;
        match self {
            RunName | Seed => Section::Run,
            Epochs | BatchSize | Optimizer | LearningRate | LrDecay => Section::Training,
            Dataset | Arch | TrainLimit | TestLimit => Section::Data,
            AuxFraction | Attack(_) | AttackParam(..) => Section::Attacks,
            _ => Section::Arms,
        }
    }

    /// The arm this row belongs to.
    pub fn arm(self) -> Option<usize> {
        use Field::*;
        match self {
            ArmName(a)
            | Scheme(a)
            | ArmArch(a)
            | LabelPermutation(a)
            | CodesPerClass(a)
            | FixedKey(a)
            | Cut(a)
            | Tail(a)
            | SplitNoise(a)
            | NopeekAlpha(a)
            | MixK(a)
            | MixUpper(a)
            | Kind(a, _)
            | Param(a, _, _) => Some(a),
            _ => None,
        }
    }

    /// The arm and transform this row belongs to.
    pub fn transform(self) -> Option<(usize, usize)> {
        match self {
            Field::Kind(a, t) | Field::Param(a, t, _) => Some((a, t)),
            _ => None,
        }
    }
}

/// How a row is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Digits (←/→ step).
    Integer,
    /// A number (←/→ step).
    Number,
    /// Space, Enter or ←/→ switch it.
    Toggle,
    /// ←/→ cycle through the valid values.
    Choice,
    /// Enter, then type text (arm names).
    Text,
    /// Shown, not edited; the reason is what typing on it says.
    ReadOnly(&'static str),
}

/// What the form asks its owner to do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAction {
    None,
    /// Start the edited config.
    Start,
    /// Ask for a file name and save the edited config.
    SaveAs,
    /// Leave the form (edits dropped: asked first when there are any).
    Close,
    /// Say this in the status line (a key that does nothing here, and why).
    Notice(String),
}

/// A row's `--set` path in the error style of `validate::check`: `arms.2.transforms.0.block` ->
/// `arms[2].transforms[0].block`.
fn error_style(path: &str) -> String {
    let mut out = String::new();
    for seg in path.split('.') {
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// The value at a dotted path (list indices as numbers) of a TOML document.
fn lookup<'a>(doc: &'a toml::Table, path: &str) -> Option<&'a Value> {
    let mut segs = path.split('.');
    let mut node = doc.get(segs.next()?)?;
    for seg in segs {
        node = match node {
            Value::Table(t) => t.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// ←/→ on a number: rates and numbers below 0.01 double or halve, others move by [`NUMBER_STEP`].
fn step_number(v: f64, dir: i64, multiplicative: bool) -> f64 {
    let next = if multiplicative && v > 0.0 {
        if dir > 0 {
            v * 2.0
        } else {
            v / 2.0
        }
    } else {
        (v + NUMBER_STEP * dir as f64).max(0.0)
    };
    let digits = 10f64.powi(6 - next.abs().log10().floor().max(-12.0) as i32);
    if next == 0.0 {
        0.0
    } else {
        (next * digits).round() / digits
    }
}

fn onoff(b: bool) -> String {
    if b { "on" } else { "off" }.to_string()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// The file the edits started from, as shown to the user (relative to the configs folder).
    pub source: String,
    pub config: Config,
    /// Index into [`Form::fields`].
    pub cursor: usize,
    /// Digits typed into the current numeric row, not yet a valid number (or not yet left).
    pub edit: Option<String>,
    /// Text typed into the current text row (an arm's name, a fixed key) until Enter or Esc.
    pub text: Option<String>,
    /// `validate::check`'s verdict on the current settings: (field path, what was expected).
    pub invalid: Option<(String, String)>,
    /// Whether anything changed since the form opened or was saved.
    pub dirty: bool,
    /// Esc with unsaved edits: "discard them? y/n" is shown.
    pub confirm_discard: bool,
    /// The config as it was opened (or last saved): runs are named by what changed from it.
    pub base: Config,
}

impl Form {
    pub fn new(source: String, mut config: Config) -> Form {
        if config.arms.is_none() && config.privacy.is_none() {
            // The two-arm form without a [privacy] table runs the defaults: edit them explicitly.
            config.privacy = Some(PrivacyConfig::default());
        }
        let base = config.clone();
        let mut form = Form {
            source,
            config,
            cursor: 0,
            edit: None,
            text: None,
            invalid: None,
            dirty: false,
            confirm_discard: false,
            base,
        };
        form.revalidate();
        form
    }

    /// The edited config to run, named by what changed as `--set` names a run: a quickstart with its
    /// first transform changed to orthogonal-mix runs as `quickstart-kindorthogonal-mix`. Both sides
    /// are compared in the `[[arms]]` form, so turning a `[privacy]` config into arms is no change.
    pub fn run_config(&self) -> Config {
        let doc = |c: &Config| {
            let arms = Config { arms: Some(c.arms()), privacy: None, ..c.clone() };
            toml::from_str::<toml::Table>(&arms.to_toml()).unwrap_or_default()
        };
        let changes = overrides::changes(&doc(&self.base), &doc(&self.config), "the form");
        let mut config = self.config.clone();
        config.name = overrides::derived_name(&self.base.name, &changes);
        config
    }

    fn doc(&self) -> toml::Table {
        toml::from_str(&self.config.to_toml()).unwrap_or_default()
    }

    /// The arms as the run will have them (`[privacy]` reads as `baseline` and `private`).
    pub fn arms(&self) -> Vec<ArmConfig> {
        self.config.arms()
    }

    /// Write the arms back: as `[privacy]` while they are still that form's two arms, else as `[[arms]]`.
    fn set_arms(&mut self, arms: Vec<ArmConfig>) {
        let two_arm = self.config.arms.is_none()
            && arms.len() == 2
            && arms[0].name == BASELINE_ARM
            && arms[0].is_baseline()
            && arms[1].name == PRIVATE_ARM
            && arms.iter().all(|a| a.arch.is_none());
        match (two_arm, arms.get(1).and_then(|a| a.scheme.keyed())) {
            (true, Some(p)) => self.config.privacy = Some(p.clone()),
            _ => {
                self.config.arms = Some(arms);
                self.config.privacy = None;
            }
        }
    }

    /// The keyed settings of arm `a`, if it is keyed.
    pub fn keyed(&self, a: usize) -> Option<PrivacyConfig> {
        self.arms().get(a)?.scheme.keyed().cloned()
    }

    fn update_keyed(&mut self, a: usize, change: impl FnOnce(&mut PrivacyConfig)) {
        let mut arms = self.arms();
        if let Some(SchemeConfig::Keyed(p)) = arms.get_mut(a).map(|arm| &mut arm.scheme) {
            change(p);
            self.set_arms(arms);
        }
    }

    /// The `--set` path of an arm's own settings: `privacy` or `arms.A`.
    fn arm_path(&self, a: usize) -> String {
        match self.config.arms {
            Some(_) => format!("arms.{a}"),
            None => "privacy".into(),
        }
    }

    /// The declaration of a transform parameter row.
    pub fn param(&self, field: Field) -> Option<&'static Param> {
        let Field::Param(a, t, j) = field else { return None };
        let spec = self.keyed(a)?.transforms.get(t)?.clone();
        transforms::find(&spec.kind)?.params().get(j)
    }

    /// The main parameters of attack `k`: its first scalar ones, as its own defaults declare them.
    pub fn attack_params(k: usize) -> Vec<String> {
        let Some(name) = registry::names().get(k).copied() else { return vec![] };
        let defaults = registry::find(name).and_then(|a| a.resolve_table(None).ok()).unwrap_or_default();
        defaults
            .iter()
            .filter(|(_, v)| matches!(v, Value::Integer(_) | Value::Float(_) | Value::Boolean(_)))
            .map(|(k, _)| k.clone())
            .take(ATTACK_PARAMS)
            .collect()
    }

    /// The `--set` path of a scalar row (None for rows edited otherwise).
    pub fn path(&self, field: Field) -> Option<String> {
        use Field::*;
        let arm = |a: usize, key: &str| format!("{}.{key}", self.arm_path(a));
        Some(match field {
            Seed => "seed".into(),
            Epochs => "train.epochs".into(),
            BatchSize => "train.batch_size".into(),
            Optimizer => "train.optimizer".into(),
            LearningRate => "train.learning_rate".into(),
            LrDecay => "train.lr_decay".into(),
            Dataset => "data.dataset".into(),
            Arch => "model.arch".into(),
            TrainLimit => "data.train_limit".into(),
            TestLimit => "data.test_limit".into(),
            LabelPermutation(a) => arm(a, "label_permutation"),
            CodesPerClass(a) => arm(a, "codes_per_class"),
            Param(a, t, _) => arm(a, &format!("transforms.{t}.{}", self.param(field)?.name)),
            Cut(a) => arm(a, "cut"),
            Tail(a) => arm(a, "tail"),
            SplitNoise(a) => arm(a, "noise_sigma"),
            NopeekAlpha(a) => arm(a, "nopeek_alpha"),
            MixK(a) => arm(a, "k"),
            MixUpper(a) => arm(a, "upper"),
            AuxFraction => "attacks.aux_fraction".into(),
            AttackParam(k, j) => {
                let name = registry::names().get(k).copied()?;
                format!("attacks.{}.{}", registry::table_name(name), Form::attack_params(k).get(j)?)
            }
            RunName | ArmName(_) | Scheme(_) | ArmArch(_) | FixedKey(_) | Kind(..) | Attack(_) => return None,
        })
    }

    /// The field path `validate::check` names for a row's value.
    fn error_path(&self, field: Field) -> Option<String> {
        let prefix = |a: usize| self.config.arm_field(a);
        match field {
            Field::ArmName(a) => Some(format!("arms[{a}].name")),
            Field::Scheme(a) => Some(format!("arms[{a}].scheme")),
            Field::ArmArch(a) => Some(format!("arms[{a}].arch")),
            Field::FixedKey(a) => Some(format!("{}.fixed_key", prefix(a))),
            Field::Kind(a, t) => Some(format!("{}.transforms[{t}]", prefix(a))),
            Field::Attack(_) => Some("attacks.enabled".into()),
            _ => self.path(field).map(|p| error_style(&p)),
        }
    }

    /// Every row, top to bottom.
    pub fn fields(&self) -> Vec<Field> {
        use Field::*;
        let mut out = vec![RunName, Seed, Epochs, BatchSize, Optimizer, LearningRate, LrDecay];
        out.extend([Dataset, Arch, TrainLimit, TestLimit]);
        for (a, arm) in self.arms().iter().enumerate() {
            out.extend([ArmName(a), Scheme(a), ArmArch(a)]);
            match &arm.scheme {
                SchemeConfig::None => {}
                SchemeConfig::Keyed(p) => {
                    out.extend([LabelPermutation(a), CodesPerClass(a), FixedKey(a)]);
                    for (t, spec) in p.transforms.iter().enumerate() {
                        out.push(Kind(a, t));
                        let n = transforms::find(&spec.kind).map_or(0, |k| k.params().len());
                        out.extend((0..n).map(|j| Param(a, t, j)));
                    }
                }
                SchemeConfig::Split(_) => out.extend([Cut(a), Tail(a), SplitNoise(a), NopeekAlpha(a)]),
                SchemeConfig::InstaHide(_) => out.extend([MixK(a), MixUpper(a)]),
            }
        }
        out.push(AuxFraction);
        for k in 0..registry::names().len() {
            out.push(Attack(k));
            if self.attack_on(k) {
                out.extend((0..Form::attack_params(k).len()).map(|j| AttackParam(k, j)));
            }
        }
        out
    }

    pub fn current(&self) -> Field {
        let f = self.fields();
        f[self.cursor.min(f.len() - 1)]
    }

    pub fn is_valid(&self) -> bool {
        self.invalid.is_none()
    }

    /// The row a validation error points at: the row of that field, else the row whose field
    /// contains it (`privacy.transforms[0]` for a transform's unknown parameter), else the
    /// dataset row for `data.*` and the first arm for `arms`.
    pub fn invalid_field(&self) -> Option<Field> {
        let (path, _) = self.invalid.as_ref()?;
        let rows: Vec<(Field, String)> =
            self.fields().into_iter().filter_map(|f| self.error_path(f).map(|p| (f, p))).collect();
        if let Some((f, _)) = rows.iter().find(|(_, p)| p == path) {
            return Some(*f);
        }
        let within = |p: &str| path.starts_with(&format!("{p}.")) || path.starts_with(&format!("{p}["));
        if let Some((f, _)) = rows.iter().filter(|(_, p)| within(p)).max_by_key(|(_, p)| p.len()) {
            return Some(*f);
        }
        if path.starts_with("data.") {
            return Some(Field::Dataset);
        }
        if path == "arms" {
            return Some(Field::ArmName(0));
        }
        None
    }

    pub fn attack_on(&self, k: usize) -> bool {
        let Some(name) = registry::names().get(k).copied() else { return false };
        registry::selected(&self.config.attacks).iter().any(|a| a.name() == name)
    }

    /// How a row is edited.
    pub fn edit_kind(&self, field: Field) -> Edit {
        use Field::*;
        match field {
            RunName => Edit::ReadOnly("the run name is derived from what changed (w saves under a name you choose)"),
            Scheme(a) if self.arms().get(a).is_some_and(|arm| arm.is_baseline()) => Edit::ReadOnly(
                "the baseline has no protection: every delta is measured against it (A adds a protected arm)",
            ),
            Optimizer | Dataset | Arch | Scheme(_) | ArmArch(_) | Kind(..) | Cut(_) | Tail(_) => Edit::Choice,
            ArmName(_) => Edit::Text,
            LabelPermutation(_) | FixedKey(_) | Attack(_) => Edit::Toggle,
            Seed | Epochs | BatchSize | CodesPerClass(_) | TrainLimit | TestLimit | MixK(_) => Edit::Integer,
            LearningRate | LrDecay | SplitNoise(_) | NopeekAlpha(_) | MixUpper(_) | AuxFraction => Edit::Number,
            Param(..) | AttackParam(..) => match self.path(field).and_then(|p| lookup(&self.doc(), &p).cloned()) {
                Some(Value::Boolean(_)) => Edit::Toggle,
                Some(Value::Integer(_)) => Edit::Integer,
                _ => Edit::Number,
            },
        }
    }

    /// The value shown for a row (the text being typed for the row being typed into).
    pub fn value_text(&self, field: Field) -> String {
        if field == self.current() {
            if let Some(e) = self.text.as_ref().or(self.edit.as_ref()) {
                return e.clone();
            }
        }
        let arms = self.arms();
        match field {
            Field::RunName => return self.run_config().name,
            Field::ArmName(a) => return arms.get(a).map(|x| x.name.clone()).unwrap_or_default(),
            Field::Scheme(a) => return arms.get(a).map(|x| x.scheme.kind().to_string()).unwrap_or_default(),
            Field::ArmArch(a) => {
                return match arms.get(a).and_then(|x| x.arch) {
                    Some(arch) => arch.name().into(),
                    None => format!("as model ({})", self.config.model.arch.name()),
                }
            }
            Field::FixedKey(a) => {
                return match self.keyed(a).and_then(|p| p.fixed_key) {
                    Some(k) => format!("on {}…", &k[..k.len().min(8)]),
                    None => "off (fresh secret)".into(),
                }
            }
            Field::Kind(a, t) => {
                return self.keyed(a).and_then(|p| p.transforms.get(t).map(|s| s.kind.clone())).unwrap_or_default()
            }
            Field::Attack(k) => return onoff(self.attack_on(k)),
            _ => {}
        }
        let Some(path) = self.path(field) else { return String::new() };
        match lookup(&self.doc(), &path) {
            None if matches!(field, Field::TrainLimit | Field::TestLimit) => "all".into(),
            None => String::new(),
            Some(Value::Boolean(b)) => onoff(*b),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormAction {
        if self.confirm_discard {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => return FormAction::Close,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => self.confirm_discard = false,
                _ => {}
            }
            return FormAction::None;
        }
        let field = self.current();
        if self.text.is_some() {
            self.text_key(field, key.code);
            return FormAction::None;
        }
        let edit = self.edit_kind(field);
        let numeric = matches!(edit, Edit::Integer | Edit::Number);
        match key.code {
            KeyCode::Esc if self.dirty => self.confirm_discard = true,
            KeyCode::Esc => return FormAction::Close,
            KeyCode::Up | KeyCode::Char('k') => self.move_cursor(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_cursor(1),
            KeyCode::PageDown => self.jump_section(1),
            KeyCode::PageUp => self.jump_section(-1),
            KeyCode::Char('t') => self.next_transform(),
            KeyCode::Left | KeyCode::Char('h') => return self.adjust(field, -1),
            KeyCode::Right | KeyCode::Char('l') => return self.adjust(field, 1),
            KeyCode::Char(' ') => return self.adjust(field, 1),
            KeyCode::Enter if self.edit.is_some() => self.edit = None,
            KeyCode::Enter if edit == Edit::Text => self.text = Some(self.value_text(field)),
            KeyCode::Enter if matches!(field, Field::FixedKey(a) if self.keyed(a).is_some_and(|p| p.fixed_key.is_some())) =>
            {
                self.text = self.keyed(field.arm().unwrap_or(0)).and_then(|p| p.fixed_key);
            }
            KeyCode::Enter => return self.adjust(field, 1),
            KeyCode::Char(c) if numeric && (c.is_ascii_digit() || c == '.') => self.type_char(field, c),
            KeyCode::Backspace if numeric => self.backspace(field),
            KeyCode::Char('a') => return self.add_transform(),
            KeyCode::Char('A') => self.add_arm(),
            KeyCode::Char('x') | KeyCode::Delete => return self.remove(),
            KeyCode::Char('[') => self.move_transform(-1),
            KeyCode::Char(']') => self.move_transform(1),
            KeyCode::Char('s') => return FormAction::Start,
            KeyCode::Char('w') => return FormAction::SaveAs,
            KeyCode::Char(c) => return self.typed_elsewhere(field, edit, c),
            _ => {}
        }
        FormAction::None
    }

    /// A character no key of the form means: on a kind row the next kind with that initial; anywhere
    /// else the reason nothing happens.
    fn typed_elsewhere(&mut self, field: Field, edit: Edit, c: char) -> FormAction {
        if let Field::Kind(a, t) = field {
            let at = self.keyed(a).and_then(|p| p.transforms.get(t).map(|s| s.kind.clone())).unwrap_or_default();
            let start = transforms::ALL.iter().position(|k| k.name() == at).unwrap_or(0);
            let n = transforms::ALL.len();
            if let Some(next) = (1..=n).map(|s| transforms::ALL[(start + s) % n]).find(|k| k.name().starts_with(c)) {
                self.update_keyed(a, |p| p.transforms[t] = transforms::initial_spec(next));
                self.changed();
                return FormAction::None;
            }
        }
        FormAction::Notice(match edit {
            Edit::ReadOnly(why) => format!("not editable: {why}"),
            Edit::Integer => "type digits here (←/→ step, ⌫ deletes)".into(),
            Edit::Number => "type a number here (digits and '.'; ←/→ step)".into(),
            Edit::Toggle => "Space or ←/→ switch this on and off".into(),
            Edit::Choice => "←/→ choose among the valid values".into(),
            Edit::Text => "Enter to rename, then type".into(),
        })
    }

    fn text_key(&mut self, field: Field, code: KeyCode) {
        let Some(text) = self.text.as_mut() else { return };
        match code {
            KeyCode::Esc => self.text = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if text.chars().count() < 80 => text.push(c),
            KeyCode::Enter => {
                let value = self.text.take().unwrap_or_default();
                let value = value.trim().to_string();
                match field {
                    Field::ArmName(a) => {
                        let mut arms = self.arms();
                        if let Some(arm) = arms.get_mut(a) {
                            arm.name = value;
                        }
                        self.set_arms(arms);
                    }
                    Field::FixedKey(a) => self.update_keyed(a, |p| p.fixed_key = Some(value)),
                    _ => return,
                }
                self.changed();
            }
            _ => {}
        }
    }

    fn move_cursor(&mut self, delta: isize) {
        self.edit = None;
        let n = self.fields().len() as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, n - 1) as usize;
    }

    fn go_to(&mut self, target: Field) {
        self.edit = None;
        if let Some(i) = self.fields().iter().position(|f| *f == target) {
            self.cursor = i;
        }
    }

    /// PgDn: the first row of the next section; PgUp: of this one, or of the previous one from there.
    fn jump_section(&mut self, dir: isize) {
        self.edit = None;
        let fields = self.fields();
        let starts: Vec<usize> =
            (0..fields.len()).filter(|&i| i == 0 || fields[i].section() != fields[i - 1].section()).collect();
        self.cursor = if dir > 0 {
            starts.iter().copied().find(|&s| s > self.cursor).unwrap_or(self.cursor)
        } else {
            starts.iter().rev().copied().find(|&s| s < self.cursor).unwrap_or(0)
        };
    }

    /// `t`: the next transform row (wrapping), the quick way to the protection settings.
    fn next_transform(&mut self) {
        self.edit = None;
        let fields = self.fields();
        let kinds: Vec<usize> = (0..fields.len()).filter(|&i| matches!(fields[i], Field::Kind(..))).collect();
        if let Some(&i) = kinds.iter().find(|&&i| i > self.cursor).or(kinds.first()) {
            self.cursor = i;
        }
    }

    fn changed(&mut self) {
        self.dirty = true;
        self.revalidate();
    }

    fn revalidate(&mut self) {
        self.invalid = crate::validate::check(&self.config).err();
        let n = self.fields().len();
        self.cursor = self.cursor.min(n - 1);
    }

    /// Set a scalar row's value through its `--set` path; false when the document does not take it.
    fn set_path(&mut self, path: &str, value: Value) -> bool {
        let mut doc = self.doc();
        let defaults = doc.clone();
        if overrides::apply(&mut doc, &defaults, &Override::new(path, value, "the form")).is_err() {
            return false;
        }
        match Value::Table(doc).try_into::<Config>() {
            Ok(c) => {
                self.config = c;
                true
            }
            Err(_) => false,
        }
    }

    /// Step through `candidates` from the current value, to the first one the check accepts for
    /// this row (`wrap`: past the end to the start, for names; numbers stop at the ends).
    fn cycle(&mut self, field: Field, candidates: &[Value], dir: i64, wrap: bool) {
        let Some(path) = self.path(field) else { return };
        let current = lookup(&self.doc(), &path).cloned();
        let n = candidates.len() as i64;
        let at = candidates.iter().position(|c| Some(c) == current.as_ref()).map(|i| i as i64);
        for s in 1..=n {
            let i = match at {
                Some(i) if wrap => (i + dir * s).rem_euclid(n),
                Some(i) => i + dir * s,
                None if dir > 0 => s - 1,
                None => n - s,
            };
            if !(0..n).contains(&i) {
                return;
            }
            let mut trial = self.clone();
            if trial.set_path(&path, candidates[i as usize].clone()) {
                trial.revalidate();
                if trial.invalid_field() != Some(field) {
                    *self = trial;
                    return self.changed();
                }
            }
        }
    }

    /// ←/→ (and Space/Enter on toggles and choices).
    fn adjust(&mut self, field: Field, dir: i64) -> FormAction {
        self.edit = None;
        if let Edit::ReadOnly(why) = self.edit_kind(field) {
            return FormAction::Notice(format!("not editable: {why}"));
        }
        let strings = |names: &[&str]| names.iter().map(|n| Value::String(n.to_string())).collect::<Vec<_>>();
        match field {
            Field::Optimizer => self.cycle(field, &strings(&["adam", "sgd"]), dir, true),
            Field::Arch => self.cycle(field, &strings(&Arch::ALL.map(Arch::name)), dir, true),
            Field::Dataset => self.cycle_dataset(dir),
            Field::Cut(_) | Field::Tail(_) => {
                self.cycle(field, &(1..=MAX_LAYERS).map(Value::Integer).collect::<Vec<_>>(), dir, false)
            }
            // k from 2 to 8 (the published code defaults to 4).
            Field::MixK(_) => self.cycle(field, &(2..=8).map(Value::Integer).collect::<Vec<_>>(), dir, false),
            Field::Scheme(a) => self.switch_scheme(a),
            Field::ArmArch(a) => self.cycle_arm_arch(a, dir),
            Field::Kind(a, t) => {
                let n = transforms::ALL.len() as i64;
                let Some(p) = self.keyed(a) else { return FormAction::None };
                let at = transforms::ALL.iter().position(|k| k.name() == p.transforms[t].kind).unwrap_or(0) as i64;
                let next = transforms::ALL[(at + dir).rem_euclid(n) as usize];
                self.update_keyed(a, |p| p.transforms[t] = transforms::initial_spec(next));
                self.changed();
            }
            Field::FixedKey(a) => {
                let base_key = self.base.arms().get(a).and_then(|arm| arm.scheme.keyed()?.fixed_key.clone());
                self.update_keyed(a, |p| {
                    p.fixed_key = match p.fixed_key {
                        Some(_) => None,
                        None => Some(base_key.unwrap_or_else(|| crate::scheme::key::SecretKey::fresh().to_hex())),
                    }
                });
                self.changed();
            }
            Field::Attack(k) => self.toggle_attack(k),
            Field::TrainLimit | Field::TestLimit => self.step_limit(field, dir),
            Field::Param(..) if self.param(field).is_some_and(|p| p.ty == ParamType::Integer) => {
                self.step_block_like(field, dir)
            }
            _ => match self.edit_kind(field) {
                Edit::Text => return FormAction::Notice("Enter to rename, then type".into()),
                _ => self.step_scalar(field, dir),
            },
        }
        FormAction::None
    }

    /// Integers, numbers and flags at a `--set` path.
    fn step_scalar(&mut self, field: Field, dir: i64) {
        let Some(path) = self.path(field) else { return };
        let multiplicative = path.ends_with("rate") || path.ends_with("ridge");
        let next = match lookup(&self.doc(), &path) {
            Some(Value::Boolean(b)) => Value::Boolean(!b),
            Some(Value::Integer(v)) => Value::Integer((v + dir).max(0)),
            Some(Value::Float(v)) => Value::Float(step_number(*v, dir, multiplicative)),
            _ => return,
        };
        if self.set_path(&path, next) {
            self.changed();
        }
    }

    /// A transform's integer parameter: only the sizes its kind lists for the image (block sizes that
    /// divide it); any integer where it lists none or the image is not readable yet.
    fn step_block_like(&mut self, field: Field, dir: i64) {
        let (Some(decl), Some((a, t))) = (self.param(field), field.transform()) else { return };
        let Some(spec) = self.keyed(a).and_then(|p| p.transforms.get(t).cloned()) else { return };
        let kind = transforms::kind::kind_of(&spec);
        let v = transforms::Params::new(&spec, kind).integer(decl.name) as i64;
        let next = match self.config.image_shape().and_then(|shape| kind.choices(decl.name, shape)) {
            Some(c) if dir > 0 => c.iter().copied().find(|&x| x > v).or(c.last().copied()),
            Some(c) => c.iter().rev().copied().find(|&x| x < v).or(c.first().copied()),
            None => Some((v + dir).max(0)),
        };
        self.update_keyed(a, |p| p.transforms[t].set(decl.name, Value::Integer(next.unwrap_or(v))));
        self.changed();
    }

    fn step_limit(&mut self, field: Field, dir: i64) {
        let data = &mut self.config.data;
        let limit = if field == Field::TrainLimit { &mut data.train_limit } else { &mut data.test_limit };
        let v = limit.map(|v| v as i64);
        *limit = match (v, dir > 0) {
            (None, true) => None,
            (None, false) => LIMITS.last().map(|&x| x as usize),
            (Some(v), true) => LIMITS.iter().find(|&&x| x > v).map(|&x| x as usize),
            (Some(v), false) => LIMITS.iter().rev().find(|&&x| x < v).or(LIMITS.first()).map(|&x| x as usize),
        };
        self.changed();
    }

    /// The presets, and the format the config was opened with (its folder is only known for it).
    fn cycle_dataset(&mut self, dir: i64) {
        let base = self.base.data.dataset;
        let kinds: Vec<DatasetKind> = DatasetKind::ALL.into_iter().filter(|k| !k.is_format() || *k == base).collect();
        let at = kinds.iter().position(|k| *k == self.config.data.dataset).unwrap_or(0) as i64;
        let next = kinds[(at + dir).rem_euclid(kinds.len() as i64) as usize];
        self.config.data.dataset = next;
        self.config.data.dir = if next == base { self.base.data.dir.clone() } else { None };
        self.changed();
    }

    /// ←/→ on a protected arm's scheme: keyed -> split -> instahide -> keyed, each with its defaults
    /// (a split with the first cut the architecture allows; none allowed: split is skipped).
    /// An arm's architecture: `model.arch`, then each architecture in turn.
    fn cycle_arm_arch(&mut self, a: usize, dir: i64) {
        let mut arms = self.arms();
        let Some(arm) = arms.get_mut(a) else { return };
        let choices: Vec<Option<Arch>> = std::iter::once(None).chain(Arch::ALL.map(Some)).collect();
        let at = choices.iter().position(|c| *c == arm.arch).unwrap_or(0) as i64;
        arm.arch = choices[(at + dir).rem_euclid(choices.len() as i64) as usize];
        self.set_arms(arms);
        self.changed();
    }

    fn switch_scheme(&mut self, a: usize) {
        let mut arms = self.arms();
        let Some(arm) = arms.get_mut(a) else { return };
        let arch = self.config.arch_of(arm);
        let split = (1..MAX_LAYERS as usize)
            .find(|&c| crate::model::split::SplitPlan::new(arch, c, 1).is_ok())
            .map(|cut| SchemeConfig::Split(SplitConfig { cut, tail: 1, noise_sigma: 0.0, nopeek_alpha: 0.0 }));
        let instahide = SchemeConfig::InstaHide(InstaHideConfig::default());
        arm.scheme = match arm.scheme {
            SchemeConfig::Split(_) => instahide,
            SchemeConfig::InstaHide(_) => SchemeConfig::Keyed(PrivacyConfig::default()),
            _ => split.unwrap_or(instahide),
        };
        self.set_arms(arms);
        self.changed();
    }

    /// Attack k on or off; all of them on is written `["all"]`.
    fn toggle_attack(&mut self, k: usize) {
        let names = registry::names();
        let on: Vec<String> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i == k) != self.attack_on(*i))
            .map(|(_, n)| n.to_string())
            .collect();
        self.config.attacks.enabled =
            if on.len() == names.len() { vec![crate::config::ALL_ATTACKS.to_string()] } else { on };
        self.changed();
    }

    fn type_char(&mut self, field: Field, c: char) {
        if c == '.' && self.edit_kind(field) != Edit::Number {
            return;
        }
        let mut text = self.edit.take().unwrap_or_default();
        if text.len() < 20 {
            text.push(c);
        }
        self.apply_text(field, text);
    }

    fn backspace(&mut self, field: Field) {
        let mut text = self.edit.take().unwrap_or_else(|| self.value_text(field));
        text.pop();
        self.apply_text(field, text);
    }

    /// Keep the typed text and apply it when it parses; validation then judges the value. An empty
    /// limit is no limit.
    fn apply_text(&mut self, field: Field, text: String) {
        if text.is_empty() && matches!(field, Field::TrainLimit | Field::TestLimit) {
            let data = &mut self.config.data;
            *(if field == Field::TrainLimit { &mut data.train_limit } else { &mut data.test_limit }) = None;
        } else if let Some(path) = self.path(field) {
            let value = match self.edit_kind(field) {
                Edit::Integer => text.parse::<i64>().ok().map(Value::Integer),
                _ => text.parse::<f64>().ok().map(Value::Float),
            };
            if let Some(v) = value {
                self.set_path(&path, v);
            }
        }
        self.edit = Some(text);
        self.changed();
    }

    /// `a`: a pixel permutation after the transform under the cursor, or at the end of the arm's list.
    fn add_transform(&mut self) -> FormAction {
        self.edit = None;
        let field = self.current();
        let Some(a) = field.arm().filter(|&a| self.keyed(a).is_some()) else {
            return FormAction::Notice("a adds a transform on a keyed arm's rows (A adds an arm)".into());
        };
        let at = match field.transform() {
            Some((_, t)) => t + 1,
            None => self.keyed(a).map_or(0, |p| p.transforms.len()),
        };
        self.update_keyed(a, |p| p.transforms.insert(at, transforms::initial_spec(transforms::ALL[0])));
        self.changed();
        self.go_to(Field::Kind(a, at));
        FormAction::None
    }

    /// `A`: a keyed arm with the first transform, after the arm under the cursor (or last).
    fn add_arm(&mut self) {
        self.edit = None;
        let mut arms = self.arms();
        let at = self.current().arm().map_or(arms.len(), |a| a + 1);
        let name = (1..).map(|i| format!("keyed-{i}")).find(|n| arms.iter().all(|a| a.name != *n)).unwrap_or_default();
        let scheme = SchemeConfig::Keyed(PrivacyConfig {
            transforms: vec![transforms::initial_spec(transforms::ALL[0])],
            ..PrivacyConfig::default()
        });
        arms.insert(at, ArmConfig { name, arch: None, scheme });
        self.set_arms(arms);
        self.changed();
        self.go_to(Field::ArmName(at));
    }

    /// `x`: the transform under the cursor, or on an arm's name or scheme row the arm (never the
    /// baseline: every delta is measured against it).
    fn remove(&mut self) -> FormAction {
        self.edit = None;
        match self.current() {
            Field::ArmName(a) | Field::Scheme(a) => {
                let mut arms = self.arms();
                if arms.get(a).is_none_or(|arm| arm.is_baseline()) {
                    return FormAction::Notice("the baseline stays: every delta is measured against it".into());
                }
                arms.remove(a);
                self.set_arms(arms);
                self.changed();
                self.go_to(Field::ArmName(a.saturating_sub(1)));
            }
            Field::Kind(a, t) | Field::Param(a, t, _) => {
                self.update_keyed(a, |p| {
                    p.transforms.remove(t);
                });
                self.changed();
                let left = self.keyed(a).map_or(0, |p| p.transforms.len());
                self.go_to(if left == 0 { Field::FixedKey(a) } else { Field::Kind(a, t.min(left - 1)) });
            }
            _ => return FormAction::Notice("x removes a transform, or an arm from its name row".into()),
        }
        FormAction::None
    }

    fn move_transform(&mut self, delta: isize) {
        self.edit = None;
        let Some((a, i)) = self.current().transform() else { return };
        let j = i as isize + delta;
        let n = self.keyed(a).map_or(0, |p| p.transforms.len()) as isize;
        if j < 0 || j >= n {
            return;
        }
        self.update_keyed(a, |p| p.transforms.swap(i, j as usize));
        self.changed();
        self.go_to(Field::Kind(a, j as usize));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TransformSpec;
    use ratatui::crossterm::event::KeyModifiers;
    use std::path::Path;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn parse(text: &str) -> Config {
        crate::validate::parse_config(text, Path::new("t.toml")).unwrap()
    }

    fn form() -> Form {
        Form::new("t.toml".into(), parse("name = \"t\"\n[data]\ndataset = \"embedded\"\n"))
    }

    /// A keyed arm and a split arm on lenet.
    fn arms_form() -> Form {
        let text = "name = \"f\"\n[data]\ndataset = \"embedded\"\n[model]\narch = \"lenet\"\n\
                    [[arms]]\nname = \"baseline\"\nscheme = \"none\"\n\
                    [[arms]]\nname = \"perm\"\nscheme = \"keyed\"\n\
                    [[arms]]\nname = \"split-1\"\nscheme = \"split\"\ncut = 1\n";
        Form::new("f.toml".into(), parse(text))
    }

    fn block(size: i64, flip: bool) -> TransformSpec {
        TransformSpec::new("block-shuffle").with("block", size).with("flip", flip)
    }

    fn press(f: &mut Form, keys: &[KeyCode]) -> FormAction {
        let mut last = FormAction::None;
        for k in keys {
            last = f.handle_key(key(*k));
        }
        last
    }

    fn type_text(f: &mut Form, text: &str) {
        for c in text.chars() {
            f.handle_key(key(KeyCode::Char(c)));
        }
    }

    fn go(f: &mut Form, field: Field) {
        f.go_to(field);
        assert_eq!(f.current(), field);
    }

    fn transforms_of(f: &Form, a: usize) -> Vec<TransformSpec> {
        f.keyed(a).unwrap().transforms
    }

    #[test]
    fn rows_are_grouped_under_their_headings_in_order() {
        let f = arms_form();
        let sections: Vec<Section> = f.fields().iter().map(|r| r.section()).collect();
        let mut order = sections.clone();
        order.dedup();
        assert_eq!(order, [Section::Run, Section::Training, Section::Data, Section::Arms, Section::Attacks]);
        let fields = f.fields();
        for row in [Field::ArmName(2), Field::Cut(2), Field::Tail(2), Field::SplitNoise(2), Field::NopeekAlpha(2)] {
            assert!(fields.contains(&row), "{row:?}");
        }
        assert!(fields.contains(&Field::Kind(1, 0)) && !fields.contains(&Field::LabelPermutation(0)));
        // Every registered attack has its row; the enabled ones their main parameters.
        let attacks = fields.iter().filter(|r| matches!(r, Field::Attack(_))).count();
        assert_eq!(attacks, registry::names().len());
        assert!(fields.contains(&Field::AttackParam(8, 0)));
    }

    #[test]
    fn pgdn_jumps_between_sections_and_t_to_the_transforms() {
        let mut f = form();
        press(&mut f, &[KeyCode::PageDown]);
        assert_eq!(f.current(), Field::Epochs);
        press(&mut f, &[KeyCode::PageDown, KeyCode::PageDown]);
        assert_eq!(f.current(), Field::ArmName(0));
        press(&mut f, &[KeyCode::PageUp]);
        assert_eq!(f.current(), Field::Dataset);
        press(&mut f, &[KeyCode::Char('t')]);
        assert_eq!(f.current(), Field::Kind(1, 0));
    }

    #[test]
    fn add_change_kind_and_edit_block() {
        let mut f = form();
        press(&mut f, &[KeyCode::Char('t')]);
        press(&mut f, &[KeyCode::Char('a'), KeyCode::Right]); // Kind(1, 1) -> block-shuffle
        assert_eq!(transforms_of(&f, 1)[1], block(4, false));
        press(&mut f, &[KeyCode::Down, KeyCode::Char('5')]);
        assert_eq!(f.current(), Field::Param(1, 1, 0));
        assert_eq!(transforms_of(&f, 1)[1], block(5, false));
        assert!(!f.is_valid());
        assert_eq!(f.invalid_field(), Some(Field::Param(1, 1, 0)));
        press(&mut f, &[KeyCode::Backspace, KeyCode::Char('7')]);
        assert!(f.is_valid(), "{:?}", f.invalid);
        assert_eq!(f.value_text(Field::Param(1, 1, 0)), "7");
        press(&mut f, &[KeyCode::Down, KeyCode::Char(' ')]);
        assert_eq!(transforms_of(&f, 1)[1], block(7, true));
    }

    #[test]
    fn arrows_offer_only_block_sizes_that_divide_the_image() {
        // The embedded dataset's images are 28x28: block sizes 1, 2, 4, 7, 14 and 28.
        let mut f = form();
        press(&mut f, &[KeyCode::Char('t'), KeyCode::Right, KeyCode::Down]);
        assert_eq!(f.current(), Field::Param(1, 0, 0));
        assert_eq!(f.value_text(Field::Param(1, 0, 0)), "4");
        let mut seen = Vec::new();
        for k in [[KeyCode::Right; 4].as_slice(), [KeyCode::Left; 5].as_slice()].concat() {
            press(&mut f, &[k]);
            seen.push(f.value_text(Field::Param(1, 0, 0)));
            assert!(f.is_valid(), "{:?}", f.invalid);
        }
        assert_eq!(seen, ["7", "14", "28", "28", "14", "7", "4", "2", "1"]);
    }

    #[test]
    fn every_registered_kind_is_offered_with_its_parameters() {
        let mut f = form();
        press(&mut f, &[KeyCode::Char('t')]);
        let mut kinds = Vec::new();
        for _ in 0..transforms::ALL.len() {
            let spec = transforms_of(&f, 1)[0].clone();
            kinds.push(spec.kind.clone());
            let kind = transforms::find(&spec.kind).unwrap();
            let rows: Vec<Field> = f.fields().into_iter().filter(|r| matches!(r, Field::Param(1, 0, _))).collect();
            assert_eq!(rows.len(), kind.params().len(), "{}", spec.kind);
            for (row, decl) in rows.iter().zip(kind.params()) {
                assert_eq!(f.param(*row).map(|p| p.name), Some(decl.name));
            }
            assert!(f.is_valid(), "{} starts invalid: {:?}", spec.kind, f.invalid);
            press(&mut f, &[KeyCode::Right]);
        }
        assert_eq!(kinds, transforms::ALL.iter().map(|k| k.name().to_string()).collect::<Vec<_>>());
        // A letter on a kind row picks the next kind with that initial.
        press(&mut f, &[KeyCode::Char('n')]);
        assert_eq!(transforms_of(&f, 1)[0].kind, "noise");
    }

    #[test]
    fn reorder_and_remove() {
        let mut f = form();
        press(&mut f, &[KeyCode::Char('t'), KeyCode::Char('a')]);
        // Back from pixel-permutation, wrapping: neuracrypt, ele, le, pe, etc, noise.
        press(&mut f, &[KeyCode::Left; 6]);
        assert_eq!(transforms_of(&f, 1)[1].kind, "noise");
        press(&mut f, &[KeyCode::Char('[')]);
        assert_eq!(transforms_of(&f, 1)[0].kind, "noise");
        assert_eq!(f.current(), Field::Kind(1, 0));
        press(&mut f, &[KeyCode::Down, KeyCode::Right, KeyCode::Right]);
        let noise = TransformSpec::new("noise").with("sigma", 0.2).with("per_sample", false);
        assert_eq!(transforms_of(&f, 1)[0], noise);
        press(&mut f, &[KeyCode::Char('x')]);
        assert_eq!(transforms_of(&f, 1), vec![TransformSpec::new("pixel-permutation")]);
        press(&mut f, &[KeyCode::Char('x')]);
        assert!(transforms_of(&f, 1).is_empty());
        assert_eq!(f.current(), Field::FixedKey(1));
    }

    #[test]
    fn training_and_data_rows_edit_their_fields_and_show_the_check_inline() {
        let mut f = form();
        go(&mut f, Field::Epochs);
        press(&mut f, &[KeyCode::Char('0')]);
        assert_eq!(f.invalid_field(), Some(Field::Epochs));
        assert_eq!(f.invalid.as_ref().unwrap().0, "train.epochs");
        assert_eq!(f.handle_key(key(KeyCode::Char('s'))), FormAction::Start);
        press(&mut f, &[KeyCode::Char('3')]);
        assert_eq!(f.config.train.epochs, 3);
        assert!(f.is_valid());

        go(&mut f, Field::Seed);
        type_text(&mut f, "7");
        assert_eq!(f.config.seed, 7);
        go(&mut f, Field::BatchSize);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.config.train.batch_size, 65);
        go(&mut f, Field::LearningRate);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.config.train.learning_rate, 0.002);
        type_text(&mut f, "0.01");
        assert_eq!(f.config.train.learning_rate, 0.01);
        go(&mut f, Field::LrDecay);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.invalid_field(), Some(Field::LrDecay));
        press(&mut f, &[KeyCode::Left, KeyCode::Left]);
        assert_eq!(f.config.train.lr_decay, 0.95);
        assert!(f.is_valid());
        go(&mut f, Field::Optimizer);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.value_text(Field::Optimizer), "sgd");
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.value_text(Field::Optimizer), "adam");

        go(&mut f, Field::TrainLimit);
        assert_eq!(f.value_text(Field::TrainLimit), "all");
        press(&mut f, &[KeyCode::Left]);
        assert_eq!(f.config.data.train_limit, Some(50000));
        type_text(&mut f, "300");
        assert_eq!(f.config.data.train_limit, Some(300));
        press(&mut f, &[KeyCode::Backspace; 3]);
        assert_eq!(f.config.data.train_limit, None);
        go(&mut f, Field::TestLimit);
        press(&mut f, &[KeyCode::Left, KeyCode::Left]);
        assert_eq!(f.config.data.test_limit, Some(20000));
        assert!(f.is_valid(), "{:?}", f.invalid);
    }

    #[test]
    fn dataset_and_arch_cycle_through_what_exists() {
        let mut f = form();
        go(&mut f, Field::Dataset);
        let mut seen = vec![];
        for _ in 0..5 {
            press(&mut f, &[KeyCode::Right]);
            seen.push(f.config.data.dataset.name());
        }
        // The presets only: a format (idx, image-folder, npz) needs its folder, which the form cannot know.
        assert_eq!(seen, ["mnist", "fashion-mnist", "digits", "cifar10", "embedded"]);
        go(&mut f, Field::Arch);
        let mut seen = vec![];
        for _ in 0..6 {
            press(&mut f, &[KeyCode::Right]);
            seen.push(f.config.model.arch.name());
        }
        assert_eq!(seen, ["mlp-512-256", "mlp-1024-512", "cnn-small", "lenet", "patch-set", "mlp-256"]);
    }

    #[test]
    fn an_arm_takes_its_own_arch_or_the_models() {
        let mut f = form();
        go(&mut f, Field::ArmArch(1));
        assert_eq!(f.value_text(Field::ArmArch(1)), "as model (mlp-256)");
        press(&mut f, &[KeyCode::Left]);
        assert_eq!(f.arms()[1].arch, Some(Arch::PatchSet));
        assert_eq!(f.value_text(Field::ArmArch(1)), "patch-set");
        // An arm of its own architecture cannot be written as `[privacy]`: the arms become `[[arms]]`.
        assert!(f.config.privacy.is_none() && f.config.arms.is_some());
        assert_eq!(f.run_config().arm_arch(&f.arms()[1].name), Arch::PatchSet);
        assert_eq!(f.run_config().arm_arch(&f.arms()[0].name), Arch::Mlp256);
        assert!(f.is_valid(), "{:?}", f.invalid);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.arms()[1].arch, None, "after the last architecture, the model's again");
    }

    #[test]
    fn split_rows_offer_only_cuts_the_architecture_allows() {
        let mut f = arms_form();
        go(&mut f, Field::Cut(2));
        let mut seen = vec![];
        for k in [KeyCode::Right, KeyCode::Right, KeyCode::Right, KeyCode::Left] {
            press(&mut f, &[k]);
            seen.push(f.value_text(Field::Cut(2)));
            assert!(f.is_valid(), "{:?}", f.invalid);
        }
        // lenet has 4 layers: with tail 1 the head keeps 1 or 2.
        assert_eq!(seen, ["2", "2", "2", "1"]);
        go(&mut f, Field::Tail(2));
        press(&mut f, &[KeyCode::Right; 3]);
        assert_eq!(f.value_text(Field::Tail(2)), "2");
        go(&mut f, Field::NopeekAlpha(2));
        type_text(&mut f, "0.5");
        go(&mut f, Field::SplitNoise(2));
        type_text(&mut f, "0.1");
        let split = f.arms()[2].scheme.split().unwrap().clone();
        assert_eq!((split.cut, split.tail, split.noise_sigma, split.nopeek_alpha), (1, 2, 0.1, 0.5));
        // On a two-layer MLP no cut is valid: keyed skips split.
        let mut g = form();
        go(&mut g, Field::Scheme(1));
        press(&mut g, &[KeyCode::Right]);
        assert_eq!(g.arms()[1].scheme.kind(), "instahide");
        // On lenet keyed -> split takes the first valid cut, then instahide, then keyed again.
        go(&mut f, Field::Scheme(1));
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.arms()[1].scheme.split().map(|s| s.cut), Some(1));
        assert!(f.is_valid(), "{:?}", f.invalid);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.arms()[1].scheme.kind(), "instahide");
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.arms()[1].scheme.kind(), "keyed");
    }

    #[test]
    fn instahide_rows_step_k_within_range_and_flag_a_cap_below_one_over_k() {
        let mut f = arms_form();
        go(&mut f, Field::Scheme(1));
        press(&mut f, &[KeyCode::Right, KeyCode::Right]);
        assert_eq!(f.arms()[1].scheme.kind(), "instahide");
        let fields = f.fields();
        assert!(fields.contains(&Field::MixK(1)) && fields.contains(&Field::MixUpper(1)));
        assert!(!fields.contains(&Field::Kind(1, 0)), "no transforms on an instahide arm");
        go(&mut f, Field::MixK(1));
        assert_eq!(f.value_text(Field::MixK(1)), "4");
        press(&mut f, &[KeyCode::Left; 4]);
        assert_eq!(f.value_text(Field::MixK(1)), "2", "k stops at 2");
        press(&mut f, &[KeyCode::Right; 10]);
        assert_eq!(f.value_text(Field::MixK(1)), "8", "k stops at 8");
        assert!(f.is_valid(), "{:?}", f.invalid);
        // 0.1 is below 1/8: the form says which field is wrong.
        go(&mut f, Field::MixUpper(1));
        for _ in 0..6 {
            press(&mut f, &[KeyCode::Backspace]);
        }
        type_text(&mut f, "0.1");
        assert!(!f.is_valid());
        assert_eq!(f.invalid_field(), Some(Field::MixUpper(1)), "{:?}", f.invalid);
    }

    #[test]
    fn arms_are_added_renamed_and_removed() {
        let mut f = form();
        go(&mut f, Field::ArmName(1));
        press(&mut f, &[KeyCode::Char('A')]);
        assert_eq!(f.current(), Field::ArmName(2));
        let names: Vec<String> = f.arms().iter().map(|a| a.name.clone()).collect();
        assert_eq!(names, ["baseline", "private", "keyed-1"]);
        assert!(f.config.privacy.is_none() && f.is_valid(), "{:?}", f.invalid);
        assert_eq!(transforms_of(&f, 2), vec![TransformSpec::new("pixel-permutation")]);
        assert_eq!(f.run_config().name, "t-namekeyed-1");
        // Rename: Enter, type, Enter. A name that cannot name folders is shown on its row.
        press(&mut f, &[KeyCode::Enter, KeyCode::Backspace, KeyCode::Backspace]);
        type_text(&mut f, " x");
        press(&mut f, &[KeyCode::Enter]);
        assert_eq!(f.arms()[2].name, "keyed x");
        assert_eq!(f.invalid_field(), Some(Field::ArmName(2)));
        press(&mut f, &[KeyCode::Enter, KeyCode::Backspace, KeyCode::Backspace, KeyCode::Char('2'), KeyCode::Enter]);
        assert_eq!(f.arms()[2].name, "keyed2");
        assert!(f.is_valid());
        // The baseline stays; another arm goes.
        go(&mut f, Field::ArmName(0));
        assert!(matches!(press(&mut f, &[KeyCode::Char('x')]), FormAction::Notice(t) if t.contains("baseline stays")));
        go(&mut f, Field::ArmName(1));
        press(&mut f, &[KeyCode::Char('x')]);
        let names: Vec<String> = f.arms().iter().map(|a| a.name.clone()).collect();
        assert_eq!(names, ["baseline", "keyed2"]);
        // Same length as the opened config's two arms: read as `private` renamed.
        assert_eq!(f.run_config().name, "t-namekeyed2");
        go(&mut f, Field::ArmName(1));
        press(&mut f, &[KeyCode::Char('x')]);
        assert_eq!(f.run_config().name, "t-withoutprivate");
    }

    #[test]
    fn fixed_key_is_switched_on_and_typed() {
        let mut f = form();
        go(&mut f, Field::FixedKey(1));
        press(&mut f, &[KeyCode::Char(' ')]);
        let k = f.keyed(1).unwrap().fixed_key.unwrap();
        assert_eq!(k.len(), 64);
        assert!(f.is_valid());
        press(&mut f, &[KeyCode::Enter, KeyCode::Char('z'), KeyCode::Enter]);
        assert_eq!(f.invalid_field(), Some(Field::FixedKey(1)));
        press(&mut f, &[KeyCode::Enter, KeyCode::Backspace, KeyCode::Enter]);
        assert_eq!(f.keyed(1).unwrap().fixed_key, Some(k));
        press(&mut f, &[KeyCode::Left]);
        assert_eq!(f.keyed(1).unwrap().fixed_key, None);
    }

    #[test]
    fn attacks_are_switched_on_and_off_with_their_main_parameters() {
        let mut f = form();
        let names = registry::names();
        let inversion = names.iter().position(|n| *n == "inversion").unwrap();
        // The parameters come from the attack's own defaults: its first scalar ones.
        assert_eq!(Form::attack_params(inversion), ["hidden", "epochs"]);
        go(&mut f, Field::AttackParam(inversion, 0));
        press(&mut f, &[KeyCode::Backspace, KeyCode::Backspace, KeyCode::Backspace, KeyCode::Char('0')]);
        assert_eq!(f.config.attacks.tables["inversion"]["hidden"].as_integer(), Some(0));
        assert_eq!(f.invalid_field(), Some(Field::AttackParam(inversion, 0)));
        type_text(&mut f, "64");
        assert!(f.is_valid(), "{:?}", f.invalid);
        go(&mut f, Field::Attack(inversion));
        press(&mut f, &[KeyCode::Char(' ')]);
        assert!(!f.attack_on(inversion));
        assert!(!f.fields().contains(&Field::AttackParam(inversion, 0)));
        assert_eq!(f.config.attacks.enabled.len(), names.len() - 1);
        assert!(f.is_valid());
        press(&mut f, &[KeyCode::Char(' ')]);
        assert_eq!(f.config.attacks.enabled, [crate::config::ALL_ATTACKS]);
        go(&mut f, Field::AuxFraction);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(f.config.attacks.aux_fraction, 0.55);
    }

    #[test]
    fn esc_with_unsaved_edits_asks_first() {
        let mut f = form();
        assert_eq!(press(&mut f, &[KeyCode::Esc]), FormAction::Close);
        go(&mut f, Field::Epochs);
        press(&mut f, &[KeyCode::Right]);
        assert_eq!(press(&mut f, &[KeyCode::Esc]), FormAction::None);
        assert!(f.confirm_discard);
        // Other keys do nothing while asked; n keeps the edits.
        assert_eq!(press(&mut f, &[KeyCode::Char('s'), KeyCode::Char('n')]), FormAction::None);
        assert!(!f.confirm_discard && f.config.train.epochs == 6);
        assert_eq!(press(&mut f, &[KeyCode::Esc, KeyCode::Char('y')]), FormAction::Close);
    }

    #[test]
    fn typing_on_a_row_that_does_not_take_it_says_why() {
        let mut f = form();
        let said = |a: FormAction| match a {
            FormAction::Notice(t) => t,
            other => panic!("{other:?}"),
        };
        assert_eq!(f.current(), Field::RunName);
        let t = said(press(&mut f, &[KeyCode::Char('5')]));
        assert!(t.starts_with("not editable") && t.contains("derived"), "{t}");
        go(&mut f, Field::Scheme(0));
        assert!(said(press(&mut f, &[KeyCode::Right])).contains("not editable"));
        go(&mut f, Field::LabelPermutation(1));
        assert!(said(press(&mut f, &[KeyCode::Char('7')])).contains("Space"));
        assert!(!f.dirty);
    }

    #[test]
    fn runs_are_named_by_the_new_kind_and_its_parameters() {
        let mut f = form();
        press(&mut f, &[KeyCode::Char('t'), KeyCode::Char('n'), KeyCode::Down, KeyCode::Left]);
        assert_eq!(f.run_config().name, "t-kindnoise-sigma0.05-per_samplefalse");
        type_text(&mut f, ".2");
        assert_eq!(f.run_config().name, "t-kindnoise-sigma0.2-per_samplefalse");
    }
}
