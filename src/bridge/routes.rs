//! The Scratch 2.0 / Snap! route table (docs/protocol.md section 4) and command validation.
//!
//! Parsing is pure: a path becomes a [`Route`] or a [`RouteError`], and only a valid route
//! ever reaches the board, so a bad command is answered 400 with nothing written. Numbers are
//! taken as Scratch sends them (fractions, negatives, out of range: see
//! [`crate::protocol::scratch_number`]); only text that is no number, or a word outside a
//! block's menu, is refused.

use super::http::Response;
use crate::protocol::command::{note_hz, Command};
use crate::protocol::normalise::{Orientation, TempUnits};
use crate::protocol::poll::{value_index, BODY_END};
use crate::protocol::scratch_number::parse_clamped;

/// What a request path asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// `/poll`: the 16 status lines.
    Poll,
    /// A Snap! single-value read (`/slider`, `/buttons/Down`, ...): index into the status.
    Value(usize),
    /// A command for the board (`/leds/...`, `/board_led/...`, `/play_tone/...`, `/tone2/...`,
    /// `/tinker_out/...`).
    Command(Command),
    /// `/reset_all`: turns the tone off (`T0`).
    ResetAll,
    /// `/orientation/...`: host-side setting, nothing is sent.
    Orientation(Orientation),
    /// `/temp_units/...`: host-side setting, nothing is sent.
    TempUnits(TempUnits),
    /// `/crossdomain.xml`: the Flash socket policy Scratch 2.0 asks for.
    CrossDomain,
}

/// Why a path is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// 400: a known command route with a bad argument (the text says which and why).
    BadCommand(String),
    /// 404: no such route.
    NotFound(String),
}

impl RouteError {
    pub fn status(&self) -> u16 {
        match self {
            RouteError::BadCommand(_) => 400,
            RouteError::NotFound(_) => 404,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            RouteError::BadCommand(s) | RouteError::NotFound(s) => s,
        }
    }
}

/// Parses a decoded request path.
pub fn parse_route(path: &str) -> Result<Route, RouteError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let parts: Vec<&str> = trimmed.split('/').collect();
    let bad = |usage: &str| {
        Err(RouteError::BadCommand(format!(
            "bad command {path:?}; usage: {usage}"
        )))
    };
    match parts.as_slice() {
        ["poll"] => Ok(Route::Poll),
        ["crossdomain.xml"] => Ok(Route::CrossDomain),
        ["reset_all"] => Ok(Route::ResetAll),
        ["leds", colour, value] => {
            menu_command(LED_COLOURS, colour, value).map_or_else(|| bad(usage_of("leds")), Ok)
        }
        ["board_led", "On"] => Ok(Route::Command(Command::BoardLed(true))),
        ["board_led", "Off"] => Ok(Route::Command(Command::BoardLed(false))),
        ["play_tone", note] => match note_hz(note) {
            Some(hz) => Ok(Route::Command(Command::Tone(hz))),
            None => bad("/play_tone/{C|C_Sharp--D_Flat|D|...|B|Note_Off}"),
        },
        ["tone2", hz] => match parse_clamped(hz, 0, 65_535) {
            Some(hz) => Ok(Route::Command(Command::Tone(hz as u32))),
            None => bad("/tone2/{number of Hz, 0 = off}"),
        },
        ["tinker_out", pin, value] => {
            menu_command(TINKER_PINS, pin, value).map_or_else(|| bad(usage_of("tinker_out")), Ok)
        }
        ["orientation", o] => match o.parse::<Orientation>() {
            Ok(o) => Ok(Route::Orientation(o)),
            Err(_) => bad("/orientation/{Joystick_On_Left|Joystick_On_Right}"),
        },
        ["temp_units", u] => match u.parse::<TempUnits>() {
            Ok(u) => Ok(Route::TempUnits(u)),
            Err(_) => bad("/temp_units/{Celsius|Fahrenheit}"),
        },
        [first, ..] if COMMAND_ROUTES.contains(first) => bad(usage_of(first)),
        _ => match value_index(trimmed) {
            Some(i) => Ok(Route::Value(i)),
            None => Err(RouteError::NotFound(format!("no route {path:?}"))),
        },
    }
}

/// A route's menu: each word, and the command it makes of a 0-255 value.
type Menu = [(&'static str, fn(u8) -> Command)];

/// The menus of `/leds/{colour}/{0-255}` and `/tinker_out/{pin}/{0-255}`.
const LED_COLOURS: &Menu = &[
    ("Red", Command::Red),
    ("Green", Command::Green),
    ("Blue", Command::Blue),
];
const TINKER_PINS: &Menu = &[("A", Command::TinkerA), ("B", Command::TinkerB)];

/// The command `menu` names `word`, carrying `value` (0-255); None when the word is off the
/// menu or the value is no number.
fn menu_command(menu: &Menu, word: &str, value: &str) -> Option<Route> {
    let (_, command) = menu.iter().find(|(w, _)| *w == word)?;
    Some(Route::Command(command(parse_u8(value)?)))
}

const COMMAND_ROUTES: &[&str] = &[
    "leds",
    "board_led",
    "play_tone",
    "tone2",
    "tinker_out",
    "orientation",
    "temp_units",
    "reset_all",
    "poll",
];

fn usage_of(route: &str) -> &'static str {
    match route {
        "leds" => "/leds/{Red|Green|Blue}/{0-255}",
        "board_led" => "/board_led/{On|Off}",
        "play_tone" => "/play_tone/{note name}",
        "tone2" => "/tone2/{0-65535}",
        "tinker_out" => "/tinker_out/{A|B}/{0-255}",
        "orientation" => "/orientation/{Joystick_On_Left|Joystick_On_Right}",
        "temp_units" => "/temp_units/{Celsius|Fahrenheit}",
        "reset_all" => "/reset_all",
        _ => "/poll",
    }
}

/// An LED or TinkerKit value: any number, truncated and clamped to 0–255.
fn parse_u8(s: &str) -> Option<u8> {
    parse_clamped(s, 0, 255).map(|v| v as u8)
}

/// The Flash cross-domain policy, allowing any origin to talk to `port`: esp4s's text and
/// CRLF, with two faults left out (esp4s names the serial port in `to-ports` and ends with a
/// NUL byte, a leftover of Flash socket policy files).
pub(crate) fn crossdomain_xml(port: u16) -> Vec<u8> {
    let mut body = format!(
        "<cross-domain-policy>\n  <allow-access-from domain=\"*\" to-ports=\"{port}\"/>\n\
         </cross-domain-policy>\n"
    )
    .into_bytes();
    body.extend_from_slice(BODY_END);
    body
}

/// The answer to a CORS preflight (`OPTIONS`, any path): a page on another origin — Snap!
/// served over https, say — may then `GET` from the bridge. The headers that grant it
/// (including Chrome's `Access-Control-Allow-Private-Network` for a public page reaching
/// localhost) are [`PREFLIGHT_HEADERS`], added by the response writer to every 204.
pub(crate) fn preflight() -> Response {
    Response {
        status: 204,
        content_type: "text/plain; charset=utf-8",
        body: Vec::new(),
    }
}

/// The preflight grant: any origin, the methods the bridge answers, any request header,
/// private-network access, cached by the browser for ten minutes.
pub(crate) const PREFLIGHT_HEADERS: &str = "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n\
     Access-Control-Allow-Headers: *\r\nAccess-Control-Allow-Private-Network: true\r\n\
     Access-Control-Max-Age: 600\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> Route {
        parse_route(p).unwrap_or_else(|e| panic!("{p}: {e:?}"))
    }

    fn status(p: &str) -> u16 {
        parse_route(p).expect_err(p).status()
    }

    #[test]
    fn command_routes_take_numbers_as_scratch_sends_them() {
        let commands = [
            ("/leds/Red/100", Command::Red(100)),
            ("/leds/Green/0", Command::Green(0)),
            ("/leds/Blue/255", Command::Blue(255)),
            ("/board_led/On", Command::BoardLed(true)),
            ("/board_led/Off", Command::BoardLed(false)),
            ("/play_tone/A", Command::Tone(880)),
            ("/play_tone/Note_Off", Command::Tone(0)),
            ("/tone2/440", Command::Tone(440)),
            ("/tone2/440.9", Command::Tone(440)),
            ("/tone2/-5", Command::Tone(0)),
            ("/tone2/70000", Command::Tone(65_535)),
            ("/tinker_out/A/7", Command::TinkerA(7)),
            ("/tinker_out/B/255", Command::TinkerB(255)),
            // Numbers as Scratch sends them: truncated and clamped.
            ("/leds/Red/255.75", Command::Red(255)),
            ("/leds/Green/-1", Command::Green(0)),
            ("/leds/Blue/256", Command::Blue(255)),
            ("/leds/Blue/1.5", Command::Blue(1)),
            ("/tinker_out/A/999", Command::TinkerA(255)),
            ("/tinker_out/B/1e+21", Command::TinkerB(255)),
            ("/tinker_out/B/-0.5", Command::TinkerB(0)),
        ];
        for (path, command) in commands {
            assert_eq!(ok(path), Route::Command(command), "{path}");
        }
        assert_eq!(ok("/poll"), Route::Poll);
        assert_eq!(ok("/reset_all"), Route::ResetAll);
        assert_eq!(ok("/crossdomain.xml"), Route::CrossDomain);
        assert!(matches!(
            ok("/orientation/Joystick_On_Right"),
            Route::Orientation(_)
        ));
        assert!(matches!(ok("/temp_units/Fahrenheit"), Route::TempUnits(_)));
    }

    #[test]
    fn crossdomain_names_the_tcp_port_and_ends_like_esp4s() {
        let body = String::from_utf8(crossdomain_xml(50209)).unwrap();
        assert_eq!(
            body,
            "<cross-domain-policy>\n  <allow-access-from domain=\"*\" to-ports=\"50209\"/>\n\
             </cross-domain-policy>\n\r\n"
        );
    }

    #[test]
    fn the_preflight_grants_any_origin_and_private_network_access() {
        let mut out = Vec::new();
        super::super::http::write_response(&preflight(), false, false, &mut out);
        let head = String::from_utf8(out).unwrap();
        assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"), "{head}");
        for h in [
            "Access-Control-Allow-Origin: *\r\n",
            "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n",
            "Access-Control-Allow-Headers: *\r\n",
            "Access-Control-Allow-Private-Network: true\r\n",
            "Access-Control-Max-Age: 600\r\n",
        ] {
            assert!(head.contains(h), "{h:?} missing from {head}");
        }
        assert!(!head.contains("Content-Length"), "none on a 204: {head}");
        assert!(head.ends_with("\r\n\r\n"));
    }

    #[test]
    fn snap_value_routes() {
        assert!(matches!(ok("/slider"), Route::Value(4)));
        assert!(matches!(ok("/buttons/Down"), Route::Value(0)));
        assert!(matches!(ok("/tkInput/B"), Route::Value(15)));
    }

    #[test]
    fn bad_commands_are_400_and_unknown_paths_404() {
        for p in [
            "/leds/Red/lots",
            "/leds/Red/NaN",
            "/leds/Red/1.5.2",
            "/leds/Red/",
            "/leds/Purple/5",
            "/leds/Red",
            "/board_led/Maybe",
            "/play_tone/H",
            "/tone2/abc",
            "/tinker_out/C/1",
            "/tinker_out/A/12abc",
            "/orientation/Upside_Down",
            "/temp_units/Kelvin",
            "/reset_all/now",
            "/poll/extra",
        ] {
            assert_eq!(status(p), 400, "{p}");
            assert!(
                parse_route(p).unwrap_err().reason().contains("usage"),
                "{p}"
            );
        }
        for p in ["/", "/favicon.ico", "/nothing/here"] {
            assert_eq!(status(p), 404, "{p}");
        }
    }
}
