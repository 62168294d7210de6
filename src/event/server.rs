//! The servers whose logs are read, and values kept per server.

use std::ops::{Index, IndexMut};

/// The server that wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Server {
    /// nginx.
    Nginx,
    /// Apache httpd.
    Apache,
    /// php-fpm's own log.
    PhpFpm,
    /// The kernel log (dmesg, journalctl -k, kern.log).
    Kernel,
}

impl Server {
    /// All servers, in report order.
    pub const ALL: [Server; 4] = [
        Server::Nginx,
        Server::Apache,
        Server::PhpFpm,
        Server::Kernel,
    ];

    /// Stable lowercase name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Apache => "apache",
            Server::PhpFpm => "php-fpm",
            Server::Kernel => "kernel",
        }
    }

    /// A gateway answers the client itself, so every cause has a status
    /// and a fix in its terms, shown even where they repeat nginx's; a
    /// backend (php-fpm) logs its own side, and is shown only where a
    /// cause is its own; so does the kernel.
    pub fn is_gateway(self) -> bool {
        match self {
            Server::Nginx | Server::Apache => true,
            Server::PhpFpm | Server::Kernel => false,
        }
    }

    /// How many servers there are.
    pub const COUNT: usize = Self::ALL.len();

    /// Its slot in a [`PerServer`].
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// One value per server, indexed by [`Server`]: tables of the catalog and
/// counters of the report say which server a value is for by the type,
/// not by a position, so a new server is one more variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PerServer<T>(pub [T; Server::COUNT]);

impl<T> PerServer<T> {
    /// The values in [`Server::ALL`] order.
    pub const fn new(values: [T; Server::COUNT]) -> Self {
        PerServer(values)
    }

    /// Each server with its value, in [`Server::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Server, &T)> {
        Server::ALL.into_iter().zip(&self.0)
    }

    /// Each server with its value, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Server, &mut T)> {
        Server::ALL.into_iter().zip(&mut self.0)
    }
}

impl PerServer<u64> {
    /// The lines of the servers behind or below the web servers (php-fpm,
    /// the kernel), which explain failed requests and add none.
    pub fn behind_gateways(&self) -> u64 {
        self.iter()
            .filter(|(s, _)| !s.is_gateway())
            .fold(0u64, |n, (_, &v)| n.saturating_add(v))
    }
}

impl<T> Index<Server> for PerServer<T> {
    type Output = T;
    #[inline]
    fn index(&self, s: Server) -> &T {
        &self.0[s.index()]
    }
}

impl<T> IndexMut<Server> for PerServer<T> {
    #[inline]
    fn index_mut(&mut self, s: Server) -> &mut T {
        &mut self.0[s.index()]
    }
}
