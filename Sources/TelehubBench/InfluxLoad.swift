import NIOCore

/// The peer the issue tracker compares against: the same devices, readings
/// and values, written to InfluxDB 1.x as line protocol over HTTP/1.1
/// (`POST /write?precision=ms`, one keep-alive connection per device,
/// `window` requests pipelined), acknowledged by its `204`.
enum InfluxLoad {
    /// The database the peer writes to; `Benchmarks/influx_peer.sh` creates it.
    static let database = "telehub_bench"

    /// One device's requests, framed before the clock starts. InfluxDB
    /// tells devices apart by a tag; the hub by the device token, so its
    /// lines carry no tag and its series have the native path's names' length.
    static func plan(
        device: Int, messages: Int, ts: Int64, readings: Int, window: Int, host: String, token: String? = nil
    ) -> DevicePlan {
        var corpus = LineCorpus()
        let target = token == nil ? "/write?db=\(Self.database)&precision=ms" : "/write?precision=ms"
        let frames = (0..<messages).map { message in
            HTTPWriteLoad.request(
                target: target, host: host, contentType: "text/plain", authorization: token.map { "Token \($0)" },
                body: corpus.lines(device: token == nil ? device : nil, ts: ts + Int64(message * readings), readings: readings))
        }
        return DevicePlan(device: "bench-\(device)", upgradeRequest: ByteBuffer(), frames: frames, firstSeq: 1, window: window)
    }
}

/// The values `MessageCorpus` sends, as line protocol: one line a reading,
/// four fields.
struct LineCorpus {
    private var values = SensorValues()

    mutating func lines(device: Int?, ts: Int64, readings: Int) -> ByteBuffer {
        var text = ByteBuffer()
        text.reserveCapacity(readings * 100)
        let measurement = device.map { "sensor,device=bench-\($0)" } ?? "sensor"
        for index in 0..<readings {
            let reading = values.next()
            text.writeString("\(measurement) humidity=\(reading.humidity),pressure=\(reading.pressure),")
            text.writeString("temperature=\(reading.temperature),voltage=\(reading.voltage) \(ts + Int64(index))\n")
        }
        return text
    }
}

