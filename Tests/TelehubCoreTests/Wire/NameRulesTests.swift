import Testing
import TelehubCore

@Suite struct NameRulesTests {
    @Test(arguments: ["greenhouse-1", "a", "Pi.4_b", "0x", String(repeating: "x", count: 64)])
    func validDeviceNames(name: String) { #expect(NameRules.isValidDeviceName(name)) }

    @Test(arguments: ["", "-a", ".a", "a b", "ä", "a/b", String(repeating: "x", count: 65)])
    func invalidDeviceNames(name: String) { #expect(!NameRules.isValidDeviceName(name)) }

    @Test(arguments: ["temperature", "_x", "rssi.dbm", "a-b", "A9"])
    func validMetricNames(name: String) { #expect(NameRules.isValidMetricName(name)) }

    @Test(arguments: ["", "9a", "-a", ".a", "a b", "é", String(repeating: "m", count: 65)])
    func invalidMetricNames(name: String) { #expect(!NameRules.isValidMetricName(name)) }
}
