//! What ended a row or a round, as a type.
//!
//! A status used to be a string compared with `"ok"` and re-parsed by prefix in the driver,
//! the rounds, the sweep and the readers. Now every place that stores, compares or shows one
//! holds a [`Status`]; its `Display` is the human text, and results.json keeps that text
//! (`"ok"`, `"crashed: serve signal 9 …"`, …) so the scripts and dashboards that read the
//! file see what they always saw. The text is parsed back in one place, [`Status::parse`],
//! when a results file or a history row is read.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What ended a row or a round of a model. `Ok` is the only status whose figures are whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Measured to the end; every figure is whole.
    #[default]
    Ok,
    /// Stopped by the user (Ctrl-C or a termination signal); the text says how and when,
    /// e.g. `by Ctrl-C 1.2 s into the measured window`.
    Interrupted(String),
    /// The model's child died during the run, e.g. `serve signal 9 (SIGKILL) 0.7 s into the
    /// measured window`.
    Crashed(String),
    /// Measured to the end, but some of the driver's figures are missing (a client thread
    /// panicked): the text says which.
    Partial(String),
    /// Anything else that ended the row (the child did not start, did not stop, its
    /// statistics could not be read…).
    Error(String),
    /// One round of a row merged from rounds failed: that round's status and where it was.
    InRound {
        status: Box<Status>,
        /// 1-based.
        round: u32,
        of: u32,
        ok: u32,
    },
    /// A status with a later finding added (`…; also 2 of 4 client threads panicked`).
    Also(Box<Status>, String),
    /// A failure written by an earlier build in words of its own (`"timed out"`), kept as
    /// it was so that reading and writing a file changes nothing.
    Other(String),
}

/// What kind of ending a status is, whatever was added to it since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Ok,
    Interrupted,
    Crashed,
    Partial,
    Error,
    Other,
}

impl Status {
    /// Whether the figures are whole.
    pub(crate) fn is_ok(&self) -> bool {
        matches!(self, Status::Ok)
    }

    /// The kind of the first thing that went wrong (a failed round's, a status before its
    /// "also").
    pub fn kind(&self) -> StatusKind {
        match self {
            Status::Ok => StatusKind::Ok,
            Status::Interrupted(_) => StatusKind::Interrupted,
            Status::Crashed(_) => StatusKind::Crashed,
            Status::Partial(_) => StatusKind::Partial,
            Status::Error(_) => StatusKind::Error,
            Status::Other(_) => StatusKind::Other,
            Status::InRound { status, .. } | Status::Also(status, _) => status.kind(),
        }
    }

    /// Stopped by the user rather than failed.
    pub fn is_interrupted(&self) -> bool {
        self.kind() == StatusKind::Interrupted
    }

    /// `self`, with a later finding added: an `Ok` row becomes `Partial`, any other keeps
    /// its first failure and names the finding after it.
    pub(crate) fn with_finding(self, what: String) -> Status {
        match self {
            Status::Ok => Status::Partial(what),
            other => Status::Also(Box::new(other), what),
        }
    }

    /// Reads a status back from its text (results.json, the history). Never fails: a text
    /// no build of esbench writes is kept as [`Status::Other`].
    pub fn parse(text: &str) -> Status {
        if let Some((head, what)) = text.rsplit_once("; also ") {
            if !head.is_empty() {
                return Status::Also(Box::new(Status::parse(head)), what.to_string());
            }
        }
        if let Some(s) = parse_in_round(text) {
            return s;
        }
        let prefixed = |p: &str| text.strip_prefix(p).map(str::to_string);
        if text == "ok" {
            Status::Ok
        } else if let Some(t) = prefixed("interrupted ") {
            Status::Interrupted(t)
        } else if let Some(t) = prefixed("crashed: ") {
            Status::Crashed(t)
        } else if let Some(t) = prefixed("partial: ") {
            Status::Partial(t)
        } else if let Some(t) = prefixed("error: ") {
            Status::Error(t)
        } else {
            Status::Other(text.to_string())
        }
    }
}

/// `STATUS (round R of N; K round(s) ok)`.
fn parse_in_round(text: &str) -> Option<Status> {
    let body = text.strip_suffix(" round(s) ok)")?;
    let (head, tail) = body.rsplit_once(" (round ")?;
    let (rn, ok) = tail.split_once("; ")?;
    let (round, of) = rn.split_once(" of ")?;
    Some(Status::InRound {
        status: Box::new(Status::parse(head)),
        round: round.parse().ok()?,
        of: of.parse().ok()?,
        ok: ok.parse().ok()?,
    })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            Status::Interrupted(t) => write!(f, "interrupted {t}"),
            Status::Crashed(t) => write!(f, "crashed: {t}"),
            Status::Partial(t) => write!(f, "partial: {t}"),
            Status::Error(t) => write!(f, "error: {t}"),
            Status::InRound {
                status,
                round,
                of,
                ok,
            } => write!(f, "{status} (round {round} of {of}; {ok} round(s) ok)"),
            Status::Also(status, what) => write!(f, "{status}; also {what}"),
            Status::Other(t) => f.write_str(t),
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Status::parse(&text))
    }
}

/// How a pass of the profiling run ended (the syscall pass, the CPU-sample pass).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PassStatus {
    Ok,
    /// The tool is not on this machine (no strace, no working perf).
    Unavailable,
    /// The tool ran and failed (e.g. ptrace not permitted).
    #[default]
    Failed,
    /// Not requested.
    Skipped,
}

impl fmt::Display for PassStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PassStatus::Ok => "ok",
            PassStatus::Unavailable => "unavailable",
            PassStatus::Failed => "failed",
            PassStatus::Skipped => "skipped",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_as_it_was_written() {
        let crashed = Status::Crashed("serve signal 9 (SIGKILL) 0.7 s into the window".into());
        let cases = [
            Status::Ok,
            Status::Interrupted("by Ctrl-C during warm-up (0.4 s before the window)".into()),
            crashed.clone(),
            Status::Partial("1 of 3 client threads panicked (a; b)".into()),
            Status::Error("serve did not stop within 5s of SIGTERM and was killed".into()),
            Status::InRound {
                status: Box::new(crashed.clone()),
                round: 2,
                of: 3,
                ok: 2,
            },
            Status::Also(
                Box::new(crashed.clone()),
                "1 of 2 client threads panicked".into(),
            ),
            Status::Also(
                Box::new(Status::InRound {
                    status: Box::new(Status::Error("x (y)".into())),
                    round: 1,
                    of: 6,
                    ok: 5,
                }),
                "z".into(),
            ),
            Status::Other("timed out".into()),
        ];
        for s in cases {
            let text = s.to_string();
            assert_eq!(Status::parse(&text), s, "{text}");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, serde_json::to_string(&text).unwrap());
            assert_eq!(serde_json::from_str::<Status>(&json).unwrap(), s);
        }
    }

    #[test]
    fn the_kind_is_the_first_failure_and_a_finding_keeps_it() {
        let int = Status::Interrupted("by Ctrl-C 1.0 s into the measured window".into());
        let merged = Status::InRound {
            status: Box::new(int.clone()),
            round: 3,
            of: 3,
            ok: 2,
        };
        assert!(merged.is_interrupted() && !merged.is_ok());
        assert_eq!(
            merged.clone().with_finding("w".into()).kind(),
            StatusKind::Interrupted
        );
        assert_eq!(
            Status::Ok.with_finding("w".into()),
            Status::Partial("w".into())
        );
        assert_eq!(
            Status::parse("exited with code 101").kind(),
            StatusKind::Other
        );
        assert!(!Status::parse("interrupted-ish").is_interrupted());
        assert_eq!(PassStatus::Unavailable.to_string(), "unavailable");
        assert_eq!(
            serde_json::to_string(&PassStatus::Skipped).unwrap(),
            "\"skipped\""
        );
    }
}
