//! System error numbers, by meaning.
//!
//! The strerror text differs between systems ("Connection timed out" on
//! Linux, "Operation timed out" on FreeBSD, "A connection attempt failed..."
//! on Windows), so classification uses the number. Linux, BSD/macOS and
//! Windows (WSA) numbers are listed together: none of them collides with a
//! plausible error of another system for a socket operation. APR's own
//! codes (70007 timeout, 70014 end of file) come from Apache.

/// What an error number means for an upstream connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errno {
    /// ECONNREFUSED.
    Refused,
    /// ETIMEDOUT, APR_TIMEUP.
    TimedOut,
    /// ECONNRESET.
    Reset,
    /// ENOENT (a missing unix socket).
    NoEntry,
    /// EACCES, EPERM.
    Permission,
    /// EAGAIN / EWOULDBLOCK (a full unix socket backlog).
    Again,
    /// EHOSTUNREACH, EHOSTDOWN, ENETDOWN.
    Unreachable,
    /// ENETUNREACH: no route to the address's network at all (an IPv6
    /// address on a host without IPv6).
    NetUnreachable,
    /// EADDRNOTAVAIL (no free local port).
    AddrNotAvail,
    /// EPIPE.
    Pipe,
    /// EMFILE, ENFILE.
    TooManyFiles,
    /// APR_EOF: the peer closed.
    Eof,
    /// A resolver error (Apache `(EAI n)`).
    Dns,
    /// Anything else.
    Other,
}

impl Errno {
    /// The meaning of an errno or APR status number.
    pub fn of(n: i64) -> Errno {
        match n {
            111 | 61 | 10061 => Errno::Refused,
            110 | 60 | 10060 | 70007 => Errno::TimedOut,
            104 | 54 | 10054 => Errno::Reset,
            2 => Errno::NoEntry,
            1 | 13 | 10013 => Errno::Permission,
            11 | 35 | 10035 => Errno::Again,
            101 | 51 | 10051 => Errno::NetUnreachable,
            113 | 112 | 100 | 65 | 64 | 50 | 10065 | 10064 | 10050 => Errno::Unreachable,
            99 | 49 | 10049 => Errno::AddrNotAvail,
            32 => Errno::Pipe,
            24 | 23 | 10024 => Errno::TooManyFiles,
            70014 => Errno::Eof,
            _ => Errno::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_meaning_across_systems() {
        for n in [111, 61, 10061] {
            assert_eq!(Errno::of(n), Errno::Refused);
        }
        for n in [110, 60, 10060, 70007] {
            assert_eq!(Errno::of(n), Errno::TimedOut);
        }
        assert_eq!(Errno::of(104), Errno::Reset);
        assert_eq!(Errno::of(70014), Errno::Eof);
        assert_eq!(Errno::of(70008), Errno::Other);
    }
}
