//! A seeded model of a real Esplora in a classroom: drifting light and temperature, a noisy
//! microphone with the odd clap, joystick and button gestures, a board tilted now and then,
//! and floating TinkerKit inputs. The same seed always gives the same frames.
//!
//! Timing follows the sketch: one frame every `frame_period_ms`; with `bursts`, the board
//! stalls periodically and then catches up with back-to-back frames (`prev += 25`).

use super::line::LineOptions;
use super::{Piece, Source};
use crate::protocol::frame::{encode_frame, RawFrame};
use crate::rng::Rng;

/// A stall of `stall_ms` every `every_s` seconds, then a catch-up burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstOptions {
    pub every_s: f64,
    pub stall_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SynthOptions {
    pub seed: u64,
    pub frame_period_ms: f64,
    pub bursts: Option<BurstOptions>,
    pub line: LineOptions,
    /// Stop after this many frames (`None`: never).
    pub max_frames: Option<u64>,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 1,
            frame_period_ms: 25.0,
            bursts: None,
            line: LineOptions::default(),
            max_frames: None,
        }
    }
}

/// An ongoing gesture: what is being held and for how many more frames.
#[derive(Debug, Clone, Copy)]
enum Gesture {
    Idle,
    Button {
        index: usize,
        frames: u32,
    },
    Joystick {
        x: i32,
        y: i32,
        press: bool,
        frames: u32,
    },
}

/// The simulated board's sensors and gestures, stepped once per frame; frames are read off it.
#[derive(Debug, Clone)]
struct SensorState {
    rng: Rng,
    t_s: f64,
    slider: f64,
    slider_target: f64,
    light_phase: f64,
    temp_base: f64,
    mic_level: f64,
    tilt_x: f64,
    tilt_y: f64,
    tilt_target: (f64, f64),
    tinker_a: f64,
    gesture: Gesture,
}

impl SensorState {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let slider = rng.range(100, 900) as f64;
        let light_phase = rng.unit() * std::f64::consts::TAU;
        let temp_base = rng.range(18, 24) as f64;
        let tinker_a = rng.range(300, 420) as f64;
        SensorState {
            rng,
            t_s: 0.0,
            slider,
            slider_target: slider,
            light_phase,
            temp_base,
            mic_level: 0.0,
            tilt_x: 0.0,
            tilt_y: 0.0,
            tilt_target: (0.0, 0.0),
            tinker_a,
            gesture: Gesture::Idle,
        }
    }

    fn noise(&mut self, amplitude: i64) -> f64 {
        self.rng.range(-amplitude, amplitude) as f64
    }

    /// Advances the model by one frame period and reads the sensors as the sketch would.
    fn step(&mut self, dt_s: f64) -> RawFrame {
        self.t_s += dt_s;
        let rng = &mut self.rng;

        // A student moves the slider every few seconds; it glides towards the new spot.
        if rng.chance(dt_s / 4.0) {
            self.slider_target = rng.range(0, 1023) as f64;
        }
        self.slider += (self.slider_target - self.slider) * (dt_s * 3.0).min(1.0);

        // Light drifts slowly (clouds, someone's shadow); temperature even slower.
        let light =
            600.0 + 250.0 * (self.t_s / 90.0 * std::f64::consts::TAU + self.light_phase).sin();
        let temp = self.temp_base + 1.5 * (self.t_s / 600.0 * std::f64::consts::TAU).sin();

        // Microphone: room noise, and now and then a clap that decays.
        if rng.chance(dt_s / 6.0) {
            self.mic_level = rng.range(500, 1000) as f64;
        }
        self.mic_level *= (-dt_s / 0.15).exp();

        // The board gets tilted every so often and is then held still-ish.
        if rng.chance(dt_s / 5.0) {
            self.tilt_target = (rng.range(-120, 120) as f64, rng.range(-120, 120) as f64);
        }
        self.tilt_x += (self.tilt_target.0 - self.tilt_x) * (dt_s * 2.0).min(1.0);
        self.tilt_y += (self.tilt_target.1 - self.tilt_y) * (dt_s * 2.0).min(1.0);

        self.tinker_a += (rng.unit() - 0.5) * 4.0;
        self.tinker_a = self.tinker_a.clamp(250.0, 450.0);

        // Gestures: a button tap, or a joystick push (sometimes with a click).
        if let Gesture::Idle = self.gesture {
            if rng.chance(dt_s / 2.0) {
                self.gesture = if rng.chance(0.5) {
                    Gesture::Button {
                        index: rng.range(0, 3) as usize,
                        frames: rng.range(3, 16) as u32,
                    }
                } else {
                    let dir = rng.range(0, 3);
                    let amount = rng.range(200, 511) as i32;
                    let (x, y) =
                        [(amount, 0), (-amount, 0), (0, amount), (0, -amount)][dir as usize];
                    Gesture::Joystick {
                        x,
                        y,
                        press: rng.chance(0.2),
                        frames: rng.range(8, 40) as u32,
                    }
                };
            }
        }
        let mut buttons = [1; 4];
        let (mut jx, mut jy, mut jswitch) = (0, 0, 1023);
        match &mut self.gesture {
            Gesture::Idle => {}
            Gesture::Button { index, frames } => {
                buttons[*index] = 0;
                *frames = frames.saturating_sub(1);
            }
            Gesture::Joystick {
                x,
                y,
                press,
                frames,
            } => {
                (jx, jy) = (*x, *y);
                if *press {
                    jswitch = 0;
                }
                *frames = frames.saturating_sub(1);
            }
        }
        if matches!(
            self.gesture,
            Gesture::Button { frames: 0, .. } | Gesture::Joystick { frames: 0, .. }
        ) {
            self.gesture = Gesture::Idle;
        }

        let light = light + self.noise(3);
        let mic = self.mic_level + self.noise(12).abs();
        let jx = jx + self.noise(2) as i32;
        let jy = jy + self.noise(2) as i32;
        let ax = self.tilt_x + self.noise(2);
        let ay = self.tilt_y + self.noise(2);
        let az = 157.0 - (self.tilt_x.abs() + self.tilt_y.abs()) / 6.0 + self.noise(2);
        let tb = self.rng.range(0, 20);
        RawFrame {
            values: [
                buttons[0],
                buttons[1],
                buttons[2],
                buttons[3],
                self.slider.round().clamp(0.0, 1023.0) as i32,
                light.round().clamp(0.0, 1023.0) as i32,
                temp.round() as i32,
                mic.round().clamp(0.0, 1023.0) as i32,
                jswitch,
                jx.clamp(-512, 511),
                jy.clamp(-512, 511),
                ax.round() as i32,
                ay.round() as i32,
                az.round() as i32,
                self.tinker_a.round() as i32,
                tb as i32,
            ],
        }
    }
}

/// The synthetic board as a `Source`: one piece per frame.
pub struct SynthSource {
    opts: SynthOptions,
    sensors: SensorState,
    index: u64,
    stamp_seq: bool,
}

impl SynthSource {
    pub fn new(opts: SynthOptions, stamp_seq: bool) -> Self {
        SynthSource {
            sensors: SensorState::new(opts.seed),
            opts,
            index: 0,
            stamp_seq,
        }
    }

    /// When frame `index` is written: on its period, unless it falls in a stall, in which
    /// case at the stall's end (all such frames back to back, as the sketch catches up).
    fn emit_time_ns(&self, index: u64) -> u64 {
        let period_ns = self.opts.frame_period_ms * 1e6;
        let nominal = (index as f64 * period_ns).round() as u64;
        match self.opts.bursts {
            Some(b) if b.every_s > 0.0 => {
                let every_ns = (b.every_s * 1e9) as u64;
                let stall_ns = b.stall_ms * 1_000_000;
                let cycle = nominal / every_ns;
                let into = nominal % every_ns;
                // The first cycle starts with a stall too late to matter; skip cycle 0.
                if cycle > 0 && into < stall_ns {
                    cycle * every_ns + stall_ns
                } else {
                    nominal
                }
            }
            _ => nominal,
        }
    }

    /// The next frame and its intended time, without encoding it.
    pub fn next_frame(&mut self) -> Option<(u64, RawFrame)> {
        if self.opts.max_frames.is_some_and(|m| self.index >= m) {
            return None;
        }
        let mut frame = self.sensors.step(self.opts.frame_period_ms / 1000.0);
        if self.stamp_seq {
            frame.set_seq(self.index as u32);
        }
        let at = self.emit_time_ns(self.index);
        self.index += 1;
        Some((at, frame))
    }
}

impl Source for SynthSource {
    fn next_piece(&mut self) -> anyhow::Result<Option<Piece>> {
        let seq = (self.index % (1 << 20)) as u32;
        let stamp = self.stamp_seq;
        Ok(self.next_frame().map(|(at_ns, frame)| {
            let mut bytes = Vec::with_capacity(80);
            encode_frame(&frame, &mut bytes);
            Piece {
                at_ns,
                bytes,
                frame_end: stamp.then_some(seq),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::FrameDecoder;
    use crate::protocol::normalise::{normalise, Orientation, TempUnits};

    fn frames(opts: SynthOptions, n: usize) -> Vec<(u64, RawFrame)> {
        let mut s = SynthSource::new(opts, false);
        (0..n).map(|_| s.next_frame().unwrap()).collect()
    }

    #[test]
    fn deterministic_per_seed_and_different_across_seeds() {
        let a = frames(SynthOptions::default(), 500);
        let b = frames(SynthOptions::default(), 500);
        assert_eq!(a, b);
        let c = frames(
            SynthOptions {
                seed: 2,
                ..Default::default()
            },
            500,
        );
        assert_ne!(a, c);
    }

    #[test]
    fn frames_are_valid_in_range_and_on_schedule() {
        let fs = frames(SynthOptions::default(), 40 * 120);
        let mut bytes = Vec::new();
        for (i, (at, f)) in fs.iter().enumerate() {
            assert_eq!(*at, i as u64 * 25_000_000);
            encode_frame(f, &mut bytes);
            let v = &f.values;
            assert!(v[..4].iter().all(|b| *b == 0 || *b == 1));
            assert!((0..=1023).contains(&v[4]) && (0..=1023).contains(&v[5]));
            assert!((-50..=449).contains(&v[6]));
            assert!((0..=1023).contains(&v[7]));
            assert!(v[8] == 0 || v[8] == 1023);
            assert!((-512..=511).contains(&v[9]) && (-512..=511).contains(&v[10]));
            assert!(v[11..14].iter().all(|a| (-320..=320).contains(a)));
            assert!((0..=1023).contains(&v[14]) && (0..=1023).contains(&v[15]));
        }
        let mut d = FrameDecoder::new();
        let mut n = 0;
        d.feed(&bytes, |_| n += 1);
        assert_eq!(n, fs.len());
        assert_eq!(d.stats().rejected_bytes, 0);
    }

    #[test]
    fn the_board_actually_does_things() {
        let fs = frames(SynthOptions::default(), 40 * 120);
        let status: Vec<_> = fs
            .iter()
            .map(|(_, f)| normalise(f, Orientation::JoystickOnLeft, TempUnits::Celsius))
            .collect();
        let any = |i: usize, pred: &dyn Fn(i32) -> bool| status.iter().any(|s| pred(s.values[i]));
        assert!((0..4).any(|b| any(b, &|v| v == 1)), "some button pressed");
        assert!(any(9, &|v| v.abs() > 150), "joystick pushed");
        assert!(any(7, &|v| v > 300), "a clap");
        let light: Vec<i32> = status.iter().map(|s| s.values[5]).collect();
        let spread = light.iter().max().unwrap() - light.iter().min().unwrap();
        assert!(spread > 50, "light drifts: {spread}");
        let sliders: std::collections::HashSet<i32> = status.iter().map(|s| s.values[4]).collect();
        assert!(sliders.len() > 20, "slider moves");
    }

    #[test]
    fn stamped_frames_carry_their_index() {
        let mut s = SynthSource::new(SynthOptions::default(), true);
        for i in 0..100u32 {
            let p = s.next_piece().unwrap().unwrap();
            assert_eq!(p.frame_end, Some(i));
            let mut d = FrameDecoder::new();
            let mut seq = None;
            d.feed(&p.bytes, |f| seq = Some(f.seq()));
            assert_eq!(seq, Some(i));
        }
    }

    #[test]
    fn stalls_release_back_to_back_bursts() {
        let opts = SynthOptions {
            bursts: Some(BurstOptions {
                every_s: 1.0,
                stall_ms: 300,
            }),
            ..Default::default()
        };
        let fs = frames(opts, 200);
        // Frames nominally at 1.000 .. 1.275 s all go out at 1.3 s (12 of them).
        let at_1300: Vec<_> = fs.iter().filter(|(t, _)| *t == 1_300_000_000).collect();
        assert_eq!(at_1300.len(), 13, "12 stalled + the one due at 1.3 s");
        assert!(
            fs.windows(2).all(|w| w[0].0 <= w[1].0),
            "times never go back"
        );
        assert!(fs
            .iter()
            .all(|(t, _)| !(1_000_000_000..1_300_000_000).contains(t)));
    }

    #[test]
    fn max_frames_ends_the_stream() {
        let mut s = SynthSource::new(
            SynthOptions {
                max_frames: Some(3),
                ..Default::default()
            },
            false,
        );
        assert_eq!((0..10).filter_map(|_| s.next_piece().unwrap()).count(), 3);
    }
}
