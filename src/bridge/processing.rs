//! The frame processing the original esp4s-aio did "to add load": real work on 4 of the 16
//! channels, plus the scenario's synthetic busy work.
//!
//! The derived values never change what `/poll` reports (Scratch sees the normalised frame,
//! exactly as esp4s sends it); they are kept so the work is not optimised away and can be
//! inspected.

use crate::clock::now_ns;

/// Raw frame field indices (wire order, docs/protocol.md §1).
const BUTTONS: std::ops::Range<usize> = 0..4;
const SLIDER: usize = 4;
const LIGHT: usize = 5;
const MIC: usize = 7;

/// The four processed channels.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Derived {
    /// Exponential moving average of the raw slider (alpha 1/8).
    pub slider_smooth: f64,
    /// Exponential moving average of the light sensor (alpha 1/8).
    pub light_smooth: f64,
    /// Peak envelope of the microphone (instant attack, 5 % decay per frame).
    pub sound_envelope: f64,
    /// Press edges (released -> pressed) seen per button, Down/Left/Up/Right.
    pub presses: [u64; 4],
    /// Frames processed.
    pub frames: u64,
}

/// Filter state, fed one raw frame (16 wire-order values) at a time.
#[derive(Clone, Debug, Default)]
pub struct ChannelProcessing {
    derived: Derived,
    buttons_prev: Option<[i32; 4]>,
}

impl ChannelProcessing {
    pub fn new() -> ChannelProcessing {
        ChannelProcessing::default()
    }

    /// Updates the filters with one frame's raw values.
    pub fn process(&mut self, raw: &[i32; 16]) {
        const ALPHA: f64 = 1.0 / 8.0;
        let d = &mut self.derived;
        let first = d.frames == 0;
        let ema = |prev: f64, x: i32| {
            if first {
                x as f64
            } else {
                prev + ALPHA * (x as f64 - prev)
            }
        };
        d.slider_smooth = ema(d.slider_smooth, raw[SLIDER]);
        d.light_smooth = ema(d.light_smooth, raw[LIGHT]);
        d.sound_envelope = (d.sound_envelope * 0.95).max(raw[MIC] as f64);
        let buttons: [i32; 4] = raw[BUTTONS].try_into().expect("4 buttons");
        if let Some(prev) = self.buttons_prev {
            for i in 0..4 {
                // Raw buttons: 1 released, 0 pressed.
                if prev[i] != 0 && buttons[i] == 0 {
                    d.presses[i] += 1;
                }
            }
        }
        self.buttons_prev = Some(buttons);
        d.frames += 1;
    }

    pub fn derived(&self) -> &Derived {
        &self.derived
    }
}

/// Burns about `micros` µs of CPU (wall clock, checked against the monotonic clock): the
/// scenario's `frame_work_us` / `poll_work_us`. Zero returns at once.
pub fn busy_work(micros: u64) -> u64 {
    if micros == 0 {
        return 0;
    }
    let end = now_ns() + micros * 1_000;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    loop {
        for _ in 0..256 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        if now_ns() >= end {
            return std::hint::black_box(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(buttons: [i32; 4], slider: i32, light: i32, mic: i32) -> [i32; 16] {
        let mut v = [0; 16];
        v[..4].copy_from_slice(&buttons);
        v[SLIDER] = slider;
        v[LIGHT] = light;
        v[MIC] = mic;
        v
    }

    #[test]
    fn filters_and_edges() {
        let mut p = ChannelProcessing::new();
        p.process(&frame([1, 1, 1, 1], 800, 100, 0));
        assert_eq!(p.derived().slider_smooth, 800.0);
        p.process(&frame([0, 1, 1, 1], 0, 100, 500));
        assert_eq!(p.derived().slider_smooth, 700.0);
        assert_eq!(p.derived().sound_envelope, 500.0);
        p.process(&frame([0, 1, 1, 0], 0, 100, 0));
        p.process(&frame([1, 1, 1, 1], 0, 100, 0));
        p.process(&frame([0, 1, 1, 1], 0, 100, 0));
        assert_eq!(p.derived().presses, [2, 0, 0, 1]);
        assert_eq!(p.derived().sound_envelope, 500.0 * 0.95 * 0.95 * 0.95);
        assert_eq!(p.derived().frames, 5);
    }

    #[test]
    fn busy_work_takes_at_least_the_time_asked() {
        let t = now_ns();
        busy_work(2_000);
        assert!(now_ns() - t >= 2_000_000);
        busy_work(0);
    }
}
