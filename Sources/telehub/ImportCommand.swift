import ArgumentParser
import Foundation
import TelehubCore
import TelehubStore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store readings from stdin, in the CSV or NDJSON that `telehub export` writes.",
        discussion: """
            Devices are created as needed. Each value goes through the same checks as a device's \
            reading; the first bad line stops the import with its line number. Values already \
            stored are overwritten (last write wins), so after fixing a line, running the whole \
            import again is safe. Lines are committed in batches of --batch values.
            """)

    @OptionGroup var store: StoreOptions
    @Option(help: "csv or ndjson.") var format: String = "csv"
    @Option(help: "Values per commit (1 to 100000).") var batch: Int = 10_000

    func validate() throws {
        guard ExportFormat(rawValue: format) != nil else { throw ValidationError("--format must be csv or ndjson") }
        try Bounds.check("--batch", batch, 1...100_000)
    }

    func run() async throws {
        let format = ExportFormat(rawValue: format) ?? .csv
        let store = try await store.open()
        var reader = BoundedLineReader(FileHandle.standardInput, maxBytes: ExportRecord.maxLineBytes + 2)
        var devices: [String: Int64] = [:]
        var points: [SeriesPoint] = []
        var stored = 0
        var number = 0
        while let line = try reader.next() {
            number += 1
            let record: ExportRecord?
            do {
                record = try ExportRecord.parse(line[...], format: format)
            } catch {
                throw CLIError("line \(number): \(error); \(stored) values stored before it")
            }
            guard let record else { continue }
            if devices[record.device] == nil { devices[record.device] = try await store.ensureDevice(named: record.device) }
            points.append(SeriesPoint(deviceID: devices[record.device] ?? 0, metric: record.metric, ts: record.ts, value: record.value))
            if points.count >= batch {
                try await store.commit(CommitBatch(points: points))
                stored += points.count
                points.removeAll(keepingCapacity: true)
            }
        }
        try await store.commit(CommitBatch(points: points))
        stored += points.count
        print("imported \(stored) values of \(devices.count) devices")
    }
}

/// Lines of a file handle, each at most `maxBytes`: a file with no line
/// breaks is an error, not a read of the whole file into memory.
struct BoundedLineReader {
    private let handle: FileHandle
    private let maxBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var finished = false
    private var line = 0

    init(_ handle: FileHandle, maxBytes: Int) {
        self.handle = handle
        self.maxBytes = maxBytes
    }

    mutating func next() throws -> String? {
        while true {
            if let end = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                defer { start = end + 1 }
                line += 1
                return try text(buffer[start..<end])
            }
            guard buffer.count - start <= maxBytes else { throw CLIError("line \(line + 1): longer than \(maxBytes) bytes") }
            if finished {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                line += 1
                return try text(buffer[start...])
            }
            buffer.removeFirst(start)
            start = 0
            let data = handle.readData(ofLength: 1 << 16)
            if data.isEmpty { finished = true } else { buffer.append(contentsOf: data) }
        }
    }

    private func text(_ bytes: ArraySlice<UInt8>) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CLIError("line \(line): not UTF-8") }
        return text
    }
}
