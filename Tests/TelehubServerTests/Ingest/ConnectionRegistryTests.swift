import NIOWebSocket
import Testing
@testable import TelehubServer

@Suite struct ConnectionRegistryTests {
    final class Endings: @unchecked Sendable {
        // Only touched from the test's own thread through the registry's synchronous callbacks.
        var values: [Int: [ConnectionRegistry.Ending]] = [:]
    }

    @Test func newerConnectionReplacesOlderAndPresenceFollows() {
        let registry = ConnectionRegistry()
        let endings = Endings()
        let first = registry.register(kind: .device("a"), tokenID: 1) { endings.values[1, default: []].append($0) }
        #expect(first.cameOnline)
        let second = registry.register(kind: .device("a"), tokenID: 1) { endings.values[2, default: []].append($0) }
        #expect(!second.cameOnline)
        #expect(endings.values[1] == [.replaced])
        #expect(endings.values[2] == nil)
        #expect(registry.unregister(first.id) == false)  // the device is still online
        #expect(registry.onlineDevices() == ["a"])
        #expect(registry.unregister(second.id) == true)
        #expect(registry.onlineDevices().isEmpty)
    }

    @Test func revocationEndsOnlyThatTokensConnections() {
        let registry = ConnectionRegistry()
        let endings = Endings()
        _ = registry.register(kind: .device("a"), tokenID: 7) { endings.values[1, default: []].append($0) }
        _ = registry.register(kind: .stream, tokenID: 7) { endings.values[2, default: []].append($0) }
        _ = registry.register(kind: .device("b"), tokenID: 8) { endings.values[3, default: []].append($0) }
        #expect(registry.liveTokenIDs() == [7, 8])
        registry.endConnections(of: [7])
        #expect(endings.values[1] == [.tokenEnded])
        #expect(endings.values[2] == [.tokenEnded])
        #expect(endings.values[3] == nil)
    }

    @Test func shutdownDrainsEveryoneOnceAndLateComers() {
        let registry = ConnectionRegistry()
        let endings = Endings()
        _ = registry.register(kind: .device("a"), tokenID: 1) { endings.values[1, default: []].append($0) }
        registry.shutDown()
        registry.shutDown()
        #expect(endings.values[1] == [.shutdown])
        _ = registry.register(kind: .device("b"), tokenID: 1) { endings.values[2, default: []].append($0) }
        #expect(endings.values[2] == [.shutdown])
        #expect(ConnectionRegistry.Ending.replaced.closeCode == WebSocketErrorCode(codeNumber: 4000))
        #expect(ConnectionRegistry.Ending.shutdown.closeCode == .goingAway)
        #expect(ConnectionRegistry.Ending.tokenEnded.closeCode == .policyViolation)
    }
}
