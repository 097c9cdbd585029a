//! Percentile summaries of HDR histograms, with the histogram itself kept alongside.
//!
//! Every latency-like metric is recorded in microseconds into an HDR histogram (3 significant
//! digits, 1 µs to 1 h). The summary keeps the usual percentiles for people and the whole
//! histogram (V2 + DEFLATE, base64) so that reports and regression checks can recompute any
//! figure later without trusting ours.

use anyhow::{Context, Result};
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest value a latency histogram can hold: one hour in microseconds. Larger values are
/// clamped to it (and show up as the max), never dropped.
pub(crate) const MAX_MICROS: u64 = 3_600_000_000;

/// A fresh histogram for microsecond values (1 µs .. 1 h, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static bounds are valid")
}

/// Records `micros`, clamping into the histogram's range so that no sample is lost.
pub fn record_clamped(h: &mut Histogram<u64>, micros: u64) {
    let v = micros.clamp(1, MAX_MICROS);
    h.record(v).expect("value clamped into range");
}

/// Records `value` as it is, zero included, clamping only above the histogram's range: for
/// figures where 0 is the common, meaningful value (a poll that served the newest frame is
/// 0 µs and 0 frames behind), which [`record_clamped`]'s 1 µs floor would hide.
pub(crate) fn record_value(h: &mut Histogram<u64>, value: u64) {
    h.record(value.min(MAX_MICROS))
        .expect("value clamped into range");
}

/// p50 … max of one metric, in microseconds, plus the histogram they came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub count: u64,
    /// The serialised HDR histogram (V2 + DEFLATE, base64); empty when `count` is 0.
    #[serde(default)]
    pub hist: String,
}

impl Summary {
    /// Summarises `h`. An empty histogram gives all zeros and an empty `hist`.
    pub fn from_histogram(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut buf)
            .expect("serialising into memory cannot fail");
        Summary {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            count: h.len(),
            hist: base64::engine::general_purpose::STANDARD.encode(buf),
        }
    }

    /// Decodes the stored histogram (an empty one when there were no samples).
    pub fn histogram(&self) -> Result<Histogram<u64>> {
        if self.hist.is_empty() {
            return Ok(new_histogram());
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.hist.as_bytes())
            .context("histogram is not valid base64")?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| anyhow::anyhow!("histogram is not a valid HDR V2 encoding: {e:?}"))?;
        Ok(h)
    }

    /// The value at any quantile, recomputed from the stored histogram.
    pub(crate) fn quantile(&self, q: f64) -> Result<u64> {
        Ok(self.histogram()?.value_at_quantile(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_round_trips_through_its_histogram() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            record_clamped(&mut h, v);
        }
        let s = Summary::from_histogram(&h);
        assert_eq!(s.count, 10_000);
        assert!((4_990..=5_010).contains(&s.p50), "p50 {}", s.p50);
        assert!((9_890..=9_910).contains(&s.p99), "p99 {}", s.p99);
        let back = s.histogram().unwrap();
        assert_eq!(back.len(), 10_000);
        assert_eq!(back.value_at_quantile(0.5), s.p50);
    }

    #[test]
    fn empty_histogram_gives_zeros_and_decodes() {
        let s = Summary::from_histogram(&new_histogram());
        assert_eq!(s, Summary::default());
        assert!(s.histogram().unwrap().is_empty());
    }

    #[test]
    fn out_of_range_values_are_clamped_not_lost() {
        let mut h = new_histogram();
        record_clamped(&mut h, 0);
        record_clamped(&mut h, u64::MAX);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn zero_is_kept_as_zero_by_record_value_and_survives_serialisation() {
        let mut h = new_histogram();
        for _ in 0..9 {
            record_value(&mut h, 0);
        }
        record_value(&mut h, 25_000);
        let s = Summary::from_histogram(&h);
        assert_eq!((s.count, s.p50), (10, 0));
        assert_eq!(s.histogram().unwrap().count_at(0), 9);
        let mut clamped = new_histogram();
        record_clamped(&mut clamped, 0);
        assert_eq!(clamped.min(), 1, "record_clamped's floor, for contrast");
    }

    #[test]
    fn corrupt_histogram_is_an_error() {
        let s = Summary {
            count: 1,
            hist: "not base64!!".into(),
            ..Summary::default()
        };
        assert!(s.histogram().is_err());
    }
}
