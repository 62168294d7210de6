//! Route normalization: `/api/users/123?x=1` becomes `/api/users/:id`.
//!
//! Failures group by route only if ids do not split them, so numeric,
//! UUID and long hex path segments become `:id`. The query string and the
//! fragment are dropped, an absolute-form request target loses its scheme
//! and host, and the result is bounded in length so that hostile URLs
//! cannot blow up memory.

/// Longest route kept, in bytes; longer ones end in `...`.
pub const MAX_ROUTE: usize = 200;

/// Writes the normalized route of `raw` into `out` (cleared first). `raw`
/// is a request line (`GET /x HTTP/1.1`) or a bare path. Returns false when
/// there is no usable path.
pub fn normalize(raw: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let target = request_target(raw);
    let mut path = strip_origin(target);
    if let Some(i) = memchr::memchr2(b'?', b'#', path) {
        path = &path[..i];
    }
    if path.is_empty() {
        return false;
    }
    if path[0] != b'/' {
        // `*` (OPTIONS), authority form (CONNECT) or garbage: keep bounded.
        push_bounded(out, path);
        return true;
    }
    for seg in path[1..].split(|&c| c == b'/') {
        out.push(b'/');
        if is_id(seg) {
            out.extend_from_slice(b":id");
        } else {
            out.extend_from_slice(seg);
        }
        if out.len() > MAX_ROUTE {
            out.truncate(MAX_ROUTE);
            out.extend_from_slice(b"...");
            break;
        }
    }
    true
}

/// The request target of a request line, or `raw` itself when it is not one.
fn request_target(raw: &[u8]) -> &[u8] {
    let method_end = raw.iter().take(16).position(|&c| c == b' ');
    match method_end {
        Some(i) if i > 0 && raw[..i].iter().all(|c| c.is_ascii_uppercase()) => {
            let rest = &raw[i + 1..];
            // The version is after the last space (memrchr is SIMD; a
            // reverse substring search is not).
            match memchr::memrchr(b' ', rest).filter(|&j| rest[j + 1..].starts_with(b"HTTP/")) {
                Some(j) => &rest[..j],
                // Cut line or HTTP/0.9: up to the next space.
                None => &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())],
            }
        }
        _ => raw,
    }
}

/// `http://host:port/path` -> `/path`.
fn strip_origin(t: &[u8]) -> &[u8] {
    if t.first() == Some(&b'/') {
        return t;
    }
    let Some(i) = t
        .iter()
        .take(12)
        .position(|&c| c == b':')
        .filter(|&i| t[i..].starts_with(b"://"))
    else {
        return t;
    };
    let rest = &t[i + 3..];
    match memchr::memchr(b'/', rest) {
        Some(j) => &rest[j..],
        None => b"/",
    }
}

fn push_bounded(out: &mut Vec<u8>, b: &[u8]) {
    if b.len() > MAX_ROUTE {
        out.extend_from_slice(&b[..MAX_ROUTE]);
        out.extend_from_slice(b"...");
    } else {
        out.extend_from_slice(b);
    }
}

/// A segment that is an identifier rather than part of the route's shape:
/// all digits, a UUID, or a long hex string with at least one digit.
fn is_id(seg: &[u8]) -> bool {
    if seg.is_empty() {
        return false;
    }
    if seg.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if is_uuid(seg) {
        return true;
    }
    seg.len() >= 16 && seg.iter().all(u8::is_ascii_hexdigit) && seg.iter().any(u8::is_ascii_digit)
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Option<String> {
        let mut out = Vec::new();
        normalize(s.as_bytes(), &mut out).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn ids_and_queries() {
        assert_eq!(
            norm("GET /api/users/123?x=1 HTTP/1.1").unwrap(),
            "/api/users/:id"
        );
        assert_eq!(
            norm("POST /api/orders/8a6e0804-2bd0-4672-b79d-d97027f9071a/items/7 HTTP/2.0").unwrap(),
            "/api/orders/:id/items/:id"
        );
        assert_eq!(
            norm("/img/5f2b9c0e4d3a1b7c8e9f/x.png").unwrap(),
            "/img/:id/x.png"
        );
        assert_eq!(norm("/deadbeefdeadbeef/").unwrap(), "/deadbeefdeadbeef/");
        assert_eq!(norm("/v2/api#frag").unwrap(), "/v2/api");
        assert_eq!(norm("/").unwrap(), "/");
        assert_eq!(norm("/a//b").unwrap(), "/a//b");
    }

    #[test]
    fn absolute_form_and_odd_targets() {
        assert_eq!(
            norm("GET http://example.com:8080/a/1 HTTP/1.1").unwrap(),
            "/a/:id"
        );
        assert_eq!(norm("GET http://example.com HTTP/1.1").unwrap(), "/");
        assert_eq!(norm("OPTIONS * HTTP/1.1").unwrap(), "*");
        assert_eq!(norm("GET /cut/at/2048/byt").unwrap(), "/cut/at/:id/byt");
        assert_eq!(norm("GET /a b c HTTP/1.1").unwrap(), "/a b c");
        assert!(norm("GET ?x HTTP/1.1").is_none());
    }

    #[test]
    fn long_routes_are_bounded() {
        let long = format!("/{}", "a/".repeat(500));
        let r = norm(&long).unwrap();
        assert!(r.len() <= MAX_ROUTE + 3, "{}", r.len());
        assert!(r.ends_with("..."));
    }
}
