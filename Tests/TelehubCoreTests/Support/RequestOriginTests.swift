import Testing
import TelehubCore

@Suite struct RequestOriginTests {
    private func origin(
        peer: String = "127.0.0.1", host: String? = "127.0.0.1:8080", forwarded: Bool = false, proto: String? = nil,
        trusted: Set<String> = []
    ) -> RequestOrigin {
        RequestOrigin(peer: peer, host: host, forwarded: forwarded, forwardedProto: proto, trustedProxies: trusted)
    }

    @Test func loopbackHostsWithAndWithoutPorts() {
        for host in ["localhost", "LOCALHOST:8080", "localhost.", "grafana.localhost:3000", "127.0.0.1", "127.1.2.3:80", "[::1]", "[::1]:8080"] {
            #expect(RequestOrigin.isLoopbackHost(host), "\(host)")
        }
        for host in ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]:80",
            "128.0.0.1", "127.0.0.1:80x", "[::1]x", "0.0.0.0", "", "127.0.0.256"]
        {
            #expect(RequestOrigin.isLoopbackHost(host) == false, "\(host)")
        }
    }

    @Test func loopbackAddresses() {
        #expect(RequestOrigin.isLoopbackAddress("::1"))
        #expect(RequestOrigin.isLoopbackAddress("::ffff:127.0.0.1"))
        #expect(RequestOrigin.isLoopbackAddress("10.0.0.5") == false)
        #expect(RequestOrigin.isLoopbackAddress("127.0.0") == false)
    }

    /// `/metrics` without a token: only a process here asking directly.
    @Test func localMeansLoopbackPeerNoProxyAndALoopbackHost() {
        #expect(origin().isLocal)
        #expect(origin(forwarded: true).isLocal == false)  // nginx on this machine, for anyone
        #expect(origin(host: "evil.example:8080").isLocal == false)  // DNS rebinding
        #expect(origin(peer: "10.0.0.7").isLocal == false)
        #expect(origin(host: nil).isLocal == false)
    }

    @Test func aLoopbackListenerAnswersItsOwnNamesAndTrustedProxiesOnly() {
        #expect(origin().suitsLoopbackListener)
        #expect(origin(host: nil).suitsLoopbackListener)
        #expect(origin(host: "evil.example").suitsLoopbackListener == false)
        // A forwarded header alone proves nothing: a rebinding page can add one.
        #expect(origin(host: "hub.example", forwarded: true).suitsLoopbackListener == false)
        #expect(origin(host: "hub.example", forwarded: true, trusted: ["127.0.0.1"]).suitsLoopbackListener)
    }

    @Test func secureFromTheHubsOwnTLSOrATrustedProxysWord() {
        #expect(origin().isSecure(hubServesTLS: true))
        #expect(origin(proto: "https").isSecure(hubServesTLS: false) == false)  // anyone can write the header
        #expect(origin(proto: "https", trusted: ["127.0.0.1"]).isSecure(hubServesTLS: false))
        #expect(origin(proto: "HTTPS", trusted: ["127.0.0.1"]).isSecure(hubServesTLS: false))
        #expect(origin(proto: "http", trusted: ["127.0.0.1"]).isSecure(hubServesTLS: false) == false)
    }
}

@Suite struct SameHostTests {
    @Test func aMissingPortMatchesAnyPortOfTheSameName() {
        #expect(RequestOrigin.sameHost("hub.example:8080", "hub.example"))
        #expect(RequestOrigin.sameHost("HUB.example", "hub.example"))
        #expect(RequestOrigin.sameHost("[::1]:8080", "[::1]"))
        #expect(RequestOrigin.sameHost("hub.example:8080", "hub.example:9090") == false)
        #expect(RequestOrigin.sameHost("evil.example", "hub.example") == false)
        #expect(RequestOrigin.sameHost("hub.example.evil.example", "hub.example") == false)
    }
}
