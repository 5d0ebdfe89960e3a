import Foundation
import TelehubCore

/// One setting of the hub: its key (which is also the flag, `--key`, the
/// variable, `TELEHUB_KEY`, and the config file's `key = value`), its help,
/// and how to read and check a value. A value is read the same way wherever
/// it comes from, so a bad one is refused with the same words everywhere.
public struct Setting {
    public let key: String
    public let help: String
    /// Whether `--key` alone means true (and `--no-key` false).
    public let isSwitch: Bool
    let apply: (inout HubConfiguration, String) throws(SettingProblem) -> Void
    let show: (HubConfiguration) -> String?

    /// `--flush-interval-ms`.
    public var flag: String { "--" + key }
    /// `TELEHUB_FLUSH_INTERVAL_MS`.
    public var variable: String { "TELEHUB_" + key.uppercased().replacing("-", with: "_") }

    /// The value `configuration` holds, as it would be written; nil when unset.
    public func value(in configuration: HubConfiguration) -> String? { show(configuration) }
}

/// Why a value was refused, without where it came from (the caller adds that).
public struct SettingProblem: Error, Equatable {
    public let message: String
    init(_ message: String) { self.message = message }
}

// MARK: - Kinds of values

extension Setting {
    /// A whole number within `range`.
    static func integer(
        _ key: String, _ path: WritableKeyPath<HubConfiguration, Int>, _ range: ClosedRange<Int>, _ help: String
    ) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            configuration[keyPath: path] = try whole(text, range)
        }, show: { String($0[keyPath: path]) })
    }

    /// A whole number of milliseconds within `range`, held as a `Duration`.
    static func milliseconds(
        _ key: String, _ path: WritableKeyPath<HubConfiguration, Duration>, _ range: ClosedRange<Int>, _ help: String
    ) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            configuration[keyPath: path] = .milliseconds(try whole(text, range))
        }, show: { String(Int64(($0[keyPath: path] / .milliseconds(1)).rounded())) })
    }

    /// A span such as `30d`, `12h`, `15m` or `90s`, held in milliseconds.
    static func span(_ key: String, _ path: WritableKeyPath<HubConfiguration, Int64>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            guard let milliseconds = SpanParser.milliseconds(text), milliseconds <= IngestLimits.maxTime else {
                throw SettingProblem("\(quoted(text)) is not a span: use a number and s, m, h or d, e.g. 30d")
            }
            configuration[keyPath: path] = milliseconds
        }, show: { SpanParser.format($0[keyPath: path]) })
    }

    /// A size such as `500MB` or `2GB`; unset by default.
    static func bytes(_ key: String, _ path: WritableKeyPath<HubConfiguration, Int64?>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            guard let bytes = ByteSizeParser.bytes(text) else {
                throw SettingProblem("\(quoted(text)) is not a size: use e.g. 500MB or 2GB")
            }
            configuration[keyPath: path] = bytes
        }, show: { $0[keyPath: path].map(String.init) })
    }

    /// On or off: `true`, `false`, `1`, `0`, `yes`, `no`, `on`, `off`.
    static func toggle(_ key: String, _ path: WritableKeyPath<HubConfiguration, Bool>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: true, apply: { configuration, text throws(SettingProblem) in
            configuration[keyPath: path] = try onOrOff(text)
        }, show: { String($0[keyPath: path]) })
    }

    /// On, off, or unset (the hub decides, as the help says).
    static func optionalToggle(_ key: String, _ path: WritableKeyPath<HubConfiguration, Bool?>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: true, apply: { configuration, text throws(SettingProblem) in
            configuration[keyPath: path] = try onOrOff(text)
        }, show: { $0[keyPath: path].map(String.init) })
    }

    private static func onOrOff(_ text: String) throws(SettingProblem) -> Bool {
        switch text.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: throw SettingProblem("\(quoted(text)) is not true or false")
        }
    }

    /// One of a few words.
    static func choice(
        _ key: String, _ path: WritableKeyPath<HubConfiguration, String>, _ choices: [String], _ help: String
    ) -> Setting {
        Setting(key: key, help: help + " One of: " + choices.joined(separator: ", ") + ".", isSwitch: false,
            apply: { configuration, text throws(SettingProblem) in
                guard choices.contains(text) else {
                    throw SettingProblem("\(quoted(text)) is not one of \(choices.joined(separator: ", "))")
                }
                configuration[keyPath: path] = text
            }, show: { $0[keyPath: path] })
    }

    /// Text, such as an address or a path, at most 4096 bytes.
    static func text(_ key: String, _ path: WritableKeyPath<HubConfiguration, String>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            configuration[keyPath: path] = try bounded(text)
        }, show: { $0[keyPath: path] })
    }

    /// Optional text; unset by default.
    static func optionalText(_ key: String, _ path: WritableKeyPath<HubConfiguration, String?>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            configuration[keyPath: path] = try bounded(text)
        }, show: { $0[keyPath: path] })
    }

    /// IP addresses, comma-separated, at most 64; unset by default.
    static func addresses(_ key: String, _ path: WritableKeyPath<HubConfiguration, Set<String>>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { configuration, text throws(SettingProblem) in
            let items = try bounded(text).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard items.count <= 64 else { throw SettingProblem("at most 64 addresses") }
            for item in items where !ClientAddress.isAddress(Substring(item)) {
                throw SettingProblem("\(quoted(item)) is not an IP address")
            }
            configuration[keyPath: path] = Set(items)
        }, show: { $0[keyPath: path].isEmpty ? nil : $0[keyPath: path].sorted().joined(separator: ",") })
    }

    /// A setting that no longer does anything: a value is still checked
    /// (so a typo is still caught) and then ignored, so older configurations
    /// keep starting. It has no value to show.
    static func retired(_ key: String, _ range: ClosedRange<Int>, _ help: String) -> Setting {
        Setting(key: key, help: help, isSwitch: false, apply: { _, text throws(SettingProblem) in
            _ = try whole(text, range)
        }, show: { _ in nil })
    }

    private static func whole(_ text: String, _ range: ClosedRange<Int>) throws(SettingProblem) -> Int {
        guard let value = Int(text) else { throw SettingProblem("\(quoted(text)) is not a whole number") }
        guard range.contains(value) else {
            throw SettingProblem("\(value) is out of range: it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    private static func bounded(_ text: String) throws(SettingProblem) -> String {
        guard !text.isEmpty, text.utf8.count <= 4096, !text.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw SettingProblem("must be 1 to 4096 bytes on one line")
        }
        return text
    }

    static func quoted(_ text: String) -> String {
        JSONText.quoted(String(text.prefix(100)))
    }
}
