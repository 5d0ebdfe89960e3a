import Foundation
import TelehubCore

/// A value for a setting, with where it came from so an error can say so.
public struct SettingValue: Equatable, Sendable {
    public var key: String
    public var value: String
    /// `--port`, `TELEHUB_PORT`, or `telehub.toml:3`.
    public var origin: String
}

/// Reads setting values from the three places they can be given.
public enum SettingSources {
    /// `--key value`, `--key=value`, and for switches `--key` and `--no-key`;
    /// the values read and the problems found (unknown flags, missing values).
    public static func flags(_ arguments: [String]) -> (values: [SettingValue], problems: [String]) {
        var values: [SettingValue] = []
        var problems: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                problems.append("unexpected argument \(Setting.quoted(argument))")
                continue
            }
            let body = argument.dropFirst(2)
            let (name, inline) = body.firstIndex(of: "=").map { (String(body[..<$0]), String(body[body.index(after: $0)...])) }
                ?? (String(body), nil)
            let negated = name.hasPrefix("no-") && Settings.named(name) == nil
            let key = negated ? String(name.dropFirst(3)) : name
            guard let setting = Settings.named(key), !negated || setting.isSwitch else {
                problems.append(unknown("--\(name)", key: key, prefix: "--"))
                // Its value, if it has one, is not an argument of its own.
                if inline == nil, index < arguments.count, !arguments[index].hasPrefix("--") { index += 1 }
                continue
            }
            let value: String
            if setting.isSwitch, inline == nil {
                value = negated ? "false" : "true"
            } else if let inline {
                value = inline
            } else if index < arguments.count {
                value = arguments[index]
                index += 1
            } else {
                problems.append("--\(key) needs a value")
                continue
            }
            values.append(SettingValue(key: key, value: value, origin: "--\(key)"))
        }
        return (values, problems)
    }

    /// The `TELEHUB_*` variables of known settings. Other `TELEHUB_*` names are
    /// left alone: the CLI and device clients have variables of their own.
    public static func environment(_ environment: [String: String]) -> [SettingValue] {
        Settings.all.compactMap { setting in
            environment[setting.variable].map { SettingValue(key: setting.key, value: $0, origin: setting.variable) }
        }
    }

    /// A config file: `key = value` lines, `#` comments, strings in double
    /// quotes (a flat TOML file). At most 64 KiB.
    public static func file(_ path: String) throws(ConfigurationError) -> [SettingValue] {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: ConfigFile.maxBytes + 1) ?? Data()
        } catch {
            throw ConfigurationError(["cannot read the config file \(path): \(error.localizedDescription)"])
        }
        guard data.count <= ConfigFile.maxBytes else {
            throw ConfigurationError(["the config file \(path) is over \(ConfigFile.maxBytes / 1024) KiB"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(["the config file \(path) is not UTF-8 text"])
        }
        return try ConfigFile.values(text, name: path)
    }

    static func unknown(_ given: String, key: String, prefix: String) -> String {
        let hint = Settings.closest(to: key).map { "; did you mean \(prefix)\($0)?" } ?? ""
        return "unknown setting \(Setting.quoted(given))\(hint)"
    }
}

/// The flat TOML subset of a config file.
enum ConfigFile {
    static let maxBytes = 64 * 1024

    static func values(_ text: String, name: String) throws(ConfigurationError) -> [SettingValue] {
        var values: [SettingValue] = []
        var problems: [String] = []
        var seen: Set<String> = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let origin = "\(name):\(number + 1)"
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                problems.append("\(origin): expected key = value")
                continue
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard Settings.named(key) != nil else {
                problems.append("\(origin): " + SettingSources.unknown(key, key: key, prefix: ""))
                continue
            }
            guard seen.insert(key).inserted else {
                problems.append("\(origin): \(key) is set twice")
                continue
            }
            switch value(line[line.index(after: equals)...]) {
            case .success(let value): values.append(SettingValue(key: key, value: value, origin: origin))
            case .failure(let problem): problems.append("\(origin): \(key): \(problem.message)")
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return values
    }

    /// A quoted string with `\"` and `\\` escapes, or a bare word up to a comment.
    private static func value(_ text: Substring) -> Result<String, SettingProblem> {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("\"") else {
            let bare = text.prefix { $0 != "#" }.trimmingCharacters(in: .whitespaces)
            return bare.isEmpty ? .failure(SettingProblem("no value")) : .success(bare)
        }
        var result = ""
        var escaped = false
        for (offset, character) in text.dropFirst().enumerated() {
            if escaped {
                guard character == "\"" || character == "\\" else { return .failure(SettingProblem("unknown escape \\\(character)")) }
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                let rest = text.dropFirst(offset + 2).trimmingCharacters(in: .whitespaces)
                guard rest.isEmpty || rest.hasPrefix("#") else { return .failure(SettingProblem("text after the closing quote")) }
                return .success(result)
            } else {
                result.append(character)
            }
        }
        return .failure(SettingProblem("no closing quote"))
    }
}

/// Every problem found in the settings, each naming its setting and source.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public let problems: [String]
    init(_ problems: [String]) { self.problems = problems }
    public var description: String { "invalid configuration:\n  " + problems.joined(separator: "\n  ") }
}

extension HubConfiguration {
    /// The configuration from a config file, then `TELEHUB_*` variables, then
    /// flags, each over the one before, over the defaults.
    /// - Parameters:
    ///   - flags: the command line's setting flags (`--flush-values 10`, ...).
    ///   - configFile: a path; nil for none.
    public static func load(flags: [String], environment: [String: String], configFile: String?)
        throws(ConfigurationError) -> HubConfiguration
    {
        var configuration = HubConfiguration()
        var problems: [String] = []
        // Every problem at once, from every source: a person fixes them in one go.
        func read(_ source: () throws(ConfigurationError) -> [SettingValue]) -> [SettingValue] {
            do { return try source() } catch {
                problems += error.problems
                return []
            }
        }
        let values = read { () throws(ConfigurationError) in try configFile.map { path throws(ConfigurationError) in try SettingSources.file(path) } ?? [] }
            + SettingSources.environment(environment)
            + read { () throws(ConfigurationError) in
                let (values, flagProblems) = SettingSources.flags(flags)
                problems += flagProblems
                return values
            }
        for value in values {
            guard let setting = Settings.named(value.key) else { continue }
            do {
                try setting.apply(&configuration, value.value)
            } catch {
                problems.append("\(value.key) (from \(value.origin)): \(error.message)")
            }
        }
        problems += configuration.problems()
        guard problems.isEmpty else { throw ConfigurationError(problems) }
        return configuration
    }

    /// Every setting with its value, as a config file: `telehub serve
    /// --print-config` writes it, and the example file is made of it.
    public func configFileText() -> String {
        var text = "# Telehub settings (telehub serve --config FILE). Each can also be given as\n"
        text += "# --key value or as the variable TELEHUB_KEY (dashes as underscores);\n"
        text += "# flags win over variables, variables over this file.\n"
        for setting in Settings.all {
            text += "\n# \(setting.help)\n"
            if let value = setting.value(in: self) {
                text += "\(setting.key) = \(Int64(value) != nil || value == "true" || value == "false" ? value : JSONText.quoted(value))\n"
            } else {
                text += "# \(setting.key) = \n"
            }
        }
        return text
    }
}
