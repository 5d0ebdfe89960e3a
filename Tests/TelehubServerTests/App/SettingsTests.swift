import Foundation
import Testing
@testable import TelehubServer
import TelehubCore

@Suite struct SettingsTests {
    /// Each setting writes where it reads: its default, written out and read
    /// back, leaves the configuration as it was, and a changed value shows.
    @Test func everySettingReadsBackWhatItShows() throws {
        let defaults = HubConfiguration()
        for setting in Settings.all {
            guard let shown = setting.value(in: defaults) else { continue }
            var configuration = HubConfiguration()
            try setting.apply(&configuration, shown)
            #expect(configuration.configFileText() == defaults.configFileText(), "\(setting.key)")
        }
        let loaded = try HubConfiguration.load(
            flags: ["--max-batch", "7", "--retention=2d", "--no-deflate", "--demo", "--drain-timeout-ms", "250"],
            environment: [:], configFile: nil)
        #expect(loaded.limits.maxBatch == 7 && loaded.retentionMs == 172_800_000 && !loaded.deflate && loaded.demo)
        #expect(loaded.drainTimeout == .milliseconds(250))
    }

    @Test func flagsWinOverVariablesWhichWinOverTheFile() throws {
        let file = try temporaryFile("max-batch = 11\nmax-metrics = 5\nheartbeat-seconds = 3\n")
        let configuration = try HubConfiguration.load(
            flags: ["--max-batch", "33"], environment: ["TELEHUB_MAX_BATCH": "22", "TELEHUB_MAX_METRICS": "6"],
            configFile: file)
        #expect(configuration.limits.maxBatch == 33)
        #expect(configuration.limits.maxMetricsPerReading == 6)
        #expect(configuration.heartbeatSeconds == 3)
    }

    /// The same words for the same bad value, whichever source it came from,
    /// and every problem at once.
    @Test func badValuesAreRefusedAlikeAndAllTogether() throws {
        let file = try temporaryFile("port = 99999\n")
        do {
            _ = try HubConfiguration.load(
                flags: ["--port", "99999", "--flush-intervall-ms", "3", "--tls-cert", "c.pem"],
                environment: ["TELEHUB_PORT": "99999", "TELEHUB_RETENTION": "30 days"], configFile: file)
            Issue.record("accepted")
        } catch {
            let range = "99999 is out of range: it must be between 0 and 65535"
            #expect(error.problems.contains("port (from \(file):1): \(range)"))
            #expect(error.problems.contains("port (from TELEHUB_PORT): \(range)"))
            #expect(error.problems.contains("port (from --port): \(range)"))
            #expect(error.problems.contains(#"unknown setting "--flush-intervall-ms"; did you mean --flush-interval-ms?"#))
            #expect(error.problems.contains { $0.hasPrefix("retention (from TELEHUB_RETENTION)") })
            #expect(error.problems.contains("tls-cert and tls-key go together: give both or neither"))
        }
    }

    @Test func flagShapes() {
        let (values, problems) = SettingSources.flags(["--demo", "--no-deflate", "--port=0", "--host", "::", "--max-batch", "--nope", "x", "stray"])
        #expect(values.map(\.key) == ["demo", "deflate", "port", "host", "max-batch"])
        #expect(values.map(\.value) == ["true", "false", "0", "::", "--nope"])
        #expect(problems == [#"unexpected argument "x""#, #"unexpected argument "stray""#])
        #expect(SettingSources.flags(["--port"]).problems == ["--port needs a value"])
        #expect(SettingSources.flags(["--no-port"]).problems.first?.hasPrefix(#"unknown setting "--no-port""#) == true)
    }

    @Test func fileMistakesNameTheirLine() throws {
        let oversized = try temporaryFile(String(repeating: "# padding\n", count: 7000))
        #expect(throws: ConfigurationError.self) { try SettingSources.file(oversized) }
        #expect(throws: ConfigurationError.self) { try SettingSources.file("/nonexistent/telehub.toml") }
        let values = try ConfigFile.values("host = \"a \\\"b\\\" c\" # note\n\n  port=1\n", name: "f")
        #expect(values == [SettingValue(key: "host", value: "a \"b\" c", origin: "f:1"), SettingValue(key: "port", value: "1", origin: "f:3")])
        #expect(throws: ConfigurationError(["f:1: host: text after the closing quote"])) {
            try ConfigFile.values("host = \"a\" b\n", name: "f")
        }
    }

    @Test func helpListsEverySettingWithItsDefault() {
        let help = Settings.helpText
        for setting in Settings.all { #expect(help.contains(setting.flag), "\(setting.key)") }
        #expect(help.contains("(default 8080)") && help.contains("--deflate, --no-deflate"))
        #expect(help.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    private func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("telehub-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
