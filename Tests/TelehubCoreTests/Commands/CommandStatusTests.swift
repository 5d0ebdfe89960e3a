import Testing
import TelehubCore

/// The status list of `?status=` and `--status`: one parser for both.
@Suite struct CommandStatusTests {
    @Test func aListNamesStatusesInItsOrder() throws {
        #expect(try CommandStatus.list("") == [])
        #expect(try CommandStatus.list("sent,queued") == [.sent, .queued])
    }

    @Test(arguments: ["runing", "queued,", ",sent", "QUEUED"])
    func anythingElseIsRefusedByName(_ text: String) {
        #expect(throws: StatusListError.self) { try CommandStatus.list(text) }
    }

    @Test func theRefusalNamesWhatItGotAndEveryStatus() {
        let error = #expect(throws: StatusListError.self) { try CommandStatus.list("queued,x") }
        #expect(error?.description == "x is none of queued, sent, delivered, succeeded, failed, expired, canceled")
    }
}
