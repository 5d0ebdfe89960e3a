import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TelehubSQLite
import TelehubStore

/// A `telehub serve` the benchmark started on its own database, or a hub
/// it was pointed at. CPU and memory come from the hub's `/proc` entry, so
/// the load generator's share of the machine is never charged to the hub.
final class HubProcess: @unchecked Sendable {
    let host: String
    let port: Int
    /// Known when the benchmark started the hub or was told (`--pid`).
    let pid: Int32?
    private let process: Process?
    /// From launch to the first 200 answer of `GET /healthz`, when started here.
    private(set) var startToHealthySeconds: Double?

    init(host: String, port: Int, pid: Int32?) {
        self.host = host
        self.port = port
        self.pid = pid
        self.process = nil
    }

    private init(process: Process, port: Int, startToHealthy: Double) {
        self.host = "127.0.0.1"
        self.port = port
        self.pid = process.processIdentifier
        self.process = process
        self.startToHealthySeconds = startToHealthy
    }

    enum Failure: Error, CustomStringConvertible {
        case didNotStart(String)
        case notHealthy

        var description: String {
            switch self {
            case .didNotStart(let line): "the hub did not start: \(line)"
            case .notHealthy: "the hub did not answer /healthz within 60 s"
            }
        }
    }

    /// Starts this very executable (or `binary`) as `telehub serve` on `database`, on a free
    /// port, with no rate limit (the generator is the only client).
    /// - Parameter binary: another build of `telehub` to measure instead, for before-and-after figures.
    /// - Parameter port: 0 for a free one; a given one to restart a hub where its devices look for it.
    static func start(
        database: String, settings: [String], binary: String?, group: any EventLoopGroup, port: Int = 0
    ) async throws -> HubProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary ?? "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", "--db", database, "--port", String(port), "--token-url", "--rate-limit", "0"] + settings
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        let launched = ContinuousClock.now
        try process.run()
        let line = readLine(output.fileHandleForReading)
        // Whatever else the hub prints must not fill the pipe and stall it.
        output.fileHandleForReading.readabilityHandler = { handle in
            if handle.availableData.isEmpty { handle.readabilityHandler = nil }
        }
        guard let portText = line.split(separator: ":").last?.split(separator: "/").first, let port = Int(portText) else {
            process.terminate()
            throw Failure.didNotStart(line)
        }
        while ContinuousClock.now - launched < .seconds(60) {
            if (try? await HTTPProbe.status(host: "127.0.0.1", port: port, path: "/healthz", group: group)) == 200 {
                return HubProcess(process: process, port: port, startToHealthy: (ContinuousClock.now - launched).seconds)
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        process.terminate()
        throw Failure.notHealthy
    }

    /// The first line the hub prints: its dashboard URL, `http://host:port/?token=…`.
    private static func readLine(_ handle: FileHandle) -> String {
        var bytes: [UInt8] = []
        while bytes.last != 10, let chunk = try? handle.read(upToCount: 1), let byte = chunk.first {
            bytes.append(byte)
        }
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // "Telehub is running. Dashboard: http://127.0.0.1:PORT/?token=…"
        return line.components(separatedBy: "Dashboard: ").last ?? line
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// User plus system CPU seconds of the hub so far, or nil without a pid.
    func cpuSeconds() -> Double? {
        pid.flatMap(ProcessCPU.seconds(pid:))
    }

    /// Resident KiB by kind of mapping, from `/proc/<pid>/smaps`: `heap`
    /// (the brk heap), `anonymous` (malloc's mmapped arenas and large blocks,
    /// thread stacks), `file` (the binary and libraries).
    func residentByKind() -> [String: Int] {
        // Read to the end: procfs reports a size of 0, and smaps is larger than one read.
        guard let pid, let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/smaps"),
            let data = try? handle.readToEnd()
        else { return [:] }
        let smaps = String(decoding: data, as: UTF8.self)
        var totals: [String: Int] = [:]
        var kind = "anonymous"
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), !first.hasSuffix(":") {
                let path = fields.count >= 6 ? String(fields[5]) : ""
                kind = path == "[heap]" ? "heap" : path.isEmpty || path.hasPrefix("[") ? "anonymous" : "file"
            } else if fields.first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                totals[kind, default: 0] += kib
            }
        }
        return totals
    }

    /// Values and flushes committed so far, from the hub's `/metrics`
    /// (`telehub_flush_values`), for the mean commit size of a load.
    func flushTotals(group: any EventLoopGroup) async throws -> (values: Double, flushes: Double) {
        let body = try await HTTPProbe.get(host: host, port: port, path: "/metrics", group: group).body
        var values = 0.0
        var flushes = 0.0
        for line in body.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let number = Double(fields[1]) else { continue }
            if fields[0] == "telehub_flush_values_sum" { values = number }
            if fields[0] == "telehub_flush_values_count" { flushes = number }
        }
        return (values, flushes)
    }

    /// Resident memory of the hub in KiB, or nil without a pid.
    func residentKiB() -> Int? {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}

/// One plain HTTP GET, for `/healthz` and `/metrics`.
enum HTTPProbe {
    static func status(host: String, port: Int, path: String, group: any EventLoopGroup) async throws -> Int {
        try await get(host: host, port: port, path: path, group: group).status
    }

    static func get(host: String, port: Int, path: String, group: any EventLoopGroup) async throws -> (status: Int, body: String) {
        let promise = group.next().makePromise(of: (status: Int, body: String).self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(StatusReader(host: host, path: path, promise: promise))
                }
            }
            .connect(host: host, port: port).get()
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    private final class StatusReader: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart
        let host: String
        let path: String
        let promise: EventLoopPromise<(status: Int, body: String)>
        private var status = 0
        private var body = ByteBuffer()

        init(host: String, path: String, promise: EventLoopPromise<(status: Int, body: String)>) {
            self.host = host
            self.path = path
            self.promise = promise
        }

        func channelActive(context: ChannelHandlerContext) {
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: host)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body(var part): body.writeBuffer(&part)
            case .end: promise.succeed((status, String(buffer: body)))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ChannelError.eof)
        }
    }
}
