import Testing
import TelehubCore

@Suite struct ClientAddressTests {
    let proxy: Set<String> = ["127.0.0.1", "10.0.0.2"]

    @Test func aTrustedProxysHeaderNamesTheClient() {
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["203.0.113.7"], trusted: proxy) == "203.0.113.7")
        // Two proxies in a row: the nearest untrusted hop from the right.
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["198.51.100.1, 203.0.113.7, 10.0.0.2"], trusted: proxy) == "203.0.113.7")
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["198.51.100.1", "2001:db8::1"], trusted: proxy) == "2001:db8::1")
    }

    @Test func anyoneElsesHeaderIsIgnored() {
        // A client that writes the header itself to spread its failures over made-up addresses.
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"], trusted: proxy) == "203.0.113.9")
        #expect(ClientAddress.resolve(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"], trusted: []) == "203.0.113.9")
    }

    @Test func malformedOrOversizedHeadersFallBackToThePeer() {
        for header in ["", "not an address", "1.2.3.4:80, x", "evil.example", String(repeating: "1.1.1.1,", count: 200), "1.2.3.4,,5.6.7.8"] {
            #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: [header], trusted: proxy) == "127.0.0.1", "\(header.prefix(40))")
        }
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: [], trusted: proxy) == "127.0.0.1")
        // Every hop trusted: the farthest one.
        #expect(ClientAddress.resolve(peer: "127.0.0.1", forwardedFor: ["10.0.0.2"], trusted: proxy) == "10.0.0.2")
    }
}
