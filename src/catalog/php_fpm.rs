//! php-fpm's classifier: its own log's messages (`server reached
//! pm.max_children`, a child's crash) and its slowlog's entries, the pool
//! as the upstream.

use super::compiled::{Classified, Compiled, CompiledCause, RowFilter, built, finish};
use crate::parse::Head;
use crate::parse::php_fpm::Body;

/// The php-fpm rows.
pub struct PhpFpm {
    rows: Vec<Compiled>,
    filter: RowFilter,
    /// The searcher for the request a timed-out script was serving.
    request: memchr::memmem::Finder<'static>,
}

impl PhpFpm {
    /// The php-fpm rows, in table order.
    pub fn new(rows: Vec<Compiled>) -> PhpFpm {
        let filter = RowFilter::new(&rows);
        PhpFpm {
            rows,
            filter,
            request: memchr::memmem::Finder::new(REQUEST),
        }
    }

    /// Classifies a php-fpm line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        if matches!(head.level, b"DEBUG" | b"NOTICE") {
            return None;
        }
        let body = Body::parse(head.body);
        let c = self.filter.first_fit(&self.rows, body.message, None)?;
        // Not a failure: nothing to read from the message.
        if matches!(c.cause, CompiledCause::Ignore) {
            return None;
        }
        let upstream = body.pool.map(|p| built(scratch, &[b"php-fpm:", p]));
        let route = self.route(body.message);
        finish(c, None, upstream, route, None)
    }

    /// The request in `(request: "GET /x") `, as `between` finds it,
    /// through the searcher built once.
    #[inline]
    fn route<'a>(&self, m: &'a [u8]) -> Option<&'a [u8]> {
        let rest = &m[self.request.find(m)? + REQUEST.len()..];
        let end = crate::bytes::find(rest, b"\")").unwrap_or(rest.len());
        Some(&rest[..end])
    }
}

/// What opens the request a timed-out script was serving.
const REQUEST: &[u8] = b"(request: \"";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::compiled::between;

    /// The request read through the searcher built once is the one
    /// `between` reads.
    #[test]
    fn route_matches_between() {
        let f = PhpFpm::new(Vec::new());
        for m in [
            "child 1, script '/x.php' (request: \"GET /a?b=1\") execution timed out (30.1 sec), terminating",
            "child 1, script '/x.php' (request: \"POST /a\"",
            "(request: \"",
            "(request: \"\")",
            "server reached pm.max_children setting (5), consider raising it",
            "(request \"GET /\")",
            "",
        ] {
            assert_eq!(
                f.route(m.as_bytes()),
                between(m.as_bytes(), b"(request: \"", b"\")"),
                "{m}"
            );
        }
    }
}
