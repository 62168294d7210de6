//! The catalog: upstream-failure signatures mapped to causes.
//!
//! Everything the tool knows about failure messages is data in two tables:
//! [`causes::CAUSES`] (what a cause means, its status per server, its fix)
//! and [`signatures::SIGNATURES`] (which message, errno and phase gives which
//! cause). [`Catalog::classify`] walks the signatures of the line's server in
//! order and takes the first that matches, so specific rows come before
//! general ones. A cheap literal prefilter runs first: most lines of a busy
//! error log are noise and never get past it.

mod apache;
pub mod causes;
mod compiled;
pub mod errno;
mod kernel;
pub mod lifecycle;
mod memo;
mod nginx;
mod php_fpm;
pub mod rows;
pub mod signatures;
pub mod startup;

pub use compiled::Classified;
pub use memo::FitMemo;

use crate::event::Server;
use crate::parse::Head;

/// The compiled catalog: each server's rows, indexed for its classifier.
pub struct Catalog {
    nginx: nginx::Nginx,
    apache: Built<apache::Apache>,
    php_fpm: Built<php_fpm::PhpFpm>,
    kernel: Built<kernel::Kernel>,
}

/// A server's part of the catalog, compiled when a line of that server is
/// first classified: most runs read one server's logs, and start-up then
/// skips the searchers of the others.
struct Built<T> {
    built: std::sync::OnceLock<T>,
    build: fn() -> T,
}

impl<T> Built<T> {
    fn new(build: fn() -> T) -> Built<T> {
        Built {
            built: std::sync::OnceLock::new(),
            build,
        }
    }
}

impl<T> std::ops::Deref for Built<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        self.built.get_or_init(self.build)
    }
}

/// The rows of `server`, compiled, in table order.
fn compiled_rows(server: Server) -> Vec<compiled::Compiled> {
    let mut rows = Vec::with_capacity(
        signatures::SIGNATURES
            .iter()
            .filter(|s| s.server == server)
            .count(),
    );
    rows.extend(
        signatures::SIGNATURES
            .iter()
            .filter(|s| s.server == server)
            .map(compiled::compile),
    );
    rows
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// Compiles the tables. Panics only if the tables themselves name an
    /// unknown cause, which the unit tests rule out.
    pub fn new() -> Catalog {
        Catalog {
            nginx: nginx::Nginx::new(compiled_rows(Server::Nginx), signatures::NGINX_PREFILTER),
            apache: Built::new(|| apache::Apache::new(compiled_rows(Server::Apache))),
            php_fpm: Built::new(|| php_fpm::PhpFpm::new(compiled_rows(Server::PhpFpm))),
            kernel: Built::new(|| kernel::Kernel::new(compiled_rows(Server::Kernel))),
        }
    }

    /// Classifies one line. Hot: called for every recognised line, so the
    /// prefilter rejects noise before any body parsing.
    ///
    /// An upstream name that the line does not hold as it is (a scheme
    /// added, say) is built in `scratch`, which the result borrows: no
    /// allocation per line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        self.classify_with(head, scratch, None)
    }

    /// [`Catalog::classify`] that keeps what it decides for the start of
    /// nginx lines in `memo` (see [`FitMemo`]): a scanner passes one, as
    /// most failure lines start like one seen shortly before.
    #[inline]
    pub fn classify_with<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
        memo: Option<&mut FitMemo>,
    ) -> Option<Classified<'a>> {
        match head.server {
            Server::Nginx => self.nginx.classify(head, scratch, memo),
            Server::Apache => self.apache.classify(head, scratch),
            Server::PhpFpm => self.php_fpm.classify(head, scratch),
            Server::Kernel => self.kernel.classify(head, scratch),
        }
    }
}

#[cfg(test)]
mod tests;
