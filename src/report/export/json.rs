//! The JSON export (`--export-json`): per model, every figure with its unit, interval and ★,
//! and the verdicts in words, under a schema name of its own (`esbench.export/1`) so a
//! consumer can tell it from results.json.

use serde_json::{json, Map, Value};

use super::cells;
use crate::metrics::results::Results;
use crate::metrics::verdict::{Verdict, HEADLINE};

pub const SCHEMA: &str = "esbench.export/1";

pub fn render(r: &Results) -> anyhow::Result<String> {
    let mut models: Vec<Value> = Vec::new();
    let mut figures = Map::new();
    let mut current: Option<&str> = None;
    let cells = cells(r);
    for c in &cells {
        if current != Some(c.model.name.as_str()) {
            if let Some(name) = current.take() {
                models.push(model_value(r, name, std::mem::take(&mut figures)));
            }
            current = Some(&c.model.name);
        }
        let mut f = Map::new();
        f.insert("value".into(), json!(c.value));
        f.insert("unit".into(), json!(c.figure.unit.symbol()));
        if let Some(i) = &c.interval {
            f.insert("lo".into(), json!(i.lo));
            f.insert("hi".into(), json!(i.hi));
            f.insert("rounds".into(), json!(i.n));
            f.insert("is_range".into(), json!(i.is_range));
        }
        f.insert("starred".into(), json!(c.starred));
        figures.insert(c.figure.key.into(), Value::Object(f));
    }
    if let Some(name) = current {
        models.push(model_value(r, name, figures));
    }
    let verdicts: Vec<Value> = HEADLINE
        .iter()
        .map(|q| (q, q.verdict(r)))
        .filter(|(_, v)| *v != Verdict::Nobody)
        .map(|(q, v)| json!({"question": q.question, "verdict": v.sentence(q.best_word, q.figure)}))
        .collect();
    let doc = json!({
        "schema": SCHEMA,
        "scenario": r.scenario.name,
        "commit": r.commit,
        "started_unix": r.started_unix,
        "rounds": r.rounds.as_ref().map(|p| json!({"count": p.count, "round_s": p.round_s, "seed": p.seed})),
        "injected": r.injected,
        "models": models,
        "verdicts": verdicts,
    });
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    Ok(text)
}

fn model_value(r: &Results, name: &str, figures: Map<String, Value>) -> Value {
    let m = r
        .models
        .iter()
        .find(|m| m.name == name)
        .expect("a model of the run");
    json!({
        "name": m.name,
        "status": m.status.to_string(),
        "driver_limited": m.driver.limited,
        "cpu_floor_multiple": m.cpu.floor_multiple,
        "figures": figures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_every_model_with_intervals_and_verdicts() {
        let r = super::super::tests::baseline();
        let v: Value = serde_json::from_str(&render(&r).unwrap()).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["models"].as_array().unwrap().len(), r.models.len());
        let cpu = &v["models"][0]["figures"]["cpu.percent"];
        assert_eq!(v["models"][0]["name"], "threads");
        assert_eq!(cpu["unit"], "%");
        assert!(cpu["lo"].as_f64().unwrap() <= cpu["value"].as_f64().unwrap());
        assert_eq!(cpu["starred"], true);
        assert!(v["verdicts"][0]["verdict"]
            .as_str()
            .unwrap()
            .contains("threads"));
    }
}
