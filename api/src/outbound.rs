//! The one HTTP client for every URL the service fetches that someone else chose (an SSO
//! issuer and everything its discovery document names): `https` on public addresses only,
//! timeouts, a size cap, no redirects, no proxies.
//!
//! The address rule is applied twice, because either check alone has a hole:
//! - on the URL as parsed by the `url` crate, the parser the client itself uses, so that
//!   `127.1`, `0x7f.0.0.1`, `0177.0.0.1`, `127.0.0.1.` or `[::ffff:7f00:1]` are judged as the
//!   addresses they are (the HTTP connector connects to an IP-literal host without ever
//!   calling the resolver);
//! - on every address a name resolves to, inside the client's resolver, at connect time, so a
//!   name pointing at an internal address — or re-pointed there after a check (DNS rebinding) —
//!   is refused on the very addresses the connection would use.
//!
//! `AUTH_ALLOW_INSECURE_ISSUERS=true` (tests, development) lifts the `https` and address rules;
//! timeouts, the size cap and the redirect refusal stay.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::reqwest;
use openidconnect::url::Host;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{StatusCode, Url};

/// The largest answer read from a provider; a discovery document or key set is a few KiB.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a URL may not be fetched (judged before any connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is not a valid URL")]
    NotAUrl,
    #[error("does not use https")]
    NotHttps,
    #[error("is not on a public address")]
    NotPublic,
}

/// Why a fetch failed, in words an admin can read: never an address or an error chain (those
/// go to the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("could not be reached")]
    Unreachable,
    #[error("did not answer in time")]
    Timeout,
    #[error("answered with HTTP status {0}")]
    Status(u16),
    #[error("sent an answer larger than 1 MiB")]
    TooLarge,
    #[error("did not answer with the expected JSON")]
    NotJson,
}

/// Is this address one anybody on the internet can reach? Loopback, private, link-local,
/// shared, unique-local, multicast, unspecified, broadcast, documentation, benchmarking and
/// reserved ranges are not, nor are IPv6 forms that embed such an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    non_public_range(ip).is_none()
}

/// The name of the non-public range `ip` falls in, if any.
pub fn non_public_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

/// IPv4 ranges that are not public (RFC 6890 and its updates): (network, prefix length, name).
const V4_RANGES: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this network (0/8)"),
    ([10, 0, 0, 0], 8, "private (10/8)"),
    ([100, 64, 0, 0], 10, "shared address space (100.64/10)"),
    ([127, 0, 0, 0], 8, "loopback (127/8)"),
    ([169, 254, 0, 0], 16, "link-local (169.254/16)"),
    ([172, 16, 0, 0], 12, "private (172.16/12)"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments (192.0.0/24)"),
    ([192, 0, 2, 0], 24, "documentation (192.0.2/24)"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99/24)"),
    ([192, 168, 0, 0], 16, "private (192.168/16)"),
    ([198, 18, 0, 0], 15, "benchmarking (198.18/15)"),
    ([198, 51, 100, 0], 24, "documentation (198.51.100/24)"),
    ([203, 0, 113, 0], 24, "documentation (203.0.113/24)"),
    ([224, 0, 0, 0], 4, "multicast (224/4)"),
    // 240/4 includes the broadcast address 255.255.255.255.
    ([240, 0, 0, 0], 4, "reserved (240/4)"),
];

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    let addr = u32::from(ip);
    V4_RANGES.iter().find_map(|(net, len, name)| {
        let mask = u32::MAX << (32 - u32::from(*len));
        (addr & mask == u32::from(Ipv4Addr::from(*net))).then_some(*name)
    })
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let bits = u128::from(ip);
    let low_v4 = Ipv4Addr::from(bits as u32);
    let in_net = |net: u128, len: u32| bits >> (128 - len) == net >> (128 - len);
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    // Forms that carry an IPv4 address reach that address: judge it. A public one stays
    // reachable (NAT64 is how an IPv6-only host reaches the IPv4 internet).
    if in_net(0xffff_0000_0000, 96) || in_net(0x0064_ff9b << 96, 96) {
        return v4_range(low_v4);
    }
    if in_net(0x2002 << 112, 16) {
        return v4_range(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    if in_net(0, 96) {
        return Some("IPv4-compatible (::/96, deprecated)");
    }
    let named: &[(u128, u32, &str)] = &[
        (0x0064_ff9b_0001 << 80, 48, "local-use NAT64 (64:ff9b:1::/48)"),
        (0x0100 << 112, 64, "discard-only (100::/64)"),
        (0x2001_0db8 << 96, 32, "documentation (2001:db8::/32)"),
        // Teredo (2001::/32), benchmarking (2001:2::/48), ORCHID and other protocol addresses.
        (0x2001 << 112, 23, "IETF protocol assignments (2001::/23)"),
        (0x3fff << 112, 20, "documentation (3fff::/20)"),
        (0xfc00 << 112, 7, "unique-local (fc00::/7)"),
        (0xfe80 << 112, 10, "link-local (fe80::/10)"),
        (0xfec0 << 112, 10, "site-local (fec0::/10, deprecated)"),
        (0xff00 << 112, 8, "multicast (ff00::/8)"),
    ];
    if let Some((_, _, name)) = named.iter().find(|(net, len, _)| in_net(*net, *len)) {
        return Some(name);
    }
    // Only global unicast is routed on the internet.
    if !in_net(0x2000 << 112, 3) {
        return Some("reserved (outside 2000::/3)");
    }
    None
}

/// Is `host` (as the URL parser left it) a name that always means this machine?
fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// The rule for a URL before anything is fetched: `https` (or `http` with the escape), and a
/// host that is not a non-public address nor a `localhost` name — judged on the URL as the
/// client's own parser reads it. Returns that parsed URL: the one to fetch.
pub fn check_url(raw: &str, allow_insecure: bool) -> Result<Url, Refusal> {
    let url = Url::parse(raw).map_err(|_| Refusal::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        _ => return Err(Refusal::NotHttps),
    }
    let host = url.host().ok_or(Refusal::NotAUrl)?;
    if allow_insecure {
        return Ok(url);
    }
    let public = match host {
        Host::Domain(d) => !is_local_name(d),
        Host::Ipv4(ip) => is_public(IpAddr::V4(ip)),
        Host::Ipv6(ip) => is_public(IpAddr::V6(ip)),
    };
    if public {
        Ok(url)
    } else {
        Err(Refusal::NotPublic)
    }
}

/// The resolver's refusal, found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("the name resolves to an address that is not public")]
struct AddressRefused;

type Lookup =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> + Send + Sync>;

/// Resolves through the system, then refuses the name if ANY of its addresses is not public:
/// the connection can only go to addresses that passed.
struct PublicOnlyResolver {
    allow_insecure: bool,
    lookup: Lookup,
}

fn system_lookup() -> Lookup {
    Arc::new(|name: String| Box::pin(async move { Ok(tokio::net::lookup_host((name.as_str(), 0)).await?.collect()) }))
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (lookup, allow_insecure) = (self.lookup.clone(), self.allow_insecure);
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs = lookup(name).await?;
            if !allow_insecure && addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The service's one outbound HTTP client.
pub struct Outbound {
    http: reqwest::Client,
    allow_insecure: bool,
}

impl Outbound {
    /// `allow_insecure` is `AUTH_ALLOW_INSECURE_ISSUERS`.
    pub fn new(allow_insecure: bool) -> anyhow::Result<Self> {
        Self::with_lookup(allow_insecure, system_lookup())
    }

    fn with_lookup(allow_insecure: bool, lookup: Lookup) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            // A redirect would be a second, unchecked URL.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would resolve names where our resolver cannot judge them.
            .no_proxy()
            .https_only(!allow_insecure)
            .dns_resolver(Arc::new(PublicOnlyResolver { allow_insecure, lookup }))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .build()?;
        Ok(Self { http, allow_insecure })
    }

    /// Whether `AUTH_ALLOW_INSECURE_ISSUERS` lifted the `https` and address rules.
    pub fn allow_insecure(&self) -> bool {
        self.allow_insecure
    }

    /// [`check_url`] with this client's escape.
    pub fn check(&self, url: &str) -> Result<Url, Refusal> {
        check_url(url, self.allow_insecure)
    }

    /// GET `url` and parse its JSON answer (2xx only).
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, FetchError> {
        let url = self.check(url).map_err(FetchError::Refused)?;
        let (status, body) = self.send(self.http.get(url.clone()), &url).await?;
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)
    }

    /// POST a form with HTTP Basic authentication; the status and the body (any status).
    pub async fn post_form(
        &self,
        url: &str,
        basic: (&str, &str),
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), FetchError> {
        let url = self.check(url).map_err(FetchError::Refused)?;
        let request = self.http.post(url.clone()).basic_auth(basic.0, Some(basic.1)).form(form);
        self.send(request, &url).await
    }

    async fn send(&self, request: reqwest::RequestBuilder, url: &Url) -> Result<(StatusCode, Vec<u8>), FetchError> {
        let mut resp = request.send().await.map_err(|e| failed(url, &e))?;
        let status = resp.status();
        if resp.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
            return Err(FetchError::TooLarge);
        }
        // Read in chunks and stop at the cap: a declared length may be absent or false.
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| failed(url, &e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// Sorts a client error into plain words; the whole chain goes to the log only.
fn failed(url: &Url, e: &reqwest::Error) -> FetchError {
    let mut chain = e.to_string();
    let mut refused = false;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        refused |= s.is::<AddressRefused>();
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::info!(host = url.host_str().unwrap_or_default(), error = %chain, "outbound request failed");
    if refused {
        FetchError::Refused(Refusal::NotPublic)
    } else if e.is_timeout() {
        FetchError::Timeout
    } else {
        FetchError::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    fn refused(url: &str) -> bool {
        check_url(url, false) == Err(Refusal::NotPublic)
    }

    #[test]
    fn loopback_addresses_are_not_public() {
        for ip in [v4("127.0.0.1"), v4("127.255.255.254"), v6("::1")] {
            assert!(!is_public(ip), "{ip}");
        }
    }

    #[test]
    fn private_ranges_are_not_public() {
        for ip in ["10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255"] {
            assert!(!is_public(v4(ip)), "{ip}");
        }
        assert!(is_public(v4("172.32.0.1")) && is_public(v4("172.15.255.255")) && is_public(v4("11.0.0.1")));
    }

    #[test]
    fn link_local_addresses_are_not_public() {
        for ip in [v4("169.254.169.254"), v4("169.254.0.1"), v6("fe80::1"), v6("febf::1")] {
            assert!(!is_public(ip), "{ip}");
        }
    }

    #[test]
    fn shared_address_space_is_not_public() {
        for ip in ["100.64.0.1", "100.100.100.200", "100.127.255.255"] {
            assert!(!is_public(v4(ip)), "{ip}");
        }
        assert!(is_public(v4("100.63.255.255")) && is_public(v4("100.128.0.1")));
    }

    #[test]
    fn unique_local_addresses_are_not_public() {
        for ip in ["fc00::1", "fd12:3456::1", "fdff:ffff::1"] {
            assert!(!is_public(v6(ip)), "{ip}");
        }
    }

    #[test]
    fn multicast_addresses_are_not_public() {
        for ip in [v4("224.0.0.1"), v4("239.255.255.250"), v6("ff02::1"), v6("ff05::1:3")] {
            assert!(!is_public(ip), "{ip}");
        }
    }

    #[test]
    fn unspecified_and_this_network_addresses_are_not_public() {
        for ip in [v4("0.0.0.0"), v4("0.1.2.3"), v6("::")] {
            assert!(!is_public(ip), "{ip}");
        }
    }

    #[test]
    fn broadcast_and_reserved_addresses_are_not_public() {
        for ip in [v4("255.255.255.255"), v4("240.0.0.1"), v4("192.0.0.8"), v6("4000::1"), v6("::2:1:1:1")] {
            assert!(!is_public(ip), "{ip}");
        }
    }

    #[test]
    fn documentation_addresses_are_not_public() {
        for ip in [v4("192.0.2.1"), v4("198.51.100.7"), v4("203.0.113.9"), v6("2001:db8::1"), v6("3fff::1")] {
            assert!(!is_public(ip), "{ip}");
        }
    }

    #[test]
    fn benchmarking_addresses_are_not_public() {
        for ip in [v4("198.18.0.1"), v4("198.19.255.255"), v6("2001:2::1")] {
            assert!(!is_public(ip), "{ip}");
        }
        assert!(is_public(v4("198.20.0.1")));
    }

    #[test]
    fn ipv4_mapped_forms_of_non_public_addresses_are_not_public() {
        for ip in
            ["::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1"]
        {
            assert!(!is_public(v6(ip)), "{ip}");
        }
        assert!(is_public(v6("::ffff:8.8.8.8")));
    }

    #[test]
    fn ipv4_compatible_addresses_are_not_public() {
        for ip in ["::127.0.0.1", "::7f00:1", "::8.8.8.8"] {
            assert!(!is_public(v6(ip)), "{ip}");
        }
    }

    #[test]
    fn nat64_forms_are_judged_by_the_embedded_address() {
        for ip in ["64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1", "64:ff9b:1::8.8.8.8"] {
            assert!(!is_public(v6(ip)), "{ip}");
        }
        assert!(is_public(v6("64:ff9b::8.8.8.8")));
    }

    #[test]
    fn six_to_four_forms_are_judged_by_the_embedded_address() {
        for ip in ["2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:c0a8:101::1"] {
            assert!(!is_public(v6(ip)), "{ip}");
        }
        assert!(is_public(v6("2002:808:808::1")));
    }

    #[test]
    fn teredo_and_other_protocol_addresses_are_not_public() {
        for ip in ["2001::1", "2001:0:4136:e378::1", "2001:10::1", "100::1"] {
            assert!(!is_public(v6(ip)), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in
            [v4("8.8.8.8"), v4("142.250.180.4"), v4("1.1.1.1"), v6("2a00:1450:4001:80b::200e"), v6("2606:4700::1")]
        {
            assert!(is_public(ip), "{ip}");
        }
    }

    #[test]
    fn loopback_is_judged_after_the_url_parser_normalises_it() {
        for url in [
            "https://127.0.0.1:8443",
            "https://127.1:8443",
            "https://0x7f.0.0.1:8443",
            "https://0177.0.0.1:8443",
            "https://127.0.0.1.:8443",
            "https://2130706433:8443",
            "https://0x7f000001/",
            "https://[::ffff:127.0.0.1]:8443",
            "https://[::ffff:7f00:1]:8443",
            "https://[0:0:0:0:0:ffff:7f00:1]/",
            "https://[::1]/",
        ] {
            assert!(refused(url), "{url}");
        }
    }

    #[test]
    fn metadata_link_local_and_shared_addresses_are_refused_in_urls() {
        for url in [
            "https://169.254.169.254.",
            "https://169.254.169.254/latest/meta-data",
            "https://[fe80::1]:443",
            "https://100.100.100.200",
            "https://10.0.0.5",
            "https://[fd00::1]",
            "https://[64:ff9b::a9fe:a9fe]",
        ] {
            assert!(refused(url), "{url}");
        }
    }

    #[test]
    fn localhost_names_are_refused_in_urls() {
        for url in ["https://localhost", "https://LOCALHOST.:8443", "https://a.localhost", "https://x.y.Localhost./"] {
            assert!(refused(url), "{url}");
        }
    }

    #[test]
    fn only_https_is_fetched_without_the_escape() {
        assert_eq!(check_url("http://accounts.google.com", false), Err(Refusal::NotHttps));
        assert_eq!(check_url("ftp://accounts.google.com", true), Err(Refusal::NotHttps));
        assert_eq!(check_url("not a url", false), Err(Refusal::NotAUrl));
        assert!(check_url("https://accounts.google.com", false).is_ok());
        assert!(check_url("https://login.microsoftonline.com/common/v2.0", false).is_ok());
    }

    #[test]
    fn the_insecure_escape_allows_http_and_loopback() {
        assert!(check_url("http://127.0.0.1:9000", true).is_ok());
        assert!(check_url("http://localhost:9000", true).is_ok());
        assert!(check_url("https://[::1]:9000", true).is_ok());
    }

    fn fixed(addrs: &'static [&'static str]) -> Lookup {
        Arc::new(move |_name: String| {
            Box::pin(async move { Ok(addrs.iter().map(|a| SocketAddr::new(a.parse().unwrap(), 0)).collect()) })
        })
    }

    async fn resolve(addrs: &'static [&'static str], allow_insecure: bool) -> Result<Vec<SocketAddr>, String> {
        let r = PublicOnlyResolver { allow_insecure, lookup: fixed(addrs) };
        r.resolve("idp.example.com".parse().unwrap()).await.map(|a| a.collect()).map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        assert!(resolve(&["127.0.0.1"], false).await.is_err());
        assert!(resolve(&["::1"], false).await.is_err());
        assert!(resolve(&["::ffff:127.0.0.1"], false).await.is_err());
    }

    #[tokio::test]
    async fn a_name_with_any_non_public_address_is_refused_even_beside_public_ones() {
        assert!(resolve(&["8.8.8.8", "10.0.0.1"], false).await.is_err());
        assert!(resolve(&["2606:4700::1", "169.254.169.254"], false).await.is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_public_addresses_passes_the_resolver() {
        let addrs = resolve(&["8.8.8.8", "2606:4700::1"], false).await.unwrap();
        assert_eq!(addrs.len(), 2);
    }

    #[tokio::test]
    async fn the_insecure_escape_lets_the_resolver_return_loopback() {
        assert!(resolve(&["127.0.0.1"], true).await.is_ok());
    }

    /// A listener on loopback that counts the connections it accepts.
    async fn counting_listener() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        (port, count)
    }

    #[tokio::test]
    async fn the_client_refuses_a_name_resolving_to_loopback_without_connecting() {
        let (port, count) = counting_listener().await;
        let client = Outbound::with_lookup(false, fixed(&["127.0.0.1"])).unwrap();
        let got = client.get_json::<serde_json::Value>(&format!("https://idp.example.com:{port}/")).await;
        assert_eq!(got, Err(FetchError::Refused(Refusal::NotPublic)));
        let got = client.post_form(&format!("https://idp.example.com:{port}/token"), ("a", "b"), &[]).await;
        assert_eq!(got.map(|_| ()), Err(FetchError::Refused(Refusal::NotPublic)));
        assert_eq!(count.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_client_refuses_loopback_literals_without_connecting() {
        let (port, count) = counting_listener().await;
        let client = Outbound::with_lookup(false, fixed(&["8.8.8.8"])).unwrap();
        for url in [format!("https://127.1:{port}/"), format!("https://[::ffff:7f00:1]:{port}/")] {
            let got = client.get_json::<serde_json::Value>(&url).await;
            assert_eq!(got, Err(FetchError::Refused(Refusal::NotPublic)), "{url}");
        }
        assert_eq!(count.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_redirect_is_answered_as_it_is_and_never_followed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (target, count) = counting_listener().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{target}/.well-known/openid-configuration\r\ncontent-length: 0\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
        });
        // The escape lets the first request reach loopback; the redirect is still not taken.
        let client = Outbound::new(true).unwrap();
        let got = client.get_json::<serde_json::Value>(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(got, Err(FetchError::Status(302)));
        assert_eq!(count.load(Ordering::SeqCst), 0);
    }

    /// Serves one answer: `head`, then `body_bytes` of JSON-ish filler, then holds the
    /// connection open without finishing, so a client that reads to the end would wait.
    async fn stalling_server(head: String, body_bytes: usize) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(head.as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < body_bytes {
                let piece = format!("{:x}\r\n", chunk.len());
                let framed = head.contains("chunked");
                if framed && socket.write_all(piece.as_bytes()).await.is_err() {
                    return;
                }
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
                if framed && socket.write_all(b"\r\n").await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
            // Never finish: hold the connection until the client goes away.
            let _ = socket.read(&mut buf).await;
        });
        port
    }

    #[tokio::test]
    async fn an_answer_declared_larger_than_the_cap_is_refused_before_its_body_is_read() {
        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", 5 << 20);
        let port = stalling_server(head, 0).await;
        let client = Outbound::new(true).unwrap();
        let started = std::time::Instant::now();
        let got = client.get_json::<serde_json::Value>(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(got, Err(FetchError::TooLarge));
        assert!(started.elapsed() < TOTAL_TIMEOUT / 2, "answered at once, not at the timeout");
    }

    #[tokio::test]
    async fn an_undeclared_answer_is_cut_off_at_the_cap() {
        // 1.5 MiB sent of a body that never ends: reading it all would wait for the timeout.
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_string();
        let port = stalling_server(head, 3 << 19).await;
        let client = Outbound::new(true).unwrap();
        let started = std::time::Instant::now();
        let got = client.get_json::<serde_json::Value>(&format!("http://127.0.0.1:{port}/")).await;
        assert_eq!(got, Err(FetchError::TooLarge));
        assert!(started.elapsed() < TOTAL_TIMEOUT / 2, "answered at once, not at the timeout");
    }
}
