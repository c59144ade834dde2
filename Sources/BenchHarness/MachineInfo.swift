import TinyConv
import Foundation

/// What a benchmark ran on, recorded with every result.
public struct MachineInfo: Codable, Sendable {
    public var cpuModel: String
    public var logicalCores: Int
    public var coresUsed: Int
    public var isa: String
    public var date: String
    public var commit: String

    public static func current(coresUsed: Int) -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let formatter = ISO8601DateFormatter()
        return MachineInfo(cpuModel: model, logicalCores: ProcessInfo.processInfo.activeProcessorCount, coresUsed: coresUsed,
                           isa: ISA.active.description, date: formatter.string(from: Date()), commit: gitCommit())
    }

    static func gitCommit() -> String {
        if let c = ProcessInfo.processInfo.environment["TINYCONV_COMMIT"] { return c }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "rev-parse", "--short", "HEAD"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "unknown" }
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return p.terminationStatus == 0 && !out.isEmpty ? out : "unknown"
    }
}
