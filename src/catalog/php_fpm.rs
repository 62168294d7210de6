//! php-fpm's classifier: its own log's messages (`server reached
//! pm.max_children`, a child's crash) and its slowlog's entries, the pool
//! as the upstream.

use super::compiled::{Classified, Compiled, CompiledCause, RowFilter, between, built, finish};
use crate::parse::Head;
use crate::parse::php_fpm::Body;

/// The php-fpm rows.
pub struct PhpFpm {
    rows: Vec<Compiled>,
    filter: RowFilter,
}

impl PhpFpm {
    /// The php-fpm rows, in table order.
    pub fn new(rows: Vec<Compiled>) -> PhpFpm {
        let filter = RowFilter::new(&rows);
        PhpFpm { rows, filter }
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
        let route = between(body.message, b"(request: \"", b"\")");
        finish(c, None, upstream, route, None)
    }
}
