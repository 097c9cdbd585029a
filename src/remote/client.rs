//! The driver's end of the control connection: connect, say hello, exchange timestamps,
//! start / measure / stop one model run on the agent.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::clock_sync::{ClockBook, Exchange, Phase};
use super::wire::{AgentReport, LineConn, Op, Reply, Request, StartSpec, MAX_REPLY_LINE, PROTOCOL};
use crate::clock::now_ns;
use crate::load::child_settings::ChildReadback;
use crate::metrics::results::Machine;

/// Where the agent is and the secret it wants.
#[derive(Clone, Debug)]
pub struct Target {
    /// `HOST:PORT` as given on the command line.
    pub addr: String,
    pub token: String,
}

/// An open control connection to an agent.
pub struct AgentLink {
    conn: LineConn,
    token: String,
    peer: SocketAddr,
    pub machine: Machine,
    /// Every timestamp exchange made on this connection.
    pub clocks: ClockBook,
}

/// How long an ordinary request may take to be answered.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

impl AgentLink {
    /// Connects (retrying until `patience` is spent, so an agent being restarted is picked
    /// up) and checks the agent speaks this protocol.
    pub fn connect(target: &Target, patience: Duration) -> Result<AgentLink> {
        let addrs: Vec<SocketAddr> = target
            .addr
            .to_socket_addrs()
            .with_context(|| format!("cannot resolve the target {}", target.addr))?
            .collect();
        let deadline = now_ns() + patience.as_nanos() as u64;
        let stream = loop {
            let tried = addrs
                .iter()
                .find_map(|a| TcpStream::connect_timeout(a, Duration::from_secs(3)).ok());
            if let Some(s) = tried {
                break s;
            }
            if now_ns() > deadline {
                bail!(
                    "no agent answers at {} (tried for {patience:?}; is `esbench agent` \
                     running there and listening on that address?)",
                    target.addr
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr()?;
        let mut link = AgentLink {
            conn: LineConn::new(stream, MAX_REPLY_LINE)?,
            token: target.token.clone(),
            peer,
            machine: Machine::default(),
            clocks: ClockBook::default(),
        };
        match link.call(Op::Hello, REPLY_TIMEOUT)? {
            Reply::Hello {
                protocol, machine, ..
            } => {
                if protocol != PROTOCOL {
                    bail!(
                        "the agent at {} speaks {protocol}, this driver {PROTOCOL}: use the \
                         same esbench version on both sides",
                        target.addr
                    );
                }
                link.machine = machine;
            }
            other => bail!("unexpected answer to hello: {other:?}"),
        }
        Ok(link)
    }

    fn call(&mut self, op: Op, timeout: Duration) -> Result<Reply> {
        self.conn.stream().set_read_timeout(Some(timeout))?;
        self.conn.send(&Request {
            token: self.token.clone(),
            op,
        })?;
        let line = self
            .conn
            .recv_line()?
            .context("the agent closed the control connection")?;
        match serde_json::from_str(&line).context("the agent's answer is not understood")? {
            Reply::Error { error } => bail!("the agent says: {error}"),
            r => Ok(r),
        }
    }

    /// `n` timestamp exchanges for `phase`; returns the child's exit if the agent saw it end.
    pub fn exchange(&mut self, phase: Phase, n: usize) -> Result<Option<String>> {
        let mut exit = None;
        for _ in 0..n {
            let t1 = now_ns();
            let reply = self.call(Op::Time, REPLY_TIMEOUT)?;
            let t3 = now_ns();
            match reply {
                Reply::Time {
                    agent_ns,
                    child_exit,
                } => {
                    self.clocks.add(
                        phase,
                        Exchange {
                            t1,
                            t2: agent_ns,
                            t3,
                        },
                    );
                    exit = exit.or(child_exit);
                }
                other => bail!("unexpected answer to time: {other:?}"),
            }
        }
        Ok(exit)
    }

    /// Starts the boards and the model; returns the bridge's addresses, one per board.
    pub fn start(&mut self, spec: StartSpec, ready: Duration) -> Result<Vec<SocketAddr>> {
        match self.call(Op::Start(spec), ready + REPLY_TIMEOUT)? {
            Reply::Started { ports, .. } => Ok(ports
                .into_iter()
                .map(|p| SocketAddr::new(self.peer.ip(), p))
                .collect()),
            other => bail!("unexpected answer to start: {other:?}"),
        }
    }

    /// Starts the measured window on the agent; returns what the model process reports
    /// about itself there, as a local child's `/proc` read-back would.
    pub fn measure(&mut self, duration: Duration) -> Result<ChildReadback> {
        let op = Op::Measure {
            duration_ns: duration.as_nanos() as u64,
        };
        match self.call(op, REPLY_TIMEOUT)? {
            Reply::Measuring {
                timerslack_ns,
                cpus_allowed,
                nice,
                ..
            } => Ok(ChildReadback {
                timerslack_ns,
                cpus_allowed,
                nice,
            }),
            other => bail!("unexpected answer to measure: {other:?}"),
        }
    }

    /// Stops the model and fetches everything the agent measured.
    pub fn stop(&mut self, grace: Duration) -> Result<AgentReport> {
        match self.call(Op::Stop, grace + REPLY_TIMEOUT + Duration::from_secs(20))? {
            Reply::Stopped(r) => Ok(*r),
            other => bail!("unexpected answer to stop: {other:?}"),
        }
    }
}
