import NIOCore
import NIOEmbedded
import Testing
@testable import TelehubServer

@Suite struct HeartbeatWheelTests {
    final class Device: HeartbeatTarget {
        var beats: [Int64] = []
        let loop: EmbeddedEventLoop
        init(loop: EmbeddedEventLoop) { self.loop = loop }
        func heartbeat() { beats.append(Int64(loop.now.uptimeNanoseconds / 1_000_000)) }
    }

    @Test func eachConnectionIsVisitedOnceAnIntervalFirstAfterHalfToAWholeOne() {
        let loop = EmbeddedEventLoop()
        let wheel = HeartbeatWheel<Device>(eventLoop: loop, interval: .seconds(5))
        let start = Int64(loop.now.uptimeNanoseconds / 1_000_000)
        let devices = (0..<200).map { _ in Device(loop: loop) }
        for device in devices { _ = wheel.add(device) }
        loop.advanceTime(by: .seconds(20))
        for device in devices {
            #expect(device.beats.count >= 3 && device.beats.count <= 4, "\(device.beats)")
            let first = device.beats[0] - start
            #expect(first >= 2_500 && first <= 5_000, "first heartbeat \(first) ms after joining")
            for (a, b) in zip(device.beats, device.beats.dropFirst()) { #expect(b - a == 5_000) }
        }
        // Spread: no slot carries more than a small share of the fleet.
        let firsts = Dictionary(grouping: devices, by: { $0.beats[0] }).values.map(\.count)
        #expect(firsts.max()! < 30, "\(firsts.max()!) devices pinged in one tick")
    }

    @Test func aRemovedConnectionIsNotVisitedAndAnEmptyWheelKeepsNoTimer() {
        let loop = EmbeddedEventLoop()
        let wheel = HeartbeatWheel<Device>(eventLoop: loop, interval: .seconds(1))
        let kept = Device(loop: loop), gone = Device(loop: loop)
        let keptSlot = wheel.add(kept)
        let slot = wheel.add(gone)
        wheel.remove(gone, slot: slot)
        loop.advanceTime(by: .seconds(3))
        #expect(gone.beats.isEmpty)
        #expect(kept.beats.count >= 2)
        // Empty: the wheel stops, and starts again with the next connection.
        wheel.remove(kept, slot: keptSlot)
        loop.advanceTime(by: .seconds(2))
        let settled = kept.beats.count
        loop.advanceTime(by: .seconds(5))
        #expect(kept.beats.count == settled)
        let again = Device(loop: loop)
        _ = wheel.add(again)
        loop.advanceTime(by: .seconds(2))
        #expect(!again.beats.isEmpty)
    }
}
