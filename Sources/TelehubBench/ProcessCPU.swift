import Foundation

/// CPU seconds of other processes, from `/proc`: the benchmarks charge each
/// server (a hub, PostgreSQL, InfluxDB) its own share of a noisy machine,
/// never the load generator's.
public enum ProcessCPU {
    /// CPU seconds of this process so far (user and system): benchmarks count
    /// the load generator's share with it.
    public static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return user + system
    }

    /// User plus system seconds `pid` has used so far, or nil when it is gone.
    public static func seconds(pid: Int32) -> Double? {
        guard let fields = statFields(pid) else { return nil }
        return ticks(fields, 11) + ticks(fields, 12)
    }

    /// A server that forks a process per connection (PostgreSQL): `root`'s own
    /// seconds, its children's that ended (`cutime`, `cstime`), and those of the
    /// children still running. A connection opened and closed between two
    /// readings is counted all the same, once reaped.
    public static func treeSeconds(root: Int32) -> Double? {
        guard let rootFields = statFields(root) else { return nil }
        var total = ticks(rootFields, 11) + ticks(rootFields, 12) + ticks(rootFields, 13) + ticks(rootFields, 14)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != root, let fields = statFields(pid), fields.count > 12,
                Int32(fields[1]) == root
            else { continue }
            total += ticks(fields, 11) + ticks(fields, 12)
        }
        return total
    }

    /// The fields of `/proc/<pid>/stat` after the command name (which may hold
    /// spaces): index 0 is the state, 1 the parent, 11 and 12 user and system time.
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 14 ? fields : nil
    }

    private static func ticks(_ fields: [Substring], _ index: Int) -> Double {
        (Double(fields[index]) ?? 0) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
