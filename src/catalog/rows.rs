//! The vocabulary of the signature rows: how a message is recognised,
//! which errnos and phase it needs, how its cause is decided, where its
//! upstream is. The rows themselves are data, in [`super::signatures`].

use super::errno::Errno;
use crate::event::{Role, Server};

/// How a signature's message is recognised.
#[derive(Debug, Clone, Copy)]
pub enum Match {
    /// The message starts with this text.
    Prefix(&'static str),
    /// The message contains this text.
    Contains(&'static str),
    /// The message starts with the first text and contains the second.
    PrefixContains(&'static str, &'static str),
    /// Apache message number.
    Ah(u32),
    /// Apache message number, and the message contains this text.
    AhContains(u32, &'static str),
    /// Any message (the errno or phase decides).
    Any,
}

/// Which failure phase a line must be in.
#[derive(Debug, Clone, Copy)]
pub enum Phase {
    /// No condition.
    Any,
    /// nginx: the ` while ...` action involves the upstream (`connecting to
    /// upstream`, `reading response header from upstream`, ...: every such
    /// action ends with `upstream`). The same message logged while talking
    /// to a client is not an upstream failure.
    Upstream,
    /// nginx: the action is exactly this.
    Action(&'static str),
    /// Apache: the line is about a backend connection (`[remote ...]`).
    RemotePeer,
}

/// Which error numbers a signature accepts.
#[derive(Debug, Clone, Copy)]
pub enum Errnos {
    /// Any errno, or none.
    Any,
    /// One of these.
    Is(&'static [Errno]),
}

/// How the cause follows from the line.
#[derive(Debug, Clone, Copy)]
pub enum CauseRule {
    /// Always this cause.
    Fixed(&'static str),
    /// By the errno's meaning; the default (a weak guess) when none fits.
    ByErrno(&'static [(Errno, &'static str)], &'static str),
    /// The line is not a failure (stops matching).
    Ignore,
    /// No cause of its own; it belongs to the failure being assembled on
    /// the same Apache thread (e.g. AH00959 "disabling worker").
    Attach,
}

/// Where the upstream name comes from.
#[derive(Debug, Clone, Copy)]
pub enum Extract {
    /// No upstream in the message.
    None,
    /// nginx `upstream: "..."` as a server, else `connect() to X failed`.
    NginxPeer,
    /// nginx `upstream: "..."` host part: the upstream block's name.
    NginxGroup,
    /// nginx: the name before ` could not be resolved`, after `resolve `, or
    /// inside `in upstream "..."`.
    NginxResolvedName,
    /// nginx `resolver: ` context.
    NginxResolver,
    /// Apache: `SCHEME: attempt to connect to ADDR (...)` or a unix socket.
    ApacheConnect,
    /// Apache: the text between two markers, with a prefix.
    Between(&'static str, &'static str, Prefix),
    /// Apache: the `[remote ip:port]` peer of a backend connection, after
    /// this scheme.
    ApacheRemote(&'static str),
    /// php-fpm: `php-fpm:<pool>`.
    PhpPool,
}

/// What goes in front of an extracted address.
#[derive(Debug, Clone, Copy)]
pub enum Prefix {
    /// Nothing: the text is the upstream (a host name, `balancer://x`).
    Raw,
    /// `http://`.
    Http,
    /// The lowercased proxy scheme the message starts with (`HTTP: `,
    /// `FCGI: `, `proxy: HTTP: `).
    Scheme,
}

/// One row of the signature table.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The server that writes this message.
    pub server: Server,
    /// How the message is recognised.
    pub matcher: Match,
    /// Errnos accepted.
    pub errno: Errnos,
    /// Phase condition.
    pub phase: Phase,
    /// How the cause is decided.
    pub cause: CauseRule,
    /// Multi-line role.
    pub role: Role,
    /// A strong match decides the cause of a joined failure; a weak one
    /// (a generic request-level line) only fills in when nothing else does.
    pub strong: bool,
    /// Status the client got, when this message tells it more precisely
    /// than the cause does (e.g. `Primary script unknown` is a 404).
    pub status: Option<u16>,
    /// Where the upstream name is.
    pub extract: Extract,
}

impl Signature {
    /// A row of one line alone, with no upstream to extract: each
    /// server's constructor in the signature table sets its own defaults.
    pub const fn new(server: Server, matcher: Match, cause: CauseRule) -> Signature {
        Signature {
            server,
            matcher,
            errno: Errnos::Any,
            phase: Phase::Any,
            cause,
            role: Role::Alone,
            strong: true,
            status: None,
            extract: Extract::None,
        }
    }
    /// Accept only these errnos.
    pub const fn errno(mut self, e: &'static [Errno]) -> Self {
        self.errno = Errnos::Is(e);
        self
    }
    /// Require a phase.
    pub const fn phase(mut self, p: Phase) -> Self {
        self.phase = p;
        self
    }
    /// Set the multi-line role.
    pub const fn role(mut self, r: Role) -> Self {
        self.role = r;
        self
    }
    /// Mark as a weak match.
    pub const fn weak(mut self) -> Self {
        self.strong = false;
        self
    }
    /// Say where the upstream is.
    pub const fn extract(mut self, x: Extract) -> Self {
        self.extract = x;
        self
    }
    /// Override the status.
    pub const fn status(mut self, s: u16) -> Self {
        self.status = Some(s);
        self
    }
}
