/// A device message as a device writes it: readings as a `batch` (a
/// `reading` is a batch of one), a command answer as `command_ack` or
/// `command_result`, a report as `reported`, pings with their `id`.
extension DeviceMessage: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: WireKey.self)
        switch self {
        case .ingest(let message) where message.readings.isEmpty && message.commands.count == 1 && message.report == nil:
            try message.commands[0].encode(to: encoder)
            try container.encodeIfPresent(message.seq, forKey: .seq)
        case .ingest(let message) where message.readings.isEmpty && message.commands.isEmpty && message.report != nil:
            try message.report?.encode(to: encoder)
            try container.encodeIfPresent(message.seq, forKey: .seq)
        case .ingest(let message):
            try container.encode("batch", forKey: .type)
            try container.encodeIfPresent(message.seq, forKey: .seq)
            try container.encode(message.readings, forKey: .readings)
        case .ping(let id):
            try container.encode("ping", forKey: .type)
            try container.encodeIfPresent(id, forKey: .id)
        }
    }
}

/// `command_ack` or `command_result`, without `seq` (the message adds it).
extension CommandAnswer: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: WireKey.self)
        try container.encode(id, forKey: .id)
        switch kind {
        case .ack:
            try container.encode("command_ack", forKey: .type)
        case .result(let succeeded):
            try container.encode("command_result", forKey: .type)
            try container.encode(succeeded ? "succeeded" : "failed", forKey: .status)
            try container.encodeIfPresent(result, forKey: .result)
            try container.encodeIfPresent(message, forKey: .message)
        }
    }
}

/// `{"type":"reported","state":{…},"applied":9}`, without `seq`.
extension StateReport: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: WireKey.self)
        try container.encode("reported", forKey: .type)
        try container.encode(patch, forKey: .state)
        try container.encodeIfPresent(applied, forKey: .applied)
    }
}
