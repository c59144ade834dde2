import Foundation

/// A spec string that does not describe a valid network.
public struct SpecError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { "model spec: \(message)" }
}

extension NetworkSpec {
    /// Parses `conv5x5x6:same,pool,conv5x5x16,pool,fc120,dropout0.3,fc84,fc10,l2:0.001`.
    /// Tokens: convKxKxF[:same|:valid], pool, fcN, dropoutR, l2:LAMBDA.
    public static func parse(_ text: String) throws -> NetworkSpec {
        var layers: [Layer] = []
        var l2: Float = 0
        let tokens = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for (i, token) in tokens.enumerated() {
            let at = "token \(i + 1) '\(token)'"
            if token.isEmpty { throw SpecError(message: "\(at) is empty") }
            if token == "pool" {
                layers.append(.maxPool)
            } else if token.hasPrefix("conv") {
                let parts = token.dropFirst(4).split(separator: ":", maxSplits: 1)
                let dims = parts.first.map { $0.split(separator: "x").map { Int($0) } } ?? []
                guard dims.count == 3, let k1 = dims[0], let k2 = dims[1], let f = dims[2] else {
                    throw SpecError(message: "\(at): expected convKxKxFILTERS, e.g. conv5x5x6")
                }
                guard k1 == k2 else { throw SpecError(message: "\(at): only square kernels are supported") }
                guard (1...11).contains(k1), (1...4096).contains(f) else {
                    throw SpecError(message: "\(at): kernel must be 1...11 and filters 1...4096")
                }
                var padding = Padding.valid
                if parts.count == 2 {
                    guard let p = Padding(rawValue: String(parts[1])) else {
                        throw SpecError(message: "\(at): padding must be 'same' or 'valid'")
                    }
                    padding = p
                }
                if padding == .same && k1 % 2 == 0 {
                    throw SpecError(message: "\(at): 'same' padding needs an odd kernel")
                }
                layers.append(.conv(kernel: k1, filters: f, padding: padding))
            } else if token.hasPrefix("fc") {
                guard let u = Int(token.dropFirst(2)), (1...65536).contains(u) else {
                    throw SpecError(message: "\(at): expected fcUNITS with 1...65536 units, e.g. fc120")
                }
                layers.append(.dense(units: u))
            } else if token.hasPrefix("dropout") {
                guard let r = Float(token.dropFirst(7)), r >= 0, r < 1 else {
                    throw SpecError(message: "\(at): expected dropoutRATE with rate in [0, 1), e.g. dropout0.3")
                }
                layers.append(.dropout(rate: r))
            } else if token.hasPrefix("l2:") {
                guard let v = Float(token.dropFirst(3)), v >= 0, v.isFinite else {
                    throw SpecError(message: "\(at): expected l2:LAMBDA with LAMBDA >= 0")
                }
                l2 = v
            } else {
                throw SpecError(message: "\(at) is not a layer (conv, pool, fc, dropout, l2)")
            }
        }
        let spec = NetworkSpec(layers: layers, l2: l2)
        _ = try spec.resolve()
        return spec
    }
}
