import Foundation

/// Which CPU this process runs on, as far as kernel speed goes: vendor, family, model and
/// stepping (/proc/cpuinfo), the ISA the kernels use, and the data caches (sysfs). Wisdom is
/// kept per identity: a choice measured on one CPU is never applied on another.
public struct CPUIdentity: Sendable, Equatable, CustomStringConvertible {
    /// One data or unified cache level as sysfs describes it.
    public struct Cache: Sendable, Equatable {
        public var level: Int
        public var bytes: Int
        public var ways: Int
        public var sets: Int
        public var lineBytes: Int
        /// How many of the machine's logical CPUs share it.
        public var sharedBy: Int
    }
    public var vendor: String
    public var family: Int
    public var model: Int
    public var stepping: Int
    public var isa: ISA
    public var caches: [Cache]

    /// e.g. `GenuineIntel 6/207/2 avx512 L1 48K/12w L2 2048K/16w L3 266240K/20w`.
    public var description: String {
        let c = caches.map { "L\($0.level) \($0.bytes / 1024)K/\($0.ways)w" }.joined(separator: " ")
        return "\(vendor) \(family)/\(model)/\(stepping) \(isa)" + (c.isEmpty ? "" : " \(c)")
    }

    public func cache(level: Int) -> Cache? { caches.first { $0.level == level } }

    /// This machine, with the active ISA.
    public static var current: CPUIdentity {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String? {
            for line in info.split(separator: "\n") {
                let kv = line.split(separator: ":", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == name {
                    return kv[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
        return CPUIdentity(vendor: field("vendor_id") ?? "unknown", family: Int(field("cpu family") ?? "") ?? -1,
                           model: Int(field("model") ?? "") ?? -1, stepping: Int(field("stepping") ?? "") ?? -1,
                           isa: .active, caches: dataCaches())
    }

    /// Data and unified caches of CPU 0 from /sys/devices/system/cpu/cpu0/cache (empty when absent).
    static func dataCaches() -> [Cache] {
        var out: [Cache] = []
        for i in 0..<8 {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(i)/"
            func read(_ f: String) -> String? {
                (try? String(contentsOfFile: dir + f, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let type = read("type") else { break }
            guard type == "Data" || type == "Unified", let level = Int(read("level") ?? ""),
                  let size = read("size"), let ways = Int(read("ways_of_associativity") ?? ""),
                  let sets = Int(read("number_of_sets") ?? ""), let line = Int(read("coherency_line_size") ?? "") else { continue }
            let multiplier = size.hasSuffix("K") ? 1024 : size.hasSuffix("M") ? 1024 * 1024 : 1
            guard let n = Int(size.trimmingCharacters(in: CharacterSet(charactersIn: "KM"))), ways > 0, sets > 0, line > 0 else { continue }
            out.append(Cache(level: level, bytes: n * multiplier, ways: ways, sets: sets, lineBytes: line,
                             sharedBy: sharedCount(read("shared_cpu_list") ?? "")))
        }
        return out.sorted { $0.level < $1.level }
    }

    /// "0-3,8" -> 5
    static func sharedCount(_ list: String) -> Int {
        var n = 0
        for part in list.split(separator: ",") {
            let r = part.split(separator: "-").compactMap { Int($0) }
            n += r.count == 2 ? max(r[1] - r[0] + 1, 1) : 1
        }
        return max(n, 1)
    }
}
