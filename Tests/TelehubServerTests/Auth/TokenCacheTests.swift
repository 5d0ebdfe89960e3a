import Testing
@testable import TelehubServer
import TelehubCore
import TelehubStore

@Suite struct TokenCacheTests {
    private func token(_ id: Int64) -> StoredToken {
        StoredToken(
            record: TokenRecord(
                id: id, kind: .device, device: "d\(id)", label: nil, createdAt: 0, lastUsedAt: nil, expiresAt: nil, revoked: false),
            deviceID: id, hash: [UInt8(id & 0xff), UInt8(id >> 8)])
    }

    @Test func aTokenIsKeptForItsLifetimeAndNoLonger() {
        var cache = TokenCache(lifetime: .seconds(1))
        let start = ContinuousClock.now
        #expect(cache.token(hash: token(1).hash, now: start) == nil)
        cache.keep(token(1), now: start)
        #expect(cache.token(hash: token(1).hash, now: start + .milliseconds(999)) == token(1))
        #expect(cache.token(hash: token(1).hash, now: start + .seconds(1)) == nil)
        #expect(cache.count == 0)  // a lapsed entry is dropped when seen
    }

    @Test func aFullCacheDropsWhatLapsedThenStartsAgainRatherThanGrow() {
        var cache = TokenCache(lifetime: .seconds(1), capacity: 4)
        let start = ContinuousClock.now
        for id in 1...2 { cache.keep(token(Int64(id)), now: start) }
        for id in 3...4 { cache.keep(token(Int64(id)), now: start + .milliseconds(600)) }
        cache.keep(token(5), now: start + .milliseconds(1100))  // 1 and 2 lapsed: dropped, 3 and 4 kept
        #expect(cache.count == 3)
        #expect(cache.token(hash: token(3).hash, now: start + .milliseconds(1100)) == token(3))
        cache.keep(token(6), now: start + .milliseconds(1100))
        cache.keep(token(7), now: start + .milliseconds(1100))  // full, nothing lapsed: starts again
        #expect(cache.count == 1)
        #expect(cache.token(hash: token(7).hash, now: start + .milliseconds(1100)) == token(7))
        // Keeping a token already there never empties the cache.
        cache.keep(token(7), now: start + .milliseconds(1200))
        #expect(cache.count == 1)
    }

    @Test func forgottenTokensAreLookedUpAgain() {
        var cache = TokenCache(lifetime: .seconds(1))
        let now = ContinuousClock.now
        for id in 1...3 { cache.keep(token(Int64(id)), now: now) }
        cache.forget(tokenIDs: [2])
        #expect(cache.token(hash: token(2).hash, now: now) == nil)
        #expect(cache.token(hash: token(1).hash, now: now) == token(1))
        #expect(cache.token(hash: token(3).hash, now: now) == token(3))
    }
}
