//! The protection-settings form: a copy of one config being edited, validated after every change.
//! A two-arm config (`[privacy]`) edits its one keyed arm; an `[[arms]]` config edits one keyed arm
//! at a time, picked with the `arm` row. Pure state: no terminal, no files.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::config::{Config, PrivacyConfig, SchemeConfig, TransformSpec};
use crate::scheme::transforms::{self, Param, ParamType, Params};

/// What ←/→ adds to or takes from a number parameter.
const NUMBER_STEP: f64 = 0.05;

/// One editable row of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Epochs,
    /// Which keyed arm of an `[[arms]]` config the rows below edit.
    Arm,
    LabelPermutation,
    CodesPerClass,
    /// The kind of transform i.
    Kind(usize),
    /// Parameter j (in its kind's declared order) of transform i.
    Param(usize, usize),
}

impl Field {
    /// Index of the transform this row belongs to.
    pub fn transform(self) -> Option<usize> {
        match self {
            Field::Kind(i) | Field::Param(i, _) => Some(i),
            _ => None,
        }
    }
}

/// What the form asks its owner to do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAction {
    None,
    /// Start the edited config.
    Start,
    /// Ask for a file name and save the edited config.
    SaveAs,
    /// Leave the form (edits dropped).
    Close,
}

/// Position of a transform's kind in the registry (the order ←/→ cycles through them).
fn kind_index(t: &TransformSpec) -> usize {
    transforms::ALL.iter().position(|k| k.name() == t.kind).unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// The file the edits started from, as shown to the user (relative to the configs folder).
    pub source: String,
    pub config: Config,
    /// For an `[[arms]]` config: the index in `config.arms` of the keyed arm being edited (None for
    /// a `[privacy]` config, or arms without a keyed one).
    pub arm: Option<usize>,
    /// Index into [`Form::fields`].
    pub cursor: usize,
    /// Digits typed into the current numeric field, not yet a valid number (or not yet left).
    pub edit: Option<String>,
    /// `Config::validate`'s verdict on the current settings: (field path, what was expected).
    pub invalid: Option<(String, String)>,
    /// Whether anything changed since the form opened or was saved.
    pub dirty: bool,
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
        let mut form = Form { source, config, arm: None, cursor: 0, edit: None, invalid: None, dirty: false, base };
        form.arm = form.keyed_arms().first().copied();
        form.revalidate();
        form
    }

    /// The edited config to run, named by what changed as `--set` names a run: a quickstart with its
    /// first transform changed to orthogonal-mix runs as `quickstart-kindorthogonal-mix`.
    pub fn run_config(&self) -> Config {
        let doc = |c: &Config| toml::from_str::<toml::Table>(&c.to_toml()).unwrap_or_default();
        let changes = crate::config::overrides::changes(&doc(&self.base), &doc(&self.config), "the form");
        let mut config = self.config.clone();
        config.name = crate::config::overrides::derived_name(&self.base.name, &changes);
        config
    }

    /// Indices in `config.arms` of the keyed arms (empty for a `[privacy]` config).
    pub fn keyed_arms(&self) -> Vec<usize> {
        let arms = self.config.arms.as_deref().unwrap_or_default();
        arms.iter().enumerate().filter(|(_, a)| a.scheme.keyed().is_some()).map(|(i, _)| i).collect()
    }

    /// The name of the arm being edited (`private` for a `[privacy]` config).
    pub fn arm_name(&self) -> String {
        match (&self.config.arms, self.arm) {
            (Some(arms), Some(i)) => arms[i].name.clone(),
            (Some(_), None) => String::new(),
            (None, _) => crate::config::PRIVATE_ARM.into(),
        }
    }

    /// The keyed settings being edited.
    pub fn privacy(&self) -> Option<&PrivacyConfig> {
        match (&self.config.arms, self.arm) {
            (Some(arms), Some(i)) => arms[i].scheme.keyed(),
            (Some(_), None) => None,
            (None, _) => self.config.privacy.as_ref(),
        }
    }

    fn privacy_mut(&mut self) -> Option<&mut PrivacyConfig> {
        match (&mut self.config.arms, self.arm) {
            (Some(arms), Some(i)) => match &mut arms[i].scheme {
                SchemeConfig::Keyed(p) => Some(p),
                SchemeConfig::None | SchemeConfig::Split(_) | SchemeConfig::InstaHide(_) => None,
            },
            (Some(_), None) => None,
            (None, _) => self.config.privacy.as_mut(),
        }
    }

    /// The config path of the settings being edited: `privacy` or `arms[i]`.
    fn prefix(&self) -> String {
        match self.arm {
            Some(i) => self.config.arm_field(i),
            None => "privacy".into(),
        }
    }

    fn transforms(&self) -> &[TransformSpec] {
        self.privacy().map(|p| p.transforms.as_slice()).unwrap_or_default()
    }

    /// Every row, top to bottom.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = vec![Field::Epochs];
        if self.config.arms.is_some() && self.arm.is_some() {
            out.push(Field::Arm);
        }
        if self.privacy().is_none() {
            return out;
        }
        out.extend([Field::LabelPermutation, Field::CodesPerClass]);
        for (i, t) in self.transforms().iter().enumerate() {
            out.push(Field::Kind(i));
            let params = transforms::find(&t.kind).map_or(&[][..], |k| k.params());
            out.extend((0..params.len()).map(|j| Field::Param(i, j)));
        }
        out
    }

    /// The declaration of a parameter row.
    pub fn param(&self, field: Field) -> Option<&'static Param> {
        let Field::Param(i, j) = field else { return None };
        transforms::find(&self.transforms().get(i)?.kind)?.params().get(j)
    }

    fn is_numeric(&self, field: Field) -> bool {
        matches!(field, Field::Epochs | Field::CodesPerClass)
            || self.param(field).is_some_and(|p| p.ty != ParamType::Flag)
    }

    pub fn current(&self) -> Field {
        let f = self.fields();
        f[self.cursor.min(f.len() - 1)]
    }

    pub fn is_valid(&self) -> bool {
        self.invalid.is_none()
    }

    /// The row a validation error points at, if it maps to one.
    pub fn invalid_field(&self) -> Option<Field> {
        let (path, _) = self.invalid.as_ref()?;
        if path == "train.epochs" {
            return Some(Field::Epochs);
        }
        let rest = path.strip_prefix(&self.prefix())?.strip_prefix('.')?;
        match rest {
            "codes_per_class" => return Some(Field::CodesPerClass),
            "label_permutation" => return Some(Field::LabelPermutation),
            _ => {}
        }
        let rest = rest.strip_prefix("transforms[")?;
        let (idx, tail) = rest.split_once(']')?;
        let i: usize = idx.parse().ok()?;
        let params = transforms::find(&self.transforms().get(i)?.kind).map_or(&[][..], |k| k.params());
        let name = tail.strip_prefix('.').unwrap_or("");
        Some(params.iter().position(|p| p.name == name).map_or(Field::Kind(i), |j| Field::Param(i, j)))
    }

    /// The value shown for a row (the edit buffer for the row being typed into).
    pub fn value_text(&self, field: Field) -> String {
        if field == self.current() {
            if let Some(e) = &self.edit {
                return e.clone();
            }
        }
        let onoff = |b: bool| if b { "on" } else { "off" }.to_string();
        if field == Field::Epochs {
            return self.config.train.epochs.to_string();
        }
        if field == Field::Arm {
            return self.arm_name();
        }
        let Some(p) = self.privacy() else { return String::new() };
        let t = |i: usize| &p.transforms[i];
        match field {
            Field::Epochs | Field::Arm => String::new(),
            Field::LabelPermutation => onoff(p.label_permutation),
            Field::CodesPerClass => p.codes_per_class.to_string(),
            Field::Kind(i) => t(i).kind.clone(),
            Field::Param(i, _) => {
                let Some(decl) = self.param(field) else { return String::new() };
                let p = Params::new(t(i), transforms::kind::kind_of(t(i)));
                match decl.ty {
                    ParamType::Integer => p.integer(decl.name).to_string(),
                    ParamType::Number => p.number(decl.name).to_string(),
                    ParamType::Flag => onoff(p.flag(decl.name)),
                }
            }
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormAction {
        let field = self.current();
        match key.code {
            KeyCode::Esc => return FormAction::Close,
            KeyCode::Up | KeyCode::Char('k') => self.move_cursor(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_cursor(1),
            KeyCode::Left | KeyCode::Char('h') => self.adjust(field, -1),
            KeyCode::Right | KeyCode::Char('l') => self.adjust(field, 1),
            KeyCode::Char(' ') => self.adjust(field, 1),
            KeyCode::Enter => {
                if self.edit.is_some() {
                    self.edit = None;
                } else {
                    self.adjust(field, 1);
                }
            }
            KeyCode::Char(c) if self.is_numeric(field) && (c.is_ascii_digit() || c == '.') => self.type_char(field, c),
            KeyCode::Backspace if self.is_numeric(field) => self.backspace(field),
            KeyCode::Char('a') => self.add_transform(),
            KeyCode::Char('x') | KeyCode::Delete => self.remove_transform(),
            KeyCode::Char('[') => self.move_transform(-1),
            KeyCode::Char(']') => self.move_transform(1),
            KeyCode::Char('s') => return FormAction::Start,
            KeyCode::Char('w') => return FormAction::SaveAs,
            _ => {}
        }
        FormAction::None
    }

    fn move_cursor(&mut self, delta: isize) {
        self.edit = None;
        let n = self.fields().len() as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, n - 1) as usize;
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

    /// ←/→ (and Space/Enter on toggles and kinds).
    fn adjust(&mut self, field: Field, dir: i64) {
        self.edit = None;
        let step = |v: usize, min: usize| (v as i64 + dir).max(min as i64) as usize;
        match field {
            Field::Epochs => {
                self.config.train.epochs = step(self.config.train.epochs, 1);
                return self.changed();
            }
            Field::Arm => return self.switch_arm(dir),
            _ => {}
        }
        let decl = self.param(field);
        // Files not readable yet: step integer parameters freely (block sizes are checked on load).
        let shape = self.config.image_shape();
        let Some(p) = self.privacy_mut() else { return };
        match field {
            Field::Epochs | Field::Arm => {}
            Field::LabelPermutation => p.label_permutation = !p.label_permutation,
            Field::CodesPerClass => p.codes_per_class = step(p.codes_per_class, 1),
            Field::Kind(i) => {
                let n = transforms::ALL.len() as i64;
                let k = (kind_index(&p.transforms[i]) as i64 + dir).rem_euclid(n) as usize;
                p.transforms[i] = transforms::initial_spec(transforms::ALL[k]);
            }
            Field::Param(i, _) => {
                let Some(decl) = decl else { return };
                let spec = &p.transforms[i];
                let kind = transforms::kind::kind_of(spec);
                let params = Params::new(spec, kind);
                let value = match decl.ty {
                    ParamType::Flag => toml::Value::Boolean(!params.flag(decl.name)),
                    ParamType::Number => {
                        let v = (params.number(decl.name) + NUMBER_STEP * dir as f64).max(0.0);
                        toml::Value::Float((v * 1e6).round() / 1e6)
                    }
                    ParamType::Integer => {
                        let v = params.integer(decl.name) as i64;
                        // Only valid values where the kind lists them (block sizes that divide the image).
                        let next = match shape.and_then(|shape| kind.choices(decl.name, shape)) {
                            Some(c) if dir > 0 => c.iter().copied().find(|&x| x > v).or(c.last().copied()),
                            Some(c) => c.iter().rev().copied().find(|&x| x < v).or(c.first().copied()),
                            None => Some((v + dir).max(0)),
                        };
                        toml::Value::Integer(next.unwrap_or(v))
                    }
                };
                p.transforms[i].set(decl.name, value);
            }
        }
        self.changed();
    }

    /// Edit the next (or previous) keyed arm; the cursor stays on the `arm` row.
    fn switch_arm(&mut self, dir: i64) {
        let keyed = self.keyed_arms();
        let Some(at) = self.arm.and_then(|a| keyed.iter().position(|k| *k == a)) else { return };
        self.arm = Some(keyed[(at as i64 + dir).rem_euclid(keyed.len() as i64) as usize]);
        self.revalidate();
    }

    fn type_char(&mut self, field: Field, c: char) {
        if c == '.' && !self.param(field).is_some_and(|p| p.ty == ParamType::Number) {
            return;
        }
        let mut text = self.edit.take().unwrap_or_default();
        if text.len() < 12 {
            text.push(c);
        }
        self.apply_text(field, text);
    }

    fn backspace(&mut self, field: Field) {
        let mut text = self.edit.take().unwrap_or_else(|| self.value_text(field));
        text.pop();
        self.apply_text(field, text);
    }

    /// Keep the typed text and apply it when it parses; validation then judges the value.
    fn apply_text(&mut self, field: Field, text: String) {
        if field == Field::Epochs {
            if let Ok(v) = text.parse() {
                self.config.train.epochs = v;
            }
        }
        let decl = self.param(field).map(|d| (d.name, d.ty));
        let Some(p) = self.privacy_mut() else {
            self.edit = Some(text);
            return self.changed();
        };
        match field {
            Field::CodesPerClass => {
                if let Ok(v) = text.parse() {
                    p.codes_per_class = v;
                }
            }
            Field::Param(i, _) => {
                let value = match decl {
                    Some((name, ParamType::Integer)) => {
                        text.parse::<i64>().ok().map(|v| (name, toml::Value::Integer(v)))
                    }
                    Some((name, ParamType::Number)) => text.parse::<f64>().ok().map(|v| (name, toml::Value::Float(v))),
                    _ => None,
                };
                if let Some((name, value)) = value {
                    p.transforms[i].set(name, value);
                }
            }
            _ => {}
        }
        self.edit = Some(text);
        self.changed();
    }

    /// Insert a pixel permutation after the transform under the cursor (or at the end).
    fn add_transform(&mut self) {
        self.edit = None;
        let at = match self.current().transform() {
            Some(i) => i + 1,
            None => self.transforms().len(),
        };
        let Some(p) = self.privacy_mut() else { return };
        p.transforms.insert(at, transforms::initial_spec(transforms::ALL[0]));
        self.changed();
        self.cursor = self.fields().iter().position(|f| *f == Field::Kind(at)).unwrap_or(0);
    }

    fn remove_transform(&mut self) {
        self.edit = None;
        let Some(i) = self.current().transform() else {
            return;
        };
        let Some(p) = self.privacy_mut() else { return };
        p.transforms.remove(i);
        self.changed();
        let target = if i > 0 {
            Field::Kind(i - 1)
        } else if self.transforms().is_empty() {
            Field::CodesPerClass
        } else {
            Field::Kind(0)
        };
        self.cursor = self.fields().iter().position(|f| *f == target).unwrap_or(0);
    }

    fn move_transform(&mut self, delta: isize) {
        self.edit = None;
        let Some(i) = self.current().transform() else {
            return;
        };
        let j = i as isize + delta;
        let n = self.transforms().len() as isize;
        if j < 0 || j >= n {
            return;
        }
        let j = j as usize;
        let Some(p) = self.privacy_mut() else { return };
        p.transforms.swap(i, j);
        self.changed();
        self.cursor = self.fields().iter().position(|f| *f == Field::Kind(j)).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;
    use std::path::Path;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn form() -> Form {
        let cfg = crate::validate::parse_config("name = \"t\"\n[data]\ndataset = \"embedded\"\n", Path::new("t.toml"))
            .unwrap();
        Form::new("t.toml".into(), cfg)
    }

    fn block(size: i64, flip: bool) -> TransformSpec {
        TransformSpec::new("block-shuffle").with("block", size).with("flip", flip)
    }

    fn press(f: &mut Form, keys: &[KeyCode]) {
        for k in keys {
            f.handle_key(key(*k));
        }
    }

    #[test]
    fn add_change_kind_and_edit_block() {
        let mut f = form();
        assert_eq!(f.fields().len(), 4);
        press(&mut f, &[KeyCode::Down, KeyCode::Down, KeyCode::Down]); // on Kind(0)
        assert_eq!(f.current(), Field::Kind(0));
        press(&mut f, &[KeyCode::Char('a'), KeyCode::Right]); // Kind(1) -> block-shuffle
        assert_eq!(f.privacy().unwrap().transforms[1], block(4, false));
        press(&mut f, &[KeyCode::Down, KeyCode::Char('5')]);
        assert_eq!(f.current(), Field::Param(1, 0));
        assert_eq!(f.privacy().unwrap().transforms[1], block(5, false));
        assert!(!f.is_valid());
        assert_eq!(f.invalid_field(), Some(Field::Param(1, 0)));
        press(&mut f, &[KeyCode::Backspace, KeyCode::Char('7')]);
        assert!(f.is_valid(), "{:?}", f.invalid);
        assert_eq!(f.value_text(Field::Param(1, 0)), "7");
        press(&mut f, &[KeyCode::Down, KeyCode::Char(' ')]);
        assert_eq!(f.privacy().unwrap().transforms[1], block(7, true));
    }

    #[test]
    fn arrows_offer_only_block_sizes_that_divide_the_image() {
        // The embedded dataset's images are 28x28: block sizes 1, 2, 4, 7, 14 and 28.
        let mut f = form();
        press(&mut f, &[KeyCode::Down, KeyCode::Down, KeyCode::Down, KeyCode::Right, KeyCode::Down]);
        assert_eq!(f.current(), Field::Param(0, 0));
        assert_eq!(f.value_text(Field::Param(0, 0)), "4");
        let mut seen = Vec::new();
        for _ in 0..4 {
            press(&mut f, &[KeyCode::Right]);
            seen.push(f.value_text(Field::Param(0, 0)));
            assert!(f.is_valid(), "{:?}", f.invalid);
        }
        for _ in 0..5 {
            press(&mut f, &[KeyCode::Left]);
            seen.push(f.value_text(Field::Param(0, 0)));
            assert!(f.is_valid(), "{:?}", f.invalid);
        }
        assert_eq!(seen, ["7", "14", "28", "28", "14", "7", "4", "2", "1"]);
    }

    #[test]
    fn every_registered_kind_is_offered_with_its_parameters() {
        let mut f = form();
        press(&mut f, &[KeyCode::Down, KeyCode::Down, KeyCode::Down]);
        let mut kinds = Vec::new();
        for _ in 0..transforms::ALL.len() {
            let spec = &f.privacy().unwrap().transforms[0];
            kinds.push(spec.kind.clone());
            let kind = transforms::find(&spec.kind).unwrap();
            let rows: Vec<Field> = f.fields().into_iter().filter(|r| matches!(r, Field::Param(0, _))).collect();
            assert_eq!(rows.len(), kind.params().len(), "{}", spec.kind);
            for (row, decl) in rows.iter().zip(kind.params()) {
                assert_eq!(f.param(*row).map(|p| p.name), Some(decl.name));
            }
            assert!(f.is_valid(), "{} starts invalid: {:?}", spec.kind, f.invalid);
            press(&mut f, &[KeyCode::Right]);
        }
        assert_eq!(kinds, transforms::ALL.iter().map(|k| k.name().to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn reorder_and_remove() {
        let mut f = form();
        // Kind(1) steps back from pixel-permutation, wrapping: ele, le, pe, etc, noise.
        press(&mut f, &[KeyCode::Down, KeyCode::Down, KeyCode::Down, KeyCode::Char('a')]);
        press(&mut f, &[KeyCode::Left; 5]);
        assert_eq!(f.privacy().unwrap().transforms[1].kind, "noise");
        press(&mut f, &[KeyCode::Char('[')]);
        assert_eq!(f.privacy().unwrap().transforms[0].kind, "noise");
        assert_eq!(f.current(), Field::Kind(0));
        press(&mut f, &[KeyCode::Down, KeyCode::Right, KeyCode::Right]);
        let noise = TransformSpec::new("noise").with("sigma", 0.2).with("per_sample", false);
        assert_eq!(f.privacy().unwrap().transforms[0], noise);
        press(&mut f, &[KeyCode::Char('x')]);
        assert_eq!(f.privacy().unwrap().transforms, vec![TransformSpec::new("pixel-permutation")]);
        press(&mut f, &[KeyCode::Char('x')]);
        assert!(f.privacy().unwrap().transforms.is_empty());
        assert_eq!(f.current(), Field::CodesPerClass);
    }

    #[test]
    fn zero_epochs_is_reported_inline() {
        let mut f = form();
        press(&mut f, &[KeyCode::Char('0')]);
        assert_eq!(f.invalid_field(), Some(Field::Epochs));
        assert_eq!(f.handle_key(key(KeyCode::Char('s'))), FormAction::Start);
        press(&mut f, &[KeyCode::Char('3')]);
        assert_eq!(f.config.train.epochs, 3);
        assert!(f.is_valid());
    }
}
