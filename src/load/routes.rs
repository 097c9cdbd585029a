//! Which serial bytes a Scratch command route should make the bridge write to the board
//! (docs/protocol.md §3–4), so the driver can find each command it sent among the commands the
//! virtual board read and time it.

use crate::protocol::command::note_hz;

/// The v1 command bytes a route produces, or None for routes that write nothing to the board
/// (`/poll`, `/orientation/..`, `/temp_units/..`, unknown ones).
pub fn command_bytes(path: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let num = |s: &str| s.parse::<u32>().ok();
    let text = match parts.as_slice() {
        ["leds", colour, v] => {
            let letter = match *colour {
                "Red" => 'R',
                "Green" => 'G',
                "Blue" => 'B',
                _ => return None,
            };
            format!("{letter}{}", num(v)?.min(255))
        }
        ["board_led", "On"] => "L 1".into(),
        ["board_led", "Off"] => "L 0".into(),
        ["play_tone", note] => format!("T{}", note_hz(note)?),
        ["tone2", hz] => format!("T{}", num(hz)?),
        ["tinker_out", "A", v] => format!("Y{}", num(v)?.min(255)),
        ["tinker_out", "B", v] => format!("Z{}", num(v)?.min(255)),
        ["reset_all"] => "T0".into(),
        _ => return None,
    };
    Some(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_to_bytes() {
        assert_eq!(command_bytes("/leds/Red/100").unwrap(), b"R100");
        assert_eq!(command_bytes("/leds/Blue/0").unwrap(), b"B0");
        assert_eq!(command_bytes("/board_led/On").unwrap(), b"L 1");
        assert_eq!(command_bytes("/play_tone/A").unwrap(), b"T880");
        assert_eq!(command_bytes("/tone2/440").unwrap(), b"T440");
        assert_eq!(command_bytes("/tinker_out/B/7").unwrap(), b"Z7");
        assert_eq!(command_bytes("/reset_all").unwrap(), b"T0");
        assert_eq!(command_bytes("/poll"), None);
        assert_eq!(command_bytes("/leds/Pink/3"), None);
        assert_eq!(command_bytes("/orientation/Joystick_On_Right"), None);
    }
}
