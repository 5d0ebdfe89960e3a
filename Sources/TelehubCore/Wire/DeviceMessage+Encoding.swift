/// A device message as a device writes it: every ingest message as a `batch`
/// (a `reading` is a batch of one), pings with their `id`.
extension DeviceMessage: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: WireKey.self)
        switch self {
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
