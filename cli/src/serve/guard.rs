//! Which requests the local server answers: those addressed to it, from a
//! client that is not a browser page of another site. A web page can make a
//! browser send requests to loopback; the `Host` check stops DNS rebinding
//! (a hostile name resolved to 127.0.0.1), the `Origin` and `Sec-Fetch-Site`
//! checks stop cross-site requests (a form, a `fetch`, an `<img>` whose URL
//! carries the demo key).

use std::net::SocketAddr;

use hyper::{HeaderMap, StatusCode, Uri, header};

/// The host names and origins of one listening address.
#[derive(Debug, Clone)]
pub struct Guard {
    /// `127.0.0.1:3000`, `localhost:3000`, ...: the `Host` values accepted.
    hosts: Vec<String>,
    /// The same, as `http://` origins.
    origins: Vec<String>,
}

/// Why a request is not answered, as its status and error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub error: String,
}

impl Guard {
    pub fn new(addr: SocketAddr) -> Guard {
        let ip = addr.ip();
        let mut names = vec![if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() }];
        // `localhost` names 127.0.0.1 or ::1, never another loopback address.
        if ip == std::net::Ipv4Addr::LOCALHOST || ip == std::net::Ipv6Addr::LOCALHOST {
            names.push("localhost".to_owned());
        }
        let mut hosts: Vec<String> = names.iter().map(|name| format!("{name}:{}", addr.port())).collect();
        // Clients leave HTTP's default port out.
        if addr.port() == 80 {
            hosts.extend(names);
        }
        let origins = hosts.iter().map(|h| format!("http://{h}")).collect();
        Guard { hosts, origins }
    }

    /// `None` when the request may be answered.
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Option<Refusal> {
        let host = uri.authority().map(|a| a.as_str()).or_else(|| headers.get(header::HOST)?.to_str().ok());
        if !host.is_some_and(|h| self.is_own_host(h)) {
            return Some(Refusal {
                status: StatusCode::MISDIRECTED_REQUEST,
                error: format!("Misdirected request: the Host header must be {}", self.hosts.join(" or ")),
            });
        }
        let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or_default());
        let fetch_site = headers.get("sec-fetch-site").map(|s| s.to_str().unwrap_or_default());
        // `none`: typed into the address bar or a bookmark, the user's own.
        let cross_site =
            fetch_site.is_some_and(|s| !s.eq_ignore_ascii_case("same-origin") && !s.eq_ignore_ascii_case("none"));
        if origin.is_some_and(|o| !self.origins.iter().any(|own| own.eq_ignore_ascii_case(o))) || cross_site {
            return Some(Refusal {
                status: StatusCode::FORBIDDEN,
                error: format!("Cross-origin request refused: only {} may call this server", self.origins.join(" or ")),
            });
        }
        None
    }

    fn is_own_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|own| own.eq_ignore_ascii_case(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(addr: &str, uri: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        let uri: Uri = uri.parse().unwrap();
        Guard::new(addr.parse().unwrap()).check(&uri, &map).map(|r| (r.status.as_u16(), r.error))
    }

    #[test]
    fn only_the_servers_own_host_is_answered() {
        let ok = |host| check("127.0.0.1:3000", "/", &[("host", host)]);
        assert_eq!(ok("127.0.0.1:3000"), None);
        assert_eq!(ok("localhost:3000"), None);
        assert_eq!(ok("LocalHost:3000"), None);
        let refused =
            Some((421, "Misdirected request: the Host header must be 127.0.0.1:3000 or localhost:3000".to_owned()));
        for host in ["evil.example:3000", "127.0.0.1:3001", "127.0.0.1", "localhost", "127.0.0.1:3000.evil.example", ""]
        {
            assert_eq!(ok(host), refused, "{host}");
        }
        assert_eq!(check("127.0.0.1:3000", "/", &[]), refused, "no Host at all");
        // An absolute URI names the host itself.
        assert_eq!(check("127.0.0.1:3000", "http://evil.example:3000/", &[("host", "127.0.0.1:3000")]), refused);
        assert_eq!(check("127.0.0.1:3000", "http://localhost:3000/", &[("host", "localhost:3000")]), None);
    }

    #[test]
    fn ipv6_and_other_loopback_addresses_have_their_own_hosts() {
        assert_eq!(check("[::1]:3000", "/", &[("host", "[::1]:3000")]), None);
        assert_eq!(check("[::1]:3000", "/", &[("host", "localhost:3000")]), None);
        assert_eq!(
            check("127.0.0.2:3000", "/", &[("host", "localhost:3000")]),
            Some((421, "Misdirected request: the Host header must be 127.0.0.2:3000".to_owned()))
        );
        assert_eq!(check("127.0.0.1:80", "/", &[("host", "localhost")]), None);
        assert_eq!(check("127.0.0.1:80", "/", &[("host", "127.0.0.1:80"), ("origin", "http://127.0.0.1")]), None);
    }

    #[test]
    fn cross_origin_browser_requests_are_refused() {
        let with = |headers: &[(&str, &str)]| {
            let mut all = vec![("host", "127.0.0.1:3000")];
            all.extend_from_slice(headers);
            check("127.0.0.1:3000", "/", &all)
        };
        let refused = Some((
            403,
            "Cross-origin request refused: only http://127.0.0.1:3000 or http://localhost:3000 may call this server"
                .to_owned(),
        ));
        assert_eq!(with(&[("origin", "https://evil.example")]), refused);
        assert_eq!(with(&[("origin", "null")]), refused);
        assert_eq!(with(&[("origin", "http://127.0.0.1:3001")]), refused);
        // An <img> or a link from another site sends no Origin with a GET.
        assert_eq!(with(&[("sec-fetch-site", "cross-site")]), refused);
        assert_eq!(with(&[("sec-fetch-site", "same-site")]), refused);
        assert_eq!(with(&[("origin", "http://127.0.0.1:3000"), ("sec-fetch-site", "same-origin")]), None);
        assert_eq!(with(&[("origin", "http://localhost:3000")]), None);
        assert_eq!(with(&[("sec-fetch-site", "none")]), None, "the address bar");
        assert_eq!(with(&[]), None, "curl and other clients");
    }
}
