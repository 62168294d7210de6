//! Access-log formats compiled into a [`Plan`]: an nginx `log_format`
//! (the bare string, or the directive as written in nginx.conf: name,
//! `escape=`, joined quoted pieces, `;`) or an Apache `LogFormat` string,
//! told apart by their directives (`$var` against `%x`).

use std::fmt;

/// Which server's format a plan was compiled from: their time variables
/// mean different moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// nginx: `$time_local` is when the request ended (the line is written
    /// then).
    Nginx,
    /// Apache httpd: `%t` is when the request started.
    Apache,
}

/// A value of the line that the report uses; everything else is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `$remote_addr`, `%h`, `%a`.
    Client,
    /// `$time_local`, `%t` (inside its brackets): `20/Nov/2026:10:23:45 +0000`.
    TimeLocal,
    /// `$time_iso8601`: `2026-11-20T10:23:45+00:00`.
    TimeIso,
    /// `$msec`: seconds since the epoch with milliseconds.
    Msec,
    /// `$request`, `%r`: `GET /x HTTP/1.1`.
    Request,
    /// `$request_uri`, `$uri`, `%U`: a path.
    Uri,
    /// `$status`, `%>s`, `%s`.
    Status,
    /// `$request_time`: seconds with milliseconds.
    RequestSecs,
    /// `%D`, `%{us}T`: microseconds.
    RequestMicros,
    /// `%{ms}T`: milliseconds.
    RequestMillis,
    /// `%T`, `%{s}T`: whole seconds.
    RequestWholeSecs,
    /// `$upstream_addr`, `%{BALANCER_WORKER_NAME}e`.
    UpstreamAddr,
    /// `$upstream_status`.
    UpstreamStatus,
    /// `$upstream_response_time`.
    UpstreamResponseTime,
    /// `$upstream_connect_time`.
    UpstreamConnectTime,
    /// `$upstream_header_time`.
    UpstreamHeaderTime,
    /// `$connection`: nginx's connection number, the error log's `*N`.
    Connection,
    /// `$request_id`, `$req_id`, Apache's `%L` (the error log's log id).
    RequestId,
    /// `$proxy_upstream_name` (ingress-nginx).
    UpstreamName,
    /// Anything else (`$body_bytes_sent`, `%{User-agent}i`, ...).
    Other,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Bytes the line holds as written.
    Literal(Vec<u8>),
    /// A value, up to the next literal (or the end of the line).
    Field(Field),
}

/// The fields at the end of a line that the fast reading leaves unread,
/// in order, three bits each above a four-bit count: each is one that
/// only a few lines ask for ([`AccessLine`](super::AccessLine)'s methods give it) or one not
/// kept at all. The fast reading has made sure of where they end: the
/// first spaces of the text left unread end them, none inside a
/// multi-value upstream field, so that they are read as the walk reads
/// them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Later(u64);

impl Later {
    /// The most fields left unread.
    const MAX: usize = 15;

    /// The code of a field that may be left unread.
    pub(super) fn code(f: Field) -> Option<u64> {
        Some(match f {
            Field::Other => 0,
            Field::UpstreamResponseTime => 1,
            Field::UpstreamConnectTime => 2,
            Field::UpstreamHeaderTime => 3,
            Field::Connection => 4,
            Field::RequestId => 5,
            _ => return None,
        })
    }

    /// `fields`, left unread: `None` for none, too many, or one that
    /// every line needs.
    pub(super) fn of(fields: &[Field]) -> Option<Later> {
        if fields.is_empty() || fields.len() > Self::MAX {
            return None;
        }
        let mut bits = fields.len() as u64;
        for (i, f) in fields.iter().enumerate() {
            bits |= Self::code(*f)? << (4 + 3 * i);
        }
        Some(Later(bits))
    }

    /// How many fields.
    #[inline(always)]
    pub(super) fn len(self) -> usize {
        (self.0 & 15) as usize
    }

    /// The place of the last field with `code`, if any.
    pub(super) fn last(self, code: u64) -> Option<usize> {
        (0..self.len())
            .rev()
            .find(|i| (self.0 >> (4 + 3 * i)) & 7 == code)
    }
}

/// A compiled access-log format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its name (`combined`, the `log_format` name, or `custom`).
    pub name: String,
    /// Whose format it is.
    pub dialect: Dialect,
    /// Literals and fields in line order; two fields are never adjacent
    /// (the first of such a pair is made [`Field::Other`] and takes both).
    pub items: Vec<Item>,
    /// The items compiled for the fast reading ([`super::fast`]).
    pub(super) fast: Fast,
    /// Which compilation it is ([`PlanId`]).
    pub(super) id: PlanId,
}

/// Which compilation of a format a plan is (its copies share it): a line
/// read in full by a plan again is read without clearing the values of the
/// line before, which the same plan writes over ([`super::read_into`]). Not
/// part of what a plan is: two plans compiled from one format are equal.
#[derive(Debug, Clone, Copy)]
pub(super) struct PlanId(pub(super) u64);

impl PlanId {
    /// A new one, never 0 (the id of no plan).
    fn next() -> PlanId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        PlanId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl PartialEq for PlanId {
    fn eq(&self, _: &PlanId) -> bool {
        true
    }
}

impl Eq for PlanId {}

/// How a field ends: the literal after it, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// ` `.
    Space,
    /// `"` (a quoted field at the end of the format).
    Quote,
    /// `" ` (a quoted field, then a space).
    QuoteSpace,
    /// ` "` (a field, then a quoted one).
    SpaceQuote,
    /// `" "` (two quoted fields).
    QuoteSpaceQuote,
    /// ` [` (a field, then a bracketed one).
    SpaceBracket,
    /// `] "` (the time, then a quoted field).
    BracketSpaceQuote,
    /// ` - ` (the client, then `$remote_user`'s dash).
    SpaceDashSpace,
    /// `"` ending the last field of the format, one the report does not
    /// use (Apache's and nginx's `combined` end with the user agent): the
    /// line need only hold such a quote, not say where the first is.
    UnreadQuote,
    /// Any other literal (kept in [`Step::other`], so that the kind is a
    /// plain byte to dispatch on).
    Other,
    /// The field runs to the end of the line.
    Line,
}

impl End {
    fn of(lit: &[u8]) -> End {
        match lit {
            b" " => End::Space,
            b"\"" => End::Quote,
            b"\" " => End::QuoteSpace,
            b" \"" => End::SpaceQuote,
            b"\" \"" => End::QuoteSpaceQuote,
            b" [" => End::SpaceBracket,
            b"] \"" => End::BracketSpaceQuote,
            b" - " => End::SpaceDashSpace,
            _ => End::Other,
        }
    }
}

/// One field and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Step {
    pub(super) field: Field,
    pub(super) end: End,
    /// The literal, for [`End::Other`] (empty otherwise).
    pub(super) other: Vec<u8>,
}

/// A plan compiled for [`super::fast::fill`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fast {
    /// The literal before the first field, if the format starts with one.
    pub(super) lead: Vec<u8>,
    pub(super) steps: Vec<Step>,
    /// Whether the plan starts as nginx's `combined` does, up to the
    /// user agent (`main`, ingress-nginx's and many custom formats do):
    /// those first seven fields are read in a row, without the per-step
    /// dispatch ([`super::fast`]).
    pub(super) combined: bool,
    /// Where the steps that end at a space start, when the plan ends with
    /// two or more of them and a field to the end of the line (the
    /// upstream variables of many custom formats): those are read from
    /// one run of masks of their spaces ([`super::fast`]); `steps.len()`
    /// otherwise.
    pub(super) spaces: usize,
    /// How many of the steps that end at a space, with the last one, are
    /// left unread by the fast reading ([`Later`]): the
    /// fields at the end of the line that only a few lines need (the
    /// upstream times, the connection, the request id); 0 for none.
    pub(super) lazy: usize,
    /// Those fields, in order.
    pub(super) later: Later,
}

/// The first seven steps of nginx's `combined` (and of Apache's, written
/// alike): `$remote_addr - $remote_user [$time_local] "$request" $status
/// $body_bytes_sent "$http_referer" "`.
const COMBINED: [(Field, End); 7] = [
    (Field::Client, End::SpaceDashSpace),
    (Field::Other, End::SpaceBracket),
    (Field::TimeLocal, End::BracketSpaceQuote),
    (Field::Request, End::QuoteSpace),
    (Field::Status, End::Space),
    (Field::Other, End::SpaceQuote),
    (Field::Other, End::QuoteSpaceQuote),
];

impl Fast {
    /// Compiles the items of a plan (literals and fields alternate: the
    /// builder merges adjacent ones).
    pub(super) fn compile(items: &[Item]) -> Fast {
        let mut lead = Vec::new();
        let mut steps = Vec::new();
        let mut i = 0;
        if let Some(Item::Literal(l)) = items.first() {
            lead.clone_from(l);
            i = 1;
        }
        while let Some(Item::Field(f)) = items.get(i) {
            let (end, other) = match items.get(i + 1) {
                Some(Item::Literal(l)) => match End::of(l) {
                    End::Other => (End::Other, l.clone()),
                    end => (end, Vec::new()),
                },
                _ => (End::Line, Vec::new()),
            };
            steps.push(Step {
                field: *f,
                end,
                other,
            });
            i += 2;
        }
        if let Some(last) = steps.last_mut()
            && last.field == Field::Other
            && last.end == End::Quote
            && items.len() == i
        {
            last.end = End::UnreadQuote;
        }
        let combined = lead.is_empty()
            && steps.len() > COMBINED.len()
            && steps
                .iter()
                .zip(COMBINED)
                .all(|(s, (field, end))| s.field == field && s.end == end);
        let head = if combined { COMBINED.len() } else { 0 };
        let mut spaces = steps.len();
        if steps.last().is_some_and(|s| s.end == End::Line) {
            let last = steps.len() - 1;
            let mut from = last;
            while from > head && steps[from - 1].end == End::Space {
                from -= 1;
            }
            if last - from >= 2 {
                spaces = from;
            }
        }
        let (mut lazy, mut later) = (0, Later::default());
        if spaces < steps.len() {
            let tail = &steps[spaces..];
            let n = tail
                .iter()
                .rev()
                .take_while(|s| Later::code(s.field).is_some())
                .count();
            let fields: Vec<Field> = tail[tail.len() - n..].iter().map(|s| s.field).collect();
            if let Some(l) = Later::of(&fields) {
                (lazy, later) = (n, l);
            }
        }
        Fast {
            lead,
            steps,
            combined,
            spaces,
            lazy,
            later,
        }
    }
}

/// Why a format string could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Plan {
    /// Compiles a format as given to `--access-format`: an nginx
    /// `log_format` (bare or as the directive) or an Apache `LogFormat`.
    pub fn compile(spec: &str) -> Result<Plan, FormatError> {
        let s = spec.trim();
        if s.is_empty() {
            return Err(FormatError("the access format is empty".into()));
        }
        if let Some(rest) = strip_word(s, "log_format") {
            return nginx_directive(rest);
        }
        if let Some(rest) = strip_word(s, "LogFormat") {
            return apache_directive(rest);
        }
        match (has_nginx_var(s), has_apache_directive(s)) {
            (true, false) => nginx("custom", s, false),
            (false, true) => apache("custom", &unescape_apache(s)),
            (true, true) => Err(FormatError(
                "the access format has both nginx $variables and Apache %directives: give one server's format".into(),
            )),
            (false, false) => Err(FormatError(
                "the access format has no nginx $variable and no Apache %directive".into(),
            )),
        }
    }

    /// Whether the plan reads the response status (a plan without it says
    /// nothing about what clients got).
    pub fn has(&self, f: Field) -> bool {
        self.items.contains(&Item::Field(f))
    }
}

fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(word)?;
    rest.starts_with(|c: char| c.is_ascii_whitespace())
        .then(|| rest.trim_start())
}

fn has_nginx_var(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || w[1] == b'{' || w[1] == b'_'))
}

fn has_apache_directive(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2).any(|w| {
        w[0] == b'%' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'>' | b'<' | b'{' | b'!'))
    })
}

/// `main escape=json '...' '...';` after the directive's name.
fn nginx_directive(rest: &str) -> Result<Plan, FormatError> {
    let mut words = Words(rest);
    let name = words
        .next_word()
        .ok_or_else(|| FormatError("log_format has no name".into()))?;
    let mut json = false;
    let mut text = String::new();
    let mut pieces = 0;
    while let Some(w) = words.next_piece()? {
        match w {
            Piece::Bare(b) if pieces == 0 && b.starts_with("escape=") => {
                json = match &b["escape=".len()..] {
                    "json" => true,
                    "default" | "none" => false,
                    other => {
                        return Err(FormatError(format!(
                            "log_format {name}: unknown escape={other}"
                        )));
                    }
                };
            }
            Piece::Bare(b) | Piece::Quoted(b) => {
                text.push_str(&b);
                pieces += 1;
            }
        }
    }
    if pieces == 0 {
        return Err(FormatError(format!(
            "log_format {name} has no format string"
        )));
    }
    nginx(&name, &text, json)
}

/// `"%h %l ..." name` after the directive's name.
fn apache_directive(rest: &str) -> Result<Plan, FormatError> {
    let mut words = Words(rest);
    let Some(Piece::Quoted(text) | Piece::Bare(text)) = words.next_piece()? else {
        return Err(FormatError("LogFormat has no format string".into()));
    };
    let name = match words.next_piece()? {
        Some(Piece::Bare(n) | Piece::Quoted(n)) => n,
        None => "custom".into(),
    };
    apache(&name, &text)
}

enum Piece {
    Bare(String),
    Quoted(String),
}

/// The words and quoted strings of a configuration directive.
struct Words<'a>(&'a str);

impl Words<'_> {
    fn next_word(&mut self) -> Option<String> {
        match self.next_piece() {
            Ok(Some(Piece::Bare(w) | Piece::Quoted(w))) => Some(w),
            _ => None,
        }
    }

    /// The next piece; `None` at the end or at `;`.
    fn next_piece(&mut self) -> Result<Option<Piece>, FormatError> {
        let s = self.0.trim_start();
        let Some(first) = s.chars().next() else {
            self.0 = s;
            return Ok(None);
        };
        if first == ';' {
            self.0 = "";
            return Ok(None);
        }
        if first == '\'' || first == '"' {
            let mut out = String::new();
            let mut chars = s[1..].char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '\\' {
                    // A backslash keeps the quote it escapes; any other
                    // escape stays as written for the format to read.
                    if let Some((_, n)) = chars.next() {
                        if n != first {
                            out.push('\\');
                        }
                        out.push(n);
                    }
                    continue;
                }
                if c == first {
                    self.0 = &s[1 + i + 1..];
                    return Ok(Some(Piece::Quoted(out)));
                }
                out.push(c);
            }
            return Err(FormatError(format!("unterminated {first}-quoted string")));
        }
        let end = s
            .find(|c: char| c.is_ascii_whitespace() || c == ';')
            .unwrap_or(s.len());
        self.0 = &s[end..];
        Ok(Some(Piece::Bare(s[..end].to_string())))
    }
}

/// Apache's format strings as written in a config: `\"`, `\t`, `\n`.
fn unescape_apache(s: &str) -> String {
    let s = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s);
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Builds the items, merging adjacent literals and fields.
struct Builder {
    items: Vec<Item>,
}

impl Builder {
    fn lit(&mut self, b: &[u8]) {
        if b.is_empty() {
            return;
        }
        if let Some(Item::Literal(l)) = self.items.last_mut() {
            l.extend_from_slice(b);
        } else {
            self.items.push(Item::Literal(b.to_vec()));
        }
    }

    fn field(&mut self, f: Field) {
        if let Some(Item::Field(prev)) = self.items.last_mut() {
            // Two values with nothing between them cannot be told apart:
            // both are skipped together.
            *prev = Field::Other;
            return;
        }
        self.items.push(Item::Field(f));
    }

    fn finish(self, name: &str, dialect: Dialect) -> Result<Plan, FormatError> {
        let plan = Plan {
            name: name.to_string(),
            dialect,
            fast: Fast::compile(&self.items),
            items: self.items,
            id: PlanId::next(),
        };
        if !plan.has(Field::Status) {
            return Err(FormatError(format!(
                "the access format {name} has no response status ($status or %>s): it cannot tell what clients got"
            )));
        }
        Ok(plan)
    }
}

fn nginx_var(name: &str) -> Field {
    match name {
        "remote_addr" | "binary_remote_addr" | "realip_remote_addr" => Field::Client,
        "time_local" => Field::TimeLocal,
        "time_iso8601" => Field::TimeIso,
        "msec" => Field::Msec,
        "request" => Field::Request,
        "request_uri" | "uri" | "document_uri" => Field::Uri,
        "status" => Field::Status,
        "request_time" => Field::RequestSecs,
        "upstream_addr" => Field::UpstreamAddr,
        "upstream_status" => Field::UpstreamStatus,
        "upstream_response_time" => Field::UpstreamResponseTime,
        "upstream_connect_time" => Field::UpstreamConnectTime,
        "upstream_header_time" => Field::UpstreamHeaderTime,
        "connection" => Field::Connection,
        "request_id" | "req_id" => Field::RequestId,
        "proxy_upstream_name" => Field::UpstreamName,
        _ => Field::Other,
    }
}

/// An nginx format string (the pieces already joined).
pub(super) fn nginx(name: &str, text: &str, _json: bool) -> Result<Plan, FormatError> {
    let b = text.as_bytes();
    let mut out = Builder { items: Vec::new() };
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        let (name_start, name_end, next) = if b.get(i + 1) == Some(&b'{') {
            match b[i + 2..].iter().position(|&c| c == b'}') {
                Some(p) => (i + 2, i + 2 + p, i + 3 + p),
                None => return Err(FormatError(format!("unclosed ${{ in log_format {name}"))),
            }
        } else {
            let end = b[i + 1..]
                .iter()
                .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                .map_or(b.len(), |p| i + 1 + p);
            (i + 1, end, end)
        };
        if name_end == name_start {
            i += 1;
            continue;
        }
        out.lit(&b[lit_start..i]);
        out.field(nginx_var(&text[name_start..name_end]));
        i = next;
        lit_start = next;
    }
    out.lit(&b[lit_start..]);
    out.finish(name, Dialect::Nginx)
}

/// An Apache `LogFormat` string (already unescaped).
pub(super) fn apache(name: &str, text: &str) -> Result<Plan, FormatError> {
    let b = text.as_bytes();
    let mut out = Builder { items: Vec::new() };
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        out.lit(&b[lit_start..i]);
        let mut j = i + 1;
        if b.get(j) == Some(&b'%') {
            out.lit(b"%");
            i = j + 1;
            lit_start = i;
            continue;
        }
        // Conditions and redirect markers: `%400,501{...}i`, `%!200s`, `%>s`.
        while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b',' | b'!' | b'<' | b'>')) {
            j += 1;
        }
        let mut arg = "";
        if b.get(j) == Some(&b'{') {
            let Some(p) = b[j..].iter().position(|&c| c == b'}') else {
                return Err(FormatError(format!("unclosed %{{ in LogFormat {name}")));
            };
            arg = &text[j + 1..j + p];
            j += p + 1;
        }
        let Some(&letter) = b.get(j) else {
            return Err(FormatError(format!("LogFormat {name} ends in a lone %")));
        };
        let field = match (letter, arg) {
            (b'h' | b'a', _) => Field::Client,
            (b't', "") => {
                out.lit(b"[");
                out.field(Field::TimeLocal);
                out.lit(b"]");
                i = j + 1;
                lit_start = i;
                continue;
            }
            (b'r', _) => Field::Request,
            (b'U', _) => Field::Uri,
            (b's', _) => Field::Status,
            (b'D', _) | (b'T', "us") => Field::RequestMicros,
            (b'T', "ms") => Field::RequestMillis,
            (b'T', "" | "s") => Field::RequestWholeSecs,
            (b'e', "BALANCER_WORKER_NAME") => Field::UpstreamAddr,
            (b'L', _) => Field::RequestId,
            (b'e', "UNIQUE_ID") => Field::RequestId,
            _ => Field::Other,
        };
        out.field(field);
        i = j + 1;
        lit_start = i;
    }
    out.lit(&b[lit_start..]);
    out.finish(name, Dialect::Apache)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(p: &Plan) -> Vec<Field> {
        p.items
            .iter()
            .filter_map(|i| match i {
                Item::Field(f) => Some(*f),
                Item::Literal(_) => None,
            })
            .collect()
    }

    #[test]
    fn nginx_directive_with_joined_pieces_and_escape() {
        let p = Plan::compile(
            "log_format upstreams escape=json '{\"t\":\"$time_local\",'\n   '\"s\":\"$status\",\"c\":\"${connection}x\"}';",
        )
        .unwrap();
        assert_eq!(p.name, "upstreams");
        assert_eq!(p.dialect, Dialect::Nginx);
        assert_eq!(
            fields(&p),
            [Field::TimeLocal, Field::Status, Field::Connection]
        );
        assert_eq!(p.items[0], Item::Literal(b"{\"t\":\"".to_vec()));
        assert_eq!(p.items.last(), Some(&Item::Literal(b"x\"}".to_vec())));
    }

    #[test]
    fn apache_string_with_escapes_and_modifiers() {
        let p = Plan::compile(
            r#""%h %l %u %t \"%r\" %>s %b %D %L %{BALANCER_WORKER_NAME}e %400,501{Referer}i %%""#,
        )
        .unwrap();
        assert_eq!(p.dialect, Dialect::Apache);
        assert_eq!(
            fields(&p),
            [
                Field::Client,
                Field::Other,
                Field::Other,
                Field::TimeLocal,
                Field::Request,
                Field::Status,
                Field::Other,
                Field::RequestMicros,
                Field::RequestId,
                Field::UpstreamAddr,
                Field::Other,
            ]
        );
        assert_eq!(p.items.last(), Some(&Item::Literal(b" %".to_vec())));
        let d = Plan::compile(r#"LogFormat "%h %t \"%r\" %>s" mine"#).unwrap();
        assert_eq!(d.name, "mine");
        assert_eq!(d.items[1], Item::Literal(b" [".to_vec()));
    }

    #[test]
    fn refused_formats() {
        for bad in [
            "",
            "plain words",
            "$remote_addr %h",
            "$remote_addr [$time_local]",
            "log_format main '$status",
            "log_format x escape=weird '$status';",
            "%h %t %",
        ] {
            assert!(Plan::compile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn adjacent_fields_are_skipped_together() {
        let p = Plan::compile("$status$request_time $connection").unwrap_err();
        assert!(p.0.contains("no response status"), "{p}");
        let p = Plan::compile("$status $request_time$body_bytes_sent").unwrap();
        assert_eq!(fields(&p), [Field::Status, Field::Other]);
    }
}
