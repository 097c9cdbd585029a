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
            let Some(v) = parse_u8(value) else {
                return bad("/leds/{Red|Green|Blue}/{0-255}");
            };
            match *colour {
                "Red" => Ok(Route::Command(Command::Red(v))),
                "Green" => Ok(Route::Command(Command::Green(v))),
                "Blue" => Ok(Route::Command(Command::Blue(v))),
                _ => bad("/leds/{Red|Green|Blue}/{0-255}"),
            }
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
            let Some(v) = parse_u8(value) else {
                return bad("/tinker_out/{A|B}/{0-255}");
            };
            match *pin {
                "A" => Ok(Route::Command(Command::TinkerA(v))),
                "B" => Ok(Route::Command(Command::TinkerB(v))),
                _ => bad("/tinker_out/{A|B}/{0-255}"),
            }
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
pub fn crossdomain_xml(port: u16) -> Vec<u8> {
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
pub fn preflight() -> Response {
    Response {
        status: 204,
        content_type: "text/plain; charset=utf-8",
        body: Vec::new(),
    }
}

/// The preflight grant: any origin, the methods the bridge answers, any request header,
/// private-network access, cached by the browser for ten minutes.
pub const PREFLIGHT_HEADERS: &str = "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n\
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
    fn command_routes() {
        assert_eq!(ok("/poll"), Route::Poll);
        assert_eq!(ok("/leds/Red/100"), Route::Command(Command::Red(100)));
        assert_eq!(ok("/leds/Green/0"), Route::Command(Command::Green(0)));
        assert_eq!(ok("/leds/Blue/255"), Route::Command(Command::Blue(255)));
        assert_eq!(ok("/board_led/On"), Route::Command(Command::BoardLed(true)));
        assert_eq!(
            ok("/board_led/Off"),
            Route::Command(Command::BoardLed(false))
        );
        assert_eq!(ok("/play_tone/A"), Route::Command(Command::Tone(880)));
        assert_eq!(ok("/play_tone/Note_Off"), Route::Command(Command::Tone(0)));
        assert_eq!(ok("/tone2/440"), Route::Command(Command::Tone(440)));
        assert_eq!(ok("/tone2/440.9"), Route::Command(Command::Tone(440)));
        assert_eq!(ok("/tone2/-5"), Route::Command(Command::Tone(0)));
        assert_eq!(ok("/tone2/70000"), Route::Command(Command::Tone(65_535)));
        assert_eq!(ok("/tinker_out/A/7"), Route::Command(Command::TinkerA(7)));
        assert_eq!(
            ok("/tinker_out/B/255"),
            Route::Command(Command::TinkerB(255))
        );
        assert_eq!(ok("/reset_all"), Route::ResetAll);
        assert_eq!(ok("/crossdomain.xml"), Route::CrossDomain);
        assert!(matches!(
            ok("/orientation/Joystick_On_Right"),
            Route::Orientation(_)
        ));
        assert!(matches!(ok("/temp_units/Fahrenheit"), Route::TempUnits(_)));
    }

    #[test]
    fn numbers_as_scratch_sends_them_are_truncated_and_clamped() {
        assert_eq!(ok("/leds/Red/255.75"), Route::Command(Command::Red(255)));
        assert_eq!(ok("/leds/Green/-1"), Route::Command(Command::Green(0)));
        assert_eq!(ok("/leds/Blue/256"), Route::Command(Command::Blue(255)));
        assert_eq!(ok("/leds/Blue/1.5"), Route::Command(Command::Blue(1)));
        assert_eq!(
            ok("/tinker_out/A/999"),
            Route::Command(Command::TinkerA(255))
        );
        assert_eq!(
            ok("/tinker_out/B/1e+21"),
            Route::Command(Command::TinkerB(255))
        );
        assert_eq!(
            ok("/tinker_out/B/-0.5"),
            Route::Command(Command::TinkerB(0))
        );
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
