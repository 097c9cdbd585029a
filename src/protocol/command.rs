//! Host-to-board commands of sketch v1.00: one ASCII letter, then a decimal number for the
//! commands that take one, and no terminator.
//!
//! Because there is no terminator, the board's `parseInt()` only knows a number has ended when
//! a non-digit arrives or its timeout expires; `CommandDecoder::flush` is that timeout.

use serde::Serialize;
use std::io::Write;

/// One v1 command, as the bridge sends it and the virtual board receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Command {
    /// `C`: start streaming frames.
    Start,
    /// `S`: stop streaming.
    Stop,
    /// `D`: send one frame now.
    Dump,
    /// `V`: answer the sketch version.
    Version,
    Red(u8),
    Green(u8),
    Blue(u8),
    /// `T<Hz>`, 0 = silence.
    Tone(u32),
    /// `L 1` / `L 0`: the board LED on pin 13.
    BoardLed(bool),
    TinkerA(u8),
    TinkerB(u8),
}

impl Command {
    /// Appends the exact bytes the v1 sketch expects (`C`, `R100`, `L 1`, `T0`, ...).
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = match *self {
            Command::Start => write!(out, "C"),
            Command::Stop => write!(out, "S"),
            Command::Dump => write!(out, "D"),
            Command::Version => write!(out, "V"),
            Command::Red(v) => write!(out, "R{v}"),
            Command::Green(v) => write!(out, "G{v}"),
            Command::Blue(v) => write!(out, "B{v}"),
            Command::Tone(hz) => write!(out, "T{hz}"),
            Command::BoardLed(on) => write!(out, "L {}", u8::from(on)),
            Command::TinkerA(v) => write!(out, "Y{v}"),
            Command::TinkerB(v) => write!(out, "Z{v}"),
        };
    }

    /// The command's bytes as a string, for logs and messages.
    pub fn to_wire_string(&self) -> String {
        let mut out = Vec::new();
        self.encode(&mut out);
        String::from_utf8(out).expect("commands are ASCII")
    }
}

/// Tone frequency in Hz for a `/play_tone/{note}` word (`C` → 523 ... `Note_Off` → 0).
pub fn note_hz(name: &str) -> Option<u32> {
    Some(match name {
        "C" => 523,
        "C_Sharp--D_Flat" => 554,
        "D" => 587,
        "D_Sharp--E_Flat" => 622,
        "E" => 659,
        "F" => 698,
        "F_Sharp--G_Flat" => 740,
        "G" => 783,
        "G_Sharp--A_Flat" => 831,
        "A" => 880,
        "A_Sharp--B_Flat" => 932,
        "B" => 958,
        "Note_Off" => 0,
        _ => return None,
    })
}

/// What the command decoder accepted and rejected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommandStats {
    pub commands: u64,
    /// Numeric commands with no digits, or a value out of range (e.g. `R300`, `L 2`).
    pub rejected_commands: u64,
    /// Bytes that were not part of an accepted command.
    pub rejected_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    letter: u8,
    value: Option<u64>,
    len: u64,
}

/// Incremental decoder for the board side, behaving like the sketch's `Serial.read()` +
/// `parseInt()` loop: a numeric command completes at the first non-digit after its digits
/// (which is then read as the next command) or at `flush`.
#[derive(Debug, Clone, Default)]
pub struct CommandDecoder {
    pending: Option<Pending>,
    stats: CommandStats,
}

impl CommandDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> &CommandStats {
        &self.stats
    }

    /// True while a numeric command waits for more digits or for `flush`.
    pub fn pending(&self) -> bool {
        self.pending.is_some()
    }

    /// True once a numeric command has at least one digit, i.e. `flush` would complete it.
    pub fn pending_has_digits(&self) -> bool {
        self.pending.is_some_and(|p| p.value.is_some())
    }

    /// Decodes `bytes`, calling `on_cmd` for each command completed by them.
    pub fn feed(&mut self, bytes: &[u8], mut on_cmd: impl FnMut(Command)) {
        for &b in bytes {
            if let Some(p) = &mut self.pending {
                if b.is_ascii_digit() {
                    // Saturate far above any valid value so overflow is rejected, not wrapped.
                    let v = p.value.unwrap_or(0) * 10 + u64::from(b - b'0');
                    p.value = Some(v.min(u64::from(u32::MAX) + 1));
                    p.len += 1;
                    continue;
                }
                if b == b' ' && p.value.is_none() {
                    // parseInt skips leading non-digits; `L 1` relies on it.
                    p.len += 1;
                    continue;
                }
                self.flush(&mut on_cmd);
            }
            self.start(b, &mut on_cmd);
        }
    }

    /// Completes a pending numeric command, as the sketch's `parseInt()` timeout does.
    pub fn flush(&mut self, mut on_cmd: impl FnMut(Command)) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let cmd = p.value.and_then(|v| {
            let byte = u8::try_from(v).ok();
            match p.letter {
                b'R' => byte.map(Command::Red),
                b'G' => byte.map(Command::Green),
                b'B' => byte.map(Command::Blue),
                b'Y' => byte.map(Command::TinkerA),
                b'Z' => byte.map(Command::TinkerB),
                b'T' => u32::try_from(v).ok().map(Command::Tone),
                b'L' => match v {
                    0 => Some(Command::BoardLed(false)),
                    1 => Some(Command::BoardLed(true)),
                    _ => None,
                },
                _ => None,
            }
        });
        match cmd {
            Some(cmd) => {
                self.stats.commands += 1;
                on_cmd(cmd);
            }
            None => {
                self.stats.rejected_commands += 1;
                self.stats.rejected_bytes += p.len;
            }
        }
    }

    fn start(&mut self, b: u8, on_cmd: &mut impl FnMut(Command)) {
        let simple = match b {
            b'C' => Some(Command::Start),
            b'S' => Some(Command::Stop),
            b'D' => Some(Command::Dump),
            b'V' => Some(Command::Version),
            b'R' | b'G' | b'B' | b'T' | b'L' | b'Y' | b'Z' => {
                self.pending = Some(Pending {
                    letter: b,
                    value: None,
                    len: 1,
                });
                return;
            }
            _ => None,
        };
        match simple {
            Some(cmd) => {
                self.stats.commands += 1;
                on_cmd(cmd);
            }
            None => self.stats.rejected_bytes += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_commands() -> Vec<Command> {
        vec![
            Command::Start,
            Command::Stop,
            Command::Dump,
            Command::Version,
            Command::Red(100),
            Command::Green(0),
            Command::Blue(255),
            Command::Tone(523),
            Command::Tone(0),
            Command::BoardLed(true),
            Command::BoardLed(false),
            Command::TinkerA(7),
            Command::TinkerB(200),
        ]
    }

    fn decode(bytes: &[u8]) -> (Vec<Command>, CommandStats) {
        let mut d = CommandDecoder::new();
        let mut out = Vec::new();
        d.feed(bytes, |c| out.push(c));
        d.flush(|c| out.push(c));
        (out, d.stats().clone())
    }

    #[test]
    fn exact_v1_bytes() {
        let wire: Vec<String> = all_commands().iter().map(|c| c.to_wire_string()).collect();
        assert_eq!(
            wire,
            ["C", "S", "D", "V", "R100", "G0", "B255", "T523", "T0", "L 1", "L 0", "Y7", "Z200"]
        );
    }

    #[test]
    fn back_to_back_commands_decode_and_the_last_needs_flush() {
        let mut bytes = Vec::new();
        for c in all_commands() {
            c.encode(&mut bytes);
        }
        let mut d = CommandDecoder::new();
        let mut out = Vec::new();
        d.feed(&bytes, |c| out.push(c));
        assert!(d.pending_has_digits());
        assert_eq!(out.len(), all_commands().len() - 1);
        d.flush(|c| out.push(c));
        assert_eq!(out, all_commands());
        assert_eq!(d.stats().rejected_bytes, 0);
    }

    #[test]
    fn bad_commands_are_counted() {
        let (cmds, s) = decode(b"R300xL 2G\r\nR5");
        assert_eq!(cmds, vec![Command::Red(5)]);
        // R300 (4 bytes), x, L 2 (3 bytes), G (no digits), \r, \n
        assert_eq!(s.rejected_commands, 3);
        assert_eq!(s.rejected_bytes, 4 + 1 + 3 + 1 + 2);
        let (cmds, s) = decode(b"T99999999999999999999");
        assert!(cmds.is_empty());
        assert_eq!(s.rejected_commands, 1);
    }

    #[test]
    fn note_names() {
        assert_eq!(note_hz("C"), Some(523));
        assert_eq!(note_hz("F_Sharp--G_Flat"), Some(740));
        assert_eq!(note_hz("B"), Some(958));
        assert_eq!(note_hz("Note_Off"), Some(0));
        assert_eq!(note_hz("H"), None);
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        prop_oneof![
            Just(Command::Start),
            Just(Command::Stop),
            Just(Command::Dump),
            Just(Command::Version),
            any::<u8>().prop_map(Command::Red),
            any::<u8>().prop_map(Command::Green),
            any::<u8>().prop_map(Command::Blue),
            any::<u32>().prop_map(Command::Tone),
            any::<bool>().prop_map(Command::BoardLed),
            any::<u8>().prop_map(Command::TinkerA),
            any::<u8>().prop_map(Command::TinkerB),
        ]
    }

    proptest! {
        #[test]
        fn round_trip_any_chunking(cmds in proptest::collection::vec(arb_command(), 0..30), cut in 0usize..200) {
            let mut bytes = Vec::new();
            for c in &cmds {
                c.encode(&mut bytes);
            }
            let mut d = CommandDecoder::new();
            let mut out = Vec::new();
            let (a, b) = bytes.split_at(cut.min(bytes.len()));
            d.feed(a, |c| out.push(c));
            d.feed(b, |c| out.push(c));
            d.flush(|c| out.push(c));
            prop_assert_eq!(out, cmds);
            prop_assert_eq!(d.stats().rejected_bytes, 0);
        }

        #[test]
        fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
            let (_, s) = decode(&bytes);
            prop_assert!(s.rejected_bytes <= bytes.len() as u64);
        }
    }
}
