//! Host-side normalisation exactly as esp4s does it: raw frame values become the 16 numbers
//! Scratch sees, depending on how the board is held and which temperature unit was chosen.

use super::frame::RawFrame;
use std::fmt;
use std::str::FromStr;

/// The `/poll` keys in the order esp4s answers them (same order as the wire fields).
pub(crate) const POLL_KEYS: [&str; 16] = [
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

impl UnknownWord {
    /// The value `word` names in `spellings`, or the error naming `what` was expected.
    fn parse<T: Copy>(what: &'static str, spellings: &[(&str, T)], word: &str) -> Result<T, Self> {
        spellings
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, v)| *v)
            .ok_or_else(|| UnknownWord {
                what,
                word: word.to_string(),
            })
    }
}

/// `FromStr` for a route's menu enum: the words it accepts, each with its value, and what
/// the error calls the menu.
macro_rules! from_menu_words {
    ($ty:ty, $what:literal, [$($word:literal => $value:expr),+ $(,)?]) => {
        impl FromStr for $ty {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                UnknownWord::parse($what, &[$(($word, $value)),+], s)
            }
        }
    };
}

from_menu_words!(Orientation, "orientation", [
    "Joystick_On_Left" => Orientation::JoystickOnLeft,
    "Joystick_On_Right" => Orientation::JoystickOnRight,
]);
from_menu_words!(TempUnits, "temperature unit", [
    "Celsius" => TempUnits::Celsius,
    "Fahrenheit" => TempUnits::Fahrenheit,
]);

/// The 16 values Scratch sees, in `POLL_KEYS` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Status {
    pub values: [i32; 16],
}

/// Turns a raw frame into what Scratch sees, as esp4s does (`docs/protocol.md` section 2):
/// buttons inverted (1 = pressed), the joystick switch pressed at ≤ 10, accelerometer X and Y
/// negated. Held with the joystick on the left (the default), the slider is turned round so
/// full left reads 0 and joystick X/Y are negated; held the other way round those stay raw
/// and Up/Down, Left/Right swap.
pub fn normalise(raw: &RawFrame, orientation: Orientation, units: TempUnits) -> Status {
    let r = &raw.values;
    let pressed = |v: i32| i32::from(v == 0);
    let (mut down, mut left, mut up, mut right) =
        (pressed(r[0]), pressed(r[1]), pressed(r[2]), pressed(r[3]));
    let (slider, joy_x, joy_y) = match orientation {
        // esp4s: `abs(1023 - raw)`; the sum is done in i64 so no frame value can overflow.
        Orientation::JoystickOnLeft => (
            saturate((1023 - i64::from(r[4])).abs()),
            r[9].saturating_neg(),
            r[10].saturating_neg(),
        ),
        Orientation::JoystickOnRight => {
            std::mem::swap(&mut down, &mut up);
            std::mem::swap(&mut left, &mut right);
            (r[4], r[9], r[10])
        }
    };
    Status {
        values: [
            down,
            left,
            up,
            right,
            slider,
            r[5],
            temperature(r[6], units),
            r[7],
            i32::from(r[8] <= 10),
            joy_x,
            joy_y,
            r[11].saturating_neg(),
            r[12].saturating_neg(),
            r[13],
            r[14],
            r[15],
        ],
    }
}

/// The board's whole degrees Celsius in the chosen unit.
///
/// Fahrenheit is esp4s's `(C*9)/5+32` in Python 2 integer arithmetic, i.e. rounded *down*
/// (17 °C → 62 °F, where 62.6 would round to 63): a project moved from esp4s to esbench shows
/// the same number, and the error (under 1 °F) is smaller than the sensor's own 1 °C step.
pub(crate) fn temperature(celsius: i32, units: TempUnits) -> i32 {
    match units {
        TempUnits::Celsius => celsius,
        TempUnits::Fahrenheit => saturate((i64::from(celsius) * 9).div_euclid(5) + 32),
    }
}

fn saturate(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
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
    fn buttons_and_joystick_switch() {
        let mut raw = captured();
        raw.values[0] = 0; // Down pressed
        raw.values[1] = 0; // Left pressed
        raw.values[8] = 5; // joystick pressed (≤ 10)
        let left = normalise(&raw, Orientation::JoystickOnLeft, TempUnits::Celsius);
        assert_eq!(&left.values[..4], &[1, 1, 0, 0]);
        assert_eq!(left.values[8], 1);
        raw.values[8] = 11;
        let s = normalise(&raw, Orientation::JoystickOnLeft, TempUnits::Celsius);
        assert_eq!(s.values[8], 0);
    }

    #[test]
    fn joystick_on_right_swaps_buttons_and_leaves_slider_and_joystick_raw() {
        let mut raw = captured();
        raw.values[0] = 0; // Down pressed
        raw.values[1] = 0; // Left pressed
        let s = normalise(&raw, Orientation::JoystickOnRight, TempUnits::Celsius);
        assert_eq!(&s.values[..4], &[0, 0, 1, 1], "Up/Down and Left/Right swap");
        assert_eq!(s.values[4], 430, "slider as the board sends it");
        assert_eq!((s.values[9], s.values[10]), (-1, 3), "joystick X/Y raw");
        assert_eq!(
            (s.values[11], s.values[12], s.values[13]),
            (-17, -21, 157),
            "accelerometer as with the joystick on the left"
        );
        let l = normalise(&raw, Orientation::JoystickOnLeft, TempUnits::Celsius);
        assert_eq!(&l.values[..4], &[1, 1, 0, 0]);
        assert_eq!((l.values[4], l.values[9], l.values[10]), (593, 1, -3));
    }

    #[test]
    fn fahrenheit_is_esp4s_integer_arithmetic_rounded_down() {
        // (C*9)/5+32 with floor division, exactly as Python 2 computes it.
        for (c, f) in [
            (17, 62),
            (0, 32),
            (-40, -40),
            (-1, 30),
            (-2, 28),
            (100, 212),
            (449, 840),
        ] {
            assert_eq!(temperature(c, TempUnits::Fahrenheit), f, "{c} °C");
            let floor = ((f64::from(c) * 9.0 / 5.0) + 32.0).floor() as i32;
            assert_eq!(f, floor, "{c} °C");
        }
        assert_eq!(temperature(17, TempUnits::Celsius), 17);
        let s = normalise(
            &captured(),
            Orientation::JoystickOnLeft,
            TempUnits::Fahrenheit,
        );
        assert_eq!(s.values[6], 62, "17 °C is 62.6 °F; esp4s shows 62");
    }

    #[test]
    fn extreme_raw_values_saturate_instead_of_overflowing() {
        let mut raw = captured();
        raw.values[4] = i32::MIN;
        raw.values[6] = i32::MAX;
        raw.values[9] = i32::MIN;
        let s = normalise(&raw, Orientation::JoystickOnLeft, TempUnits::Fahrenheit);
        assert_eq!(
            (s.values[4], s.values[6], s.values[9]),
            (i32::MAX, i32::MAX, i32::MAX)
        );
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
