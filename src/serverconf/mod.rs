//! The servers' own configuration, read-only: which location (or
//! `ProxyPass`) proxies a failing route, what its timeouts and buffers
//! are, which php-fpm pool listens on which socket. Given with `--config`
//! (repeatable); each file is recognised by its content: an nginx
//! configuration (with the files it includes), the output of `nginx -T`,
//! an Apache httpd configuration (with its includes), the output of
//! `apachectl -S`, or a php-fpm configuration or pool file.
//!
//! A file that cannot be parsed is an error naming the file and line; a
//! directive that is not known here is kept as text, never an error.

pub mod advice;
pub mod apache;
pub mod lint;
pub mod nginx;
pub mod php_fpm;
pub mod source;

pub use source::SourceFile;

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Every configuration given, read.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// The nginx configurations.
    pub nginx: Vec<nginx::Nginx>,
    /// The Apache httpd configurations.
    pub apache: Vec<apache::Apache>,
    /// The php-fpm pools.
    pub pools: Vec<php_fpm::Pool>,
    /// What `apachectl -S` said, for the Apache files read after it.
    apache_dump: Option<apache::Dump>,
}

/// What a configuration file is, from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NginxDump,
    Nginx,
    PhpFpm,
    Apache,
    ApacheDump,
}

fn kind_of(text: &str) -> Kind {
    if nginx::is_dump(text) {
        return Kind::NginxDump;
    }
    if apache::is_dump(text) {
        return Kind::ApacheDump;
    }
    let meaningful = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    for l in meaningful.take(200) {
        if l.starts_with('[') && l.ends_with(']') {
            return Kind::PhpFpm;
        }
        if l.starts_with('<') && !l.starts_with("<<") {
            return Kind::Apache;
        }
        let word = l
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("");
        if matches!(
            word,
            "ServerRoot"
                | "ServerName"
                | "ProxyPass"
                | "ProxyPassMatch"
                | "LoadModule"
                | "Listen"
                | "IncludeOptional"
                | "Include"
                | "Timeout"
                | "ProxyTimeout"
                | "ErrorLog"
                | "DocumentRoot"
                | "Mutex"
                | "PidFile"
                | "DefaultRuntimeDir"
        ) {
            return Kind::Apache;
        }
        if l.contains('=') && !l.contains(';') && !l.contains('{') {
            return Kind::PhpFpm;
        }
        if l.ends_with(';') || l.ends_with('{') || l.ends_with('}') {
            return Kind::Nginx;
        }
    }
    Kind::Nginx
}

impl ServerConfig {
    /// Reads every file given; `-` reads stdin (e.g. `nginx -T | upcause
    /// ... --config -`). The output of `apachectl -S` is read first,
    /// whatever its place, so that the Apache files know its server root
    /// and user; given alone, it brings the main file under its server
    /// root (or, without one, the files its virtual hosts are in).
    pub fn load(paths: &[PathBuf]) -> Result<ServerConfig> {
        let mut out = ServerConfig::default();
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let file = if p.as_os_str() == "-" {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
                    Error::Input {
                        path: "-".into(),
                        source: e,
                    }
                })?;
                SourceFile {
                    path: PathBuf::from("-"),
                    text,
                }
            } else {
                SourceFile::read(p)?
            };
            files.push(file);
        }
        let (dumps, rest): (Vec<SourceFile>, Vec<SourceFile>) = files
            .into_iter()
            .partition(|f| kind_of(&f.text) == Kind::ApacheDump);
        for f in &dumps {
            out.add(f)?;
        }
        let any_apache = rest.iter().any(|f| kind_of(&f.text) == Kind::Apache);
        for f in &rest {
            out.add(f)?;
        }
        if let Some(dump) = out.apache_dump.clone()
            && !any_apache
        {
            let main = dump
                .server_root
                .as_deref()
                .and_then(|r| apache::main_file_under(std::path::Path::new(r)));
            let files: Vec<PathBuf> = match main {
                Some(m) => vec![m],
                None => dump.files.iter().map(PathBuf::from).collect(),
            };
            if files.is_empty() {
                return Err(Error::Usage(
                    "apachectl -S output names no configuration file that can be read here: \
                     give the Apache configuration files with --config too"
                        .into(),
                ));
            }
            for f in files {
                out.add(&SourceFile::read(&f)?)?;
            }
        }
        Ok(out)
    }

    /// Adds one file, of whatever kind its content says.
    pub fn add(&mut self, file: &SourceFile) -> Result<()> {
        match kind_of(&file.text) {
            Kind::NginxDump => {
                let files = nginx::split_dump(&file.text);
                let Some(main) = files.first() else {
                    return Err(Error::Usage(format!(
                        "{}: an nginx -T dump without any file in it",
                        file.path.display()
                    )));
                };
                let tree = nginx::load(main, Some(&files))?;
                self.nginx
                    .push(nginx::Nginx::from_tree(main.path.clone(), &tree));
            }
            Kind::Nginx => {
                let tree = nginx::load(file, None)?;
                self.nginx
                    .push(nginx::Nginx::from_tree(file.path.clone(), &tree));
            }
            Kind::PhpFpm => self.pools.extend(php_fpm::load(file)?),
            Kind::Apache => {
                let dump = self.apache_dump.as_ref();
                let tree = apache::load(file, dump)?;
                self.apache
                    .push(apache::Apache::from_tree(file.path.clone(), &tree, dump));
            }
            Kind::ApacheDump => {
                let d = apache::parse_dump(&file.text);
                if d.server_root.is_none() && d.files.is_empty() {
                    return Err(Error::Usage(format!(
                        "{}: apachectl -S output without a ServerRoot or a virtual host",
                        file.path.display()
                    )));
                }
                self.apache_dump = Some(d);
            }
        }
        Ok(())
    }

    /// True when nothing was given.
    pub fn is_empty(&self) -> bool {
        self.nginx.is_empty() && self.pools.is_empty() && self.apache.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_content() {
        assert_eq!(kind_of("events {}\nhttp {\n}\n"), Kind::Nginx);
        assert_eq!(kind_of("# c\nuser www-data;\n"), Kind::Nginx);
        assert_eq!(
            kind_of("; pool\n[www]\nlisten = /run/php.sock\n"),
            Kind::PhpFpm
        );
        assert_eq!(kind_of("pid = /run/php-fpm.pid\n"), Kind::PhpFpm);
        assert_eq!(
            kind_of("<VirtualHost *:80>\n</VirtualHost>\n"),
            Kind::Apache
        );
        assert_eq!(kind_of("ServerRoot \"/etc/apache2\"\n"), Kind::Apache);
        assert_eq!(
            kind_of("# configuration file /etc/nginx/nginx.conf:\nhttp {}\n"),
            Kind::NginxDump
        );
    }

    #[test]
    fn includes_are_read_from_disk_in_name_order() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("conf.d")).unwrap();
        std::fs::write(d.path().join("conf.d/b.conf"), "server { listen 2; }\n").unwrap();
        std::fs::write(d.path().join("conf.d/a.conf"), "server { listen 1; }\n").unwrap();
        std::fs::write(
            d.path().join("nginx.conf"),
            "http {\n include conf.d/*.conf;\n include conf.d/none-*.conf;\n}\n",
        )
        .unwrap();
        let c = ServerConfig::load(&[d.path().join("nginx.conf")]).unwrap();
        let listens: Vec<&str> = c.nginx[0]
            .sites
            .iter()
            .map(|s| s.listen[0].as_str())
            .collect();
        assert_eq!(listens, ["1", "2"]);
        assert!(c.nginx[0].sites[0].at.file.ends_with("conf.d/a.conf"));
        // A named file that is missing is an error with the include's place.
        std::fs::write(
            d.path().join("bad.conf"),
            "http {\n include missing.conf;\n}\n",
        )
        .unwrap();
        let e = ServerConfig::load(&[d.path().join("bad.conf")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.conf:2") && e.contains("missing.conf"),
            "{e}"
        );
    }

    #[test]
    fn an_include_loop_is_an_error_not_a_hang() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.conf"), "include a.conf;\n").unwrap();
        let e = ServerConfig::load(&[d.path().join("a.conf")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested too deep"), "{e}");
        std::fs::write(
            d.path().join("b.conf"),
            "include b.conf;\ninclude b.conf;\n",
        )
        .unwrap();
        let e = ServerConfig::load(&[d.path().join("b.conf")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a loop?"), "{e}");
    }
}
