//! Host-to-board commands of sketch v1.00: one ASCII letter, then a decimal number for the
//! commands that take one, and no terminator.
//!
//! The board side is decoded the way the sketch's `loop()` + `Serial.parseInt()` read it:
//! a byte that is not a command letter is read and dropped; after a numeric command's letter
//! `parseInt` discards anything up to the first digit or `-`, reads digits, and ends at the
//! first non-digit (which the loop then reads as the next command) or when no byte comes for
//! its timeout. [`CommandDecoder::flush`] is that timeout.
//!
//! Because v1 commands have no terminator, every numeric command costs the board the whole
//! timeout unless another byte follows. The sketch ignores `\n` (it is no command letter and
//! ends `parseInt` at once), so the bridge may end numeric commands with
//! [`COMMAND_TERMINATOR`] and the board behaves exactly the same, only without the wait.

use serde::Serialize;
use std::io::Write;

/// The byte the bridge may send after a numeric command: the v1 sketch's `parseCommand()`
/// switch has no case for it (so it is read and dropped), and `parseInt()` stops at it.
pub(crate) const COMMAND_TERMINATOR: u8 = b'\n';

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

    /// True for the commands the sketch reads a number for (and so waits in `parseInt`).
    pub(crate) fn takes_number(&self) -> bool {
        !matches!(
            self,
            Command::Start | Command::Stop | Command::Dump | Command::Version
        )
    }

    /// The command's bytes as a string, for logs and messages.
    pub fn to_wire_string(&self) -> String {
        let mut out = Vec::new();
        self.encode(&mut out);
        String::from_utf8(out).expect("commands are ASCII")
    }
}

/// The note words of `/play_tone/{note}` and their tone frequencies in Hz, as esp4s maps
/// them: the one table the bridge's routes and the driver's expected bytes both read.
pub(crate) const NOTES: &[(&str, u32)] = &[
    ("C", 523),
    ("C_Sharp--D_Flat", 554),
    ("D", 587),
    ("D_Sharp--E_Flat", 622),
    ("E", 659),
    ("F", 698),
    ("F_Sharp--G_Flat", 740),
    ("G", 783),
    ("G_Sharp--A_Flat", 831),
    ("A", 880),
    ("A_Sharp--B_Flat", 932),
    ("B", 958),
    ("Note_Off", 0),
];

/// Tone frequency in Hz for a `/play_tone/{note}` word (`C` → 523 ... `Note_Off` → 0).
pub(crate) fn note_hz(name: &str) -> Option<u32> {
    NOTES.iter().find(|(n, _)| *n == name).map(|&(_, hz)| hz)
}

/// What the board made of the bytes it read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct CommandStats {
    /// Commands carried out.
    pub commands: u64,
    /// Bytes the sketch read and dropped: anything that is not a command letter, and what
    /// `parseInt` skips before the first digit (except the space of `L 1`, which is part of
    /// the protocol, and terminators, counted apart).
    pub rejected_bytes: u64,
    /// [`COMMAND_TERMINATOR`] bytes read and dropped (one per numeric command when the bridge
    /// ends commands with it).
    pub terminators: u64,
    /// Numeric commands ended by the `parseInt` timeout rather than by a following byte
    /// (each one froze the real sketch for the whole timeout).
    pub timed_out: u64,
    /// Numeric commands whose value did not fit the sketch's argument type and was applied
    /// modulo 2⁸ (LEDs, TinkerKit) or 2¹⁶ (tone), as the board does (e.g. `R-5` → 251).
    pub wrapped: u64,
}

/// Where the sketch is in reading a numeric command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseInt {
    /// Waiting for the first digit or `-`; other bytes are discarded.
    Seeking { letter: u8 },
    /// Reading digits (the first byte may have been `-`).
    Digits {
        letter: u8,
        negative: bool,
        /// The AVR's 32-bit `long`, which wraps on overflow.
        value: i32,
    },
}

/// Incremental decoder for the board side, behaving like the sketch's `Serial.read()` +
/// `parseInt()` loop (see the module doc); it never allocates.
#[derive(Debug, Clone, Default)]
pub struct CommandDecoder {
    pending: Option<ParseInt>,
    stats: CommandStats,
}

impl CommandDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn stats(&self) -> &CommandStats {
        &self.stats
    }

    /// True while the sketch would be inside `parseInt()`: a numeric command's letter was
    /// read and the number is not finished (the real board sends no frames meanwhile).
    pub(crate) fn pending(&self) -> bool {
        self.pending.is_some()
    }

    /// True once `parseInt` has started reading the number (a digit or `-`): the next
    /// non-digit byte completes the command instead of being skipped.
    pub(crate) fn pending_has_digits(&self) -> bool {
        matches!(self.pending, Some(ParseInt::Digits { .. }))
    }

    /// Decodes `bytes`, calling `on_cmd` for each command completed by them.
    pub fn feed(&mut self, bytes: &[u8], mut on_cmd: impl FnMut(Command)) {
        for &b in bytes {
            match self.pending {
                Some(ParseInt::Seeking { letter }) => {
                    if b == b'-' || b.is_ascii_digit() {
                        self.pending = Some(ParseInt::Digits {
                            letter,
                            negative: b == b'-',
                            value: digit(b).unwrap_or(0),
                        });
                    } else if b != b' ' {
                        // peekNextDigit() reads and drops it, and keeps waiting.
                        self.stats.rejected_bytes += 1;
                    }
                }
                Some(ParseInt::Digits {
                    letter,
                    negative,
                    value,
                }) => match digit(b) {
                    Some(d) => {
                        self.pending = Some(ParseInt::Digits {
                            letter,
                            negative,
                            value: value.wrapping_mul(10).wrapping_add(d),
                        });
                    }
                    None => {
                        // parseInt() only peeked at it: it ends the number and is then read
                        // by the loop as the next command.
                        self.complete(&mut on_cmd);
                        self.start(b, &mut on_cmd);
                    }
                },
                None => self.start(b, &mut on_cmd),
            }
        }
    }

    /// The `parseInt()` timeout: completes a pending numeric command with what it has (0 if
    /// no digit came, as `parseInt` returns on a timeout).
    pub fn flush(&mut self, mut on_cmd: impl FnMut(Command)) {
        if self.pending.is_some() {
            self.stats.timed_out += 1;
            self.complete(&mut on_cmd);
        }
    }

    fn complete(&mut self, on_cmd: &mut impl FnMut(Command)) {
        let (letter, value) = match self.pending.take() {
            None => return,
            Some(ParseInt::Seeking { letter }) => (letter, 0),
            Some(ParseInt::Digits {
                letter,
                negative,
                value,
            }) => (
                letter,
                if negative {
                    value.wrapping_neg()
                } else {
                    value
                },
            ),
        };
        // The sketch's argument types: `byte` / `analogWrite` duty (8 bits), `unsigned int`
        // tone frequency (16 bits), and `L` turns any non-zero value into 1.
        let byte = value as u8;
        let (cmd, fits) = match letter {
            b'R' => (Command::Red(byte), i32::from(byte) == value),
            b'G' => (Command::Green(byte), i32::from(byte) == value),
            b'B' => (Command::Blue(byte), i32::from(byte) == value),
            b'Y' => (Command::TinkerA(byte), i32::from(byte) == value),
            b'Z' => (Command::TinkerB(byte), i32::from(byte) == value),
            b'T' => {
                let hz = value as u16;
                (Command::Tone(u32::from(hz)), i32::from(hz) == value)
            }
            _ => (Command::BoardLed(value != 0), true),
        };
        if !fits {
            self.stats.wrapped += 1;
        }
        self.stats.commands += 1;
        on_cmd(cmd);
    }

    fn start(&mut self, b: u8, on_cmd: &mut impl FnMut(Command)) {
        let simple = match b {
            b'C' => Command::Start,
            b'S' => Command::Stop,
            b'D' => Command::Dump,
            b'V' => Command::Version,
            b'R' | b'G' | b'B' | b'T' | b'L' | b'Y' | b'Z' => {
                self.pending = Some(ParseInt::Seeking { letter: b });
                return;
            }
            COMMAND_TERMINATOR => {
                self.stats.terminators += 1;
                return;
            }
            _ => {
                // No case in the sketch's switch: read and ignored.
                self.stats.rejected_bytes += 1;
                return;
            }
        };
        self.stats.commands += 1;
        on_cmd(simple);
    }
}

fn digit(b: u8) -> Option<i32> {
    b.is_ascii_digit().then(|| i32::from(b - b'0'))
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

    /// Feeds everything, then lets the parseInt timeout expire.
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
        let numeric: Vec<bool> = all_commands().iter().map(|c| c.takes_number()).collect();
        assert_eq!(numeric[..4], [false; 4]);
        assert!(numeric[4..].iter().all(|&n| n));
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
        assert_eq!(d.stats().timed_out, 1, "only the last one waited");
    }

    #[test]
    fn the_terminator_ends_parseint_at_once_and_is_dropped() {
        let mut d = CommandDecoder::new();
        let mut out = Vec::new();
        d.feed(b"R100\nL 1\n", |c| out.push(c));
        assert!(!d.pending(), "no wait for the timeout");
        assert_eq!(out, [Command::Red(100), Command::BoardLed(true)]);
        let s = d.stats();
        assert_eq!((s.terminators, s.rejected_bytes, s.timed_out), (2, 0, 0));
    }

    #[test]
    fn what_esp4s_forwards_raw_is_read_as_the_sketch_reads_it() {
        // `/leds/Red/255.75`: parseInt stops at `.`; `.`, `7`, `5` are no command letters.
        let (cmds, s) = decode(b"R255.75");
        assert_eq!(cmds, [Command::Red(255)]);
        assert_eq!((s.rejected_bytes, s.timed_out, s.wrapped), (3, 0, 0));
        // Negative and too large values wrap in the sketch's `byte` / `unsigned int`.
        let (cmds, s) = decode(b"R-5\nG300\nT-1\nT70000\nY256\n");
        assert_eq!(
            cmds,
            [
                Command::Red(251),
                Command::Green(44),
                Command::Tone(65_535),
                Command::Tone(70_000 - 65_536),
                Command::TinkerA(0)
            ]
        );
        assert_eq!(s.wrapped, 5);
        // `L` is on for any non-zero value; `--5` is `-` then a non-digit: 0.
        let (cmds, _) = decode(b"L 7\nL-2\nR--5\n");
        assert_eq!(
            cmds,
            [
                Command::BoardLed(true),
                Command::BoardLed(true),
                Command::Red(0)
            ]
        );
    }

    #[test]
    fn parseint_skips_to_the_first_digit_and_times_out_to_zero() {
        // After `R`, parseInt discards anything up to a digit, command letters included.
        let (cmds, s) = decode(b"RxG5");
        assert_eq!(cmds, [Command::Red(5)]);
        assert_eq!(s.rejected_bytes, 2);
        // No digit before the timeout: parseInt returns 0.
        let (cmds, s) = decode(b"B");
        assert_eq!(cmds, [Command::Blue(0)]);
        assert_eq!(s.timed_out, 1);
        // Unknown bytes between commands are read and dropped.
        let (cmds, s) = decode(b"\xff hello C\r\n");
        assert_eq!(cmds, [Command::Start]);
        assert_eq!((s.rejected_bytes, s.terminators), (9, 1));
        // The 32-bit `long` wraps instead of failing.
        let (cmds, _) = decode(b"T99999999999999999999\n");
        assert_eq!(cmds.len(), 1);
    }

    #[test]
    fn note_names() {
        let words = [
            ("C", Some(523)),
            ("F_Sharp--G_Flat", Some(740)),
            ("B", Some(958)),
            ("Note_Off", Some(0)),
            ("H", None),
        ];
        for (name, hz) in words {
            assert_eq!(note_hz(name), hz, "{name}");
        }
        assert_eq!(NOTES.len(), 13, "twelve semitones and Note_Off");
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
            any::<u16>().prop_map(|hz| Command::Tone(u32::from(hz))),
            any::<bool>().prop_map(Command::BoardLed),
            any::<u8>().prop_map(Command::TinkerA),
            any::<u8>().prop_map(Command::TinkerB),
        ]
    }

    proptest! {
        #[test]
        fn round_trip_any_chunking(
            cmds in proptest::collection::vec(arb_command(), 0..30),
            cut in 0usize..200,
            terminated in any::<bool>(),
        ) {
            let mut bytes = Vec::new();
            for c in &cmds {
                c.encode(&mut bytes);
                if terminated && c.takes_number() {
                    bytes.push(COMMAND_TERMINATOR);
                }
            }
            let mut d = CommandDecoder::new();
            let mut out = Vec::new();
            let (a, b) = bytes.split_at(cut.min(bytes.len()));
            d.feed(a, |c| out.push(c));
            d.feed(b, |c| out.push(c));
            prop_assert_eq!(d.pending(), !terminated && cmds.last().is_some_and(|c| c.takes_number()));
            d.flush(|c| out.push(c));
            prop_assert_eq!(out, cmds);
            prop_assert_eq!(d.stats().rejected_bytes, 0);
            prop_assert_eq!(d.stats().wrapped, 0);
        }

        #[test]
        fn never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
            let (_, s) = decode(&bytes);
            prop_assert!(s.rejected_bytes + s.terminators <= bytes.len() as u64);
        }
    }
}
