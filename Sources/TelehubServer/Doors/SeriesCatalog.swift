import TelehubCore

/// Every series the hub holds, as the Prometheus door names them, with the
/// selectors matched against it.
struct SeriesCatalog {
    struct Entry: Hashable {
        var device: String
        var metric: String
    }

    let entries: [Entry]

    init(_ devices: [DeviceStatus]) {
        entries = devices.flatMap { device in device.metrics.keys.sorted().map { Entry(device: device.name, metric: $0) } }
    }

    /// The series every matcher accepts; a label a series lacks is "".
    func matching(_ selector: PromSelector) -> [Entry] {
        let matchers = selector.matchers.map { ($0.label, $0.compiled()) }
        return entries.filter { entry in
            matchers.allSatisfy { label, matcher in
                switch label {
                case "__name__": matcher.acceptsName(entry.metric)
                case "device": matcher.accepts(entry.device)
                default: matcher.accepts("")
                }
            }
        }
    }
}
