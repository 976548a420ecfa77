//! notes.json: a researcher's note and tags on a run (set in the TUI runs table). Optional: a run
//! folder without it (every folder written before it existed) has no note and no tags.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;

pub const NOTES_FILE: &str = "notes.json";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunNotes {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl RunNotes {
    /// The notes of the run folder `dir`: empty when it has no notes.json; an error naming the file
    /// when it has one that does not read.
    pub fn load(dir: &Path) -> anyhow::Result<RunNotes> {
        let path = dir.join(NOTES_FILE);
        if !path.exists() {
            return Ok(RunNotes::default());
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| InputError::in_file(&path, format!("cannot read: {e}")))?;
        Ok(serde_json::from_str(&text)
            .map_err(|e| InputError::in_file(&path, format!("expected {{\"note\": TEXT, \"tags\": [TEXT]}}: {e}")))?)
    }

    /// Write notes.json into the run folder `dir`, atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        crate::atomic::write_json(&dir.join(NOTES_FILE), self)
    }

    /// Tags as typed: separated by commas, trimmed, empty ones and repeats dropped.
    pub fn parse_tags(input: &str) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for t in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !tags.iter().any(|x| x == t) {
                tags.push(t.to_string());
            }
        }
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_round_trip_and_a_folder_without_them_has_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RunNotes::load(dir.path()).unwrap(), RunNotes::default());
        let notes =
            RunNotes { note: "sigma 0.2, second seed".into(), tags: RunNotes::parse_tags(" noise, ,paper,noise") };
        assert_eq!(notes.tags, vec!["noise".to_string(), "paper".to_string()]);
        notes.save(dir.path()).unwrap();
        assert_eq!(RunNotes::load(dir.path()).unwrap(), notes);
        std::fs::write(dir.path().join(NOTES_FILE), "{\"tags\": 3}").unwrap();
        let e = format!("{:#}", RunNotes::load(dir.path()).unwrap_err());
        assert!(e.contains("notes.json") && e.contains("expected"), "{e}");
    }
}
