import Foundation

/// The JSON files TinyConv writes (train --json, bench --json, bench scaling --json):
/// pretty-printed with sorted keys, written whole or not at all.
public enum JSONFile {
    public static func write<T: Encodable>(_ value: T, to path: String) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try e.encode(value), to: path)
    }
}
