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

pub mod access;
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

    /// The one file a glob names among the installed packages' files.
    fn installed(pattern: &str) -> Option<PathBuf> {
        glob::glob(pattern).ok()?.flatten().next()
    }

    /// The 1-based line of `file` that starts with `prefix`.
    fn line_of(file: &std::path::Path, prefix: &str) -> u32 {
        let text = std::fs::read_to_string(file).unwrap();
        text.lines()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in {}", file.display())) as u32
            + 1
    }

    #[test]
    #[ignore = "reads Debian's installed apache2 and php-fpm configuration; .ci/run runs it after installing the packages"]
    fn debians_apache2_configuration_as_shipped() {
        let main = PathBuf::from("/etc/apache2/apache2.conf");
        if !main.exists() {
            eprintln!("skipped: /etc/apache2/apache2.conf is absent (apt-get install apache2)");
            return;
        }
        let c = ServerConfig::load(std::slice::from_ref(&main)).unwrap();
        let a = &c.apache[0];
        // Timeout 300, as Debian sets it (httpd's own default is 60).
        let t = a.setting(&a.main_server, "Timeout").unwrap();
        assert_eq!(t.value, "300");
        assert_eq!(t.at.unwrap().line, line_of(&main, "Timeout "));
        assert_eq!(a.setting(&a.main_server, "ProxyTimeout"), None);
        // ${APACHE_RUN_USER} and ${APACHE_LOG_DIR} from envvars.
        let (user, at) = a.user.clone().unwrap();
        assert_eq!(user, "www-data");
        assert_eq!(at.unwrap().line, line_of(&main, "User "));
        assert_eq!(
            a.main_server.error_log.as_ref().unwrap().0,
            "/var/log/apache2/error.log"
        );
        let default_site = PathBuf::from("/etc/apache2/sites-enabled/000-default.conf");
        if default_site.exists() {
            let vh = a
                .vhosts
                .iter()
                .find(|v| {
                    v.at.as_ref()
                        .is_some_and(|o| o.file.ends_with("000-default.conf"))
                })
                .expect("the default site's VirtualHost");
            assert_eq!(vh.addrs, ["*:80"]);
            assert_eq!(
                vh.error_log.as_ref().unwrap().0,
                "/var/log/apache2/error.log"
            );
            assert!(
                a.route(vh, "/index.html").is_none(),
                "the default site proxies nothing"
            );
        }
        assert_eq!(lint::lint(&c), []);

        // With the PHP-FPM handler php-fpm's package ships for Apache and
        // its pools: the handler's socket is the www pool's, which
        // www-data may open.
        let (Some(php_conf), Some(fpm)) = (
            installed("/etc/apache2/conf-available/php*-fpm.conf"),
            installed("/etc/php/*/fpm/php-fpm.conf"),
        ) else {
            eprintln!("skipped the PHP part: php-fpm is not installed (apt-get install php-fpm)");
            return;
        };
        let c = ServerConfig::load(&[main, php_conf.clone(), fpm]).unwrap();
        let www = c.pools.iter().find(|p| p.name == "www").unwrap();
        let h = &c.apache[1];
        let r = h
            .route(&h.main_server, "/index.php")
            .expect("a handler for PHP");
        assert!(
            r.target().starts_with("unix:/run/php/php"),
            "{}",
            r.target()
        );
        assert!(www.serves(apache::endpoint(r.target())));
        assert_eq!(r.at().line, line_of(&php_conf, "        SetHandler"));
        assert!(h.route(&h.main_server, "/style.css").is_none());
        assert_eq!(lint::lint(&c), []);
    }

    #[test]
    #[ignore = "runs the installed apache2ctl -S; .ci/run runs it after installing apache2"]
    fn apachectl_s_of_the_installed_server() {
        let Ok(out) = std::process::Command::new("apache2ctl").arg("-S").output() else {
            eprintln!("skipped: no apache2ctl (apt-get install apache2)");
            return;
        };
        let d = tempfile::tempdir().unwrap();
        let dump = d.path().join("S.txt");
        std::fs::write(&dump, [out.stdout, out.stderr].concat()).unwrap();
        // Alone, it brings the main file under its ServerRoot.
        let c = ServerConfig::load(&[dump]).unwrap();
        assert_eq!(c.apache.len(), 1);
        assert_eq!(c.apache[0].main, PathBuf::from("/etc/apache2/apache2.conf"));
        assert_eq!(c.apache[0].user.as_ref().unwrap().0, "www-data");
    }

    #[test]
    #[ignore = "reads Debian's installed nginx configuration; .ci/run runs it after installing nginx"]
    fn debians_nginx_configuration_as_shipped() {
        let main = PathBuf::from("/etc/nginx/nginx.conf");
        if !main.exists() {
            eprintln!("skipped: /etc/nginx/nginx.conf is absent (apt-get install nginx)");
            return;
        }
        let c = ServerConfig::load(std::slice::from_ref(&main)).unwrap();
        let n = &c.nginx[0];
        let user = n.main_directives.iter().find(|d| d.name == "user").unwrap();
        assert_eq!(user.args, ["www-data"]);
        assert_eq!(user.at.line, line_of(&main, "user "));
        assert_eq!(lint::lint(&c), []);
        // The default site as shipped (sites-enabled/default links to it
        // on a fresh install): one server on port 80, whose `location /`
        // serves files; its PHP location is commented out.
        let site = PathBuf::from("/etc/nginx/sites-available/default");
        if !site.exists() {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let wrapper = d.path().join("nginx.conf");
        std::fs::write(
            &wrapper,
            format!("http {{\n    include {};\n}}\n", site.display()),
        )
        .unwrap();
        let c = ServerConfig::load(&[wrapper]).unwrap();
        let s = &c.nginx[0].sites[0];
        assert_eq!(
            s.listen,
            ["80", "default_server", "[::]:80", "default_server"]
        );
        let loc = nginx::Nginx::find(s, "/index.php").unwrap();
        assert_eq!(loc.pattern, "/");
        assert_eq!(loc.at.line, line_of(&site, "\tlocation / {"));
        assert!(nginx::pass_of(loc).is_none());
        assert_eq!(lint::lint(&c), []);
    }
}
