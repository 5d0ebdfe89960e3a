import NIOWebSocket
import Testing
@testable import TelehubServer

@Suite struct DeviceSocketStateTests {
    @Test func repliesAndOutcomesAreWrittenInOrder() {
        var state = DeviceSocketState()
        #expect(state.handle(.reply("hello")) == [.write("hello")])
        #expect(state.handle(.submitted).isEmpty && state.handle(.submitted).isEmpty)
        #expect(state.owed == 2)
        #expect(state.handle(.completed("ack 1")) == [.write("ack 1")])
        #expect(state.handle(.completed(nil)).isEmpty)  // an HTTP-less outcome with nothing to send
        #expect(state.owed == 0 && !state.isOver)
    }

    /// Shutdown: the reader stops handing over, the acks owed go out, then
    /// the close, and nothing after it.
    @Test func shutdownSendsWhatIsOwedThenCloses() {
        var state = DeviceSocketState()
        _ = state.handle(.submitted)
        _ = state.handle(.submitted)
        #expect(state.handle(.end(.shutdown)) == [.stopReader(marker: true), .startDrainTimer(.shutdown)])
        #expect(state.handle(.readerEnded(nil)).isEmpty)  // the device may leave; what is owed still goes out
        #expect(state.handle(.completed("ack 1")) == [.write("ack 1")])
        #expect(state.handle(.submissionsOver).isEmpty)  // one still owed
        #expect(state.handle(.completed("ack 2")) == [.write("ack 2"), .close(.goingAway, ConnectionRegistry.Ending.shutdown.reason)])
        #expect(state.isOver)
        #expect(state.handle(.reply("late")).isEmpty)
    }

    @Test func shutdownWithNothingOwedClosesWhenTheReaderIsStopped() {
        var state = DeviceSocketState()
        _ = state.handle(.end(.shutdown))
        #expect(state.handle(.submissionsOver) == [.close(.goingAway, ConnectionRegistry.Ending.shutdown.reason)])
    }

    /// The drain timer's close wins over acks that never come.
    @Test func aDrainThatTakesTooLongIsCut() {
        var state = DeviceSocketState()
        _ = state.handle(.submitted)
        _ = state.handle(.end(.shutdown))
        _ = state.handle(.submissionsOver)
        #expect(state.handle(.close(.goingAway, "shutdown")) == [.stopReader(marker: false), .close(.goingAway, "shutdown")])
        #expect(state.isOver && state.handle(.completed("ack")).isEmpty)
    }

    @Test(arguments: [ConnectionRegistry.Ending.replaced, .tokenEnded])
    func replacedOrRevokedClosesAtOnce(_ ending: ConnectionRegistry.Ending) {
        var state = DeviceSocketState()
        _ = state.handle(.submitted)
        #expect(state.handle(.end(ending)) == [.stopReader(marker: false), .close(ending.closeCode, ending.reason)])
        #expect(state.isOver)
    }

    @Test func theReaderEndingEndsTheConnection() {
        var left = DeviceSocketState()
        #expect(left.handle(.readerEnded(nil)) == [.finish] && left.isOver)
        var cancelled = DeviceSocketState()
        #expect(cancelled.handle(.readerEnded(CancellationError())) == [.finish])
        struct Broken: Error {}
        var failed = DeviceSocketState()
        #expect(failed.handle(.readerEnded(Broken())) == [.fail])
    }
}
