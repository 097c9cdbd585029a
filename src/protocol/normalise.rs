//! Host-side normalisation exactly as esp4s does it: raw frame values become the 16 numbers
//! Scratch sees, depending on how the board is held and which temperature unit was chosen.

use super::frame::RawFrame;
use std::fmt;
use std::str::FromStr;

/// The `/poll` keys in the order esp4s answers them (same order as the wire fields).
pub const POLL_KEYS: [&str; 16] = [
    "buttons/Down",
    "buttons/Left",
    "buttons/Up",
    "buttons/Right",
    "slider",
    "light",
    "temp",
    "sound",
    "joystick/Button",
    "joystick/Left-Right_(X)",
    "joystick/Up-Down_(Y)",
    "accel/X__Side-Twist",
    "accel/Y__Front-Twist",
    "accel/Z__Raise-Lower",
    "tkInput/A",
    "tkInput/B",
];

/// How the board is held, chosen with `/orientation/{word}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    #[default]
    JoystickOnLeft,
    /// Board turned round: Up/Down and Left/Right buttons swap.
    JoystickOnRight,
}

/// Temperature unit, chosen with `/temp_units/{word}`; the board always sends Celsius.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TempUnits {
    #[default]
    Celsius,
    Fahrenheit,
}

/// A route word that is not one of the accepted spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what, self.word)
    }
}

impl std::error::Error for UnknownWord {}

impl FromStr for Orientation {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Joystick_On_Left" => Ok(Orientation::JoystickOnLeft),
            "Joystick_On_Right" => Ok(Orientation::JoystickOnRight),
            _ => Err(UnknownWord {
                what: "orientation",
                word: s.to_string(),
            }),
        }
    }
}

impl FromStr for TempUnits {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Celsius" => Ok(TempUnits::Celsius),
            "Fahrenheit" => Ok(TempUnits::Fahrenheit),
            _ => Err(UnknownWord {
                what: "temperature unit",
                word: s.to_string(),
            }),
        }
    }
}

/// The 16 values Scratch sees, in `POLL_KEYS` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Status {
    pub values: [i32; 16],
}

/// Turns a raw frame into what Scratch sees (`ESPLORA.md` section 2).
pub fn normalise(raw: &RawFrame, orientation: Orientation, units: TempUnits) -> Status {
    let r = &raw.values;
    let pressed = |v: i32| i32::from(v == 0);
    let (mut down, mut left, mut up, mut right) =
        (pressed(r[0]), pressed(r[1]), pressed(r[2]), pressed(r[3]));
    if orientation == Orientation::JoystickOnRight {
        std::mem::swap(&mut down, &mut up);
        std::mem::swap(&mut left, &mut right);
    }
    let temp = match units {
        TempUnits::Celsius => r[6],
        // Rounded to the nearest degree; the board's own resolution is 1 °C.
        TempUnits::Fahrenheit => (f64::from(r[6]) * 9.0 / 5.0 + 32.0).round() as i32,
    };
    Status {
        values: [
            down,
            left,
            up,
            right,
            1023 - r[4],
            r[5],
            temp,
            r[7],
            i32::from(r[8] <= 10),
            r[9].saturating_neg(),
            r[10].saturating_neg(),
            r[11].saturating_neg(),
            r[12].saturating_neg(),
            r[13],
            r[14],
            r[15],
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::FrameDecoder;

    pub(crate) const CAPTURED: &[u8] =
        b"ESP,1,1,1,1,430,973,17,0,1023,-1,3,17,21,157,376,8,PSE\r\n";

    fn captured() -> RawFrame {
        let mut d = FrameDecoder::new();
        let mut out = None;
        d.feed(CAPTURED, |f| out = Some(f));
        out.unwrap()
    }

    #[test]
    fn captured_frame_gives_exactly_the_documented_poll_values() {
        let s = normalise(&captured(), Orientation::JoystickOnLeft, TempUnits::Celsius);
        let expected = [0, 0, 0, 0, 593, 973, 17, 0, 0, 1, -3, -17, -21, 157, 376, 8];
        assert_eq!(s.values, expected);
    }

    #[test]
    fn buttons_joystick_switch_orientation_and_fahrenheit() {
        let mut raw = captured();
        raw.values[0] = 0; // Down pressed
        raw.values[1] = 0; // Left pressed
        raw.values[8] = 5; // joystick pressed (≤ 10)
        raw.values[6] = -40;
        let left = normalise(&raw, Orientation::JoystickOnLeft, TempUnits::Fahrenheit);
        assert_eq!(&left.values[..4], &[1, 1, 0, 0]);
        assert_eq!(left.values[8], 1);
        assert_eq!(left.values[6], -40);
        let right = normalise(&raw, Orientation::JoystickOnRight, TempUnits::Celsius);
        assert_eq!(&right.values[..4], &[0, 0, 1, 1]);
        raw.values[6] = 17;
        let f = normalise(&raw, Orientation::JoystickOnLeft, TempUnits::Fahrenheit);
        assert_eq!(f.values[6], 63); // 62.6 °F
    }

    #[test]
    fn route_words_parse_and_unknown_words_are_named() {
        assert_eq!(
            "Joystick_On_Right".parse::<Orientation>(),
            Ok(Orientation::JoystickOnRight)
        );
        assert_eq!("Fahrenheit".parse::<TempUnits>(), Ok(TempUnits::Fahrenheit));
        let e = "Kelvin".parse::<TempUnits>().unwrap_err();
        assert_eq!(e.to_string(), "unknown temperature unit \"Kelvin\"");
        assert!("joystick_on_left".parse::<Orientation>().is_err());
    }
}
