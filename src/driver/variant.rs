//! Test-only variants: one registered model run again under another name, optionally with
//! faults of its own (`--variant hot=threads:frame-cpu=120us`).
//!
//! They exist to check the verdicts, not to measure: a model against itself must come out as
//! a tie, and the same model made costlier on purpose must be named costlier with intervals
//! that separate. A run with variants is recorded like an injected one (`Results::injected`),
//! so it never enters the history as a measurement.

use crate::bridge::inject::{parse_all, Fault};

/// `NAME=MODEL[:SPEC[,SPEC…]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The row's name.
    pub name: String,
    /// The registered model the child runs.
    pub model: String,
    /// Faults of this variant only, on top of the run's.
    pub faults: Vec<Fault>,
}

impl Variant {
    /// Parses `NAME=MODEL[:SPEC,…]`; the model must be registered and the name must not be
    /// one (two rows of one name could not be told apart).
    pub fn parse(text: &str) -> Result<Variant, String> {
        let (name, rest) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not NAME=MODEL[:FAULT,…]"))?;
        let (model, specs) = match rest.split_once(':') {
            Some((m, s)) => (m, s),
            None => (rest, ""),
        };
        let (name, model) = (name.trim(), model.trim());
        let ok_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok_name {
            return Err(format!(
                "variant name {name:?}: use letters, digits, '-' and '_'"
            ));
        }
        if crate::models::find(name).is_some() {
            return Err(format!(
                "variant name {name:?} is a model's name; pick another"
            ));
        }
        if crate::models::find(model).is_none() {
            return Err(format!("variant {name}: unknown model {model:?}"));
        }
        let specs: Vec<String> = specs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let faults = parse_all(&specs).map_err(|e| format!("variant {name}: {e}"))?;
        Ok(Variant {
            name: name.into(),
            model: model.into(),
            faults,
        })
    }

    /// The canonical text, as recorded in `Results::injected`.
    pub fn spec(&self) -> String {
        let faults: Vec<String> = self.faults.iter().map(|f| f.to_string()).collect();
        if faults.is_empty() {
            format!("variant {}={}", self.name, self.model)
        } else {
            format!("variant {}={}:{}", self.name, self.model, faults.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_parse_and_refuse_what_cannot_be_run() {
        let v = Variant::parse("hot=threads:frame-cpu=120us").unwrap();
        assert_eq!((v.name.as_str(), v.model.as_str()), ("hot", "threads"));
        assert_eq!(v.spec(), "variant hot=threads:frame-cpu=120us");
        let same = Variant::parse("threads-again=threads").unwrap();
        assert!(same.faults.is_empty());
        assert_eq!(same.spec(), "variant threads-again=threads");
        for (bad, why) in [
            ("threads", "NAME=MODEL"),
            ("tokio=threads", "a model's name"),
            ("x=nosuch", "unknown model"),
            ("a b=threads", "letters, digits"),
            ("hot=threads:frame-cpu=lots", "variant hot"),
        ] {
            let e = Variant::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
