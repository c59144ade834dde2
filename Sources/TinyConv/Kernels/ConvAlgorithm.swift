import CKernels

/// How one direction of a conv or dense layer runs (C: tc_gemm_algo): a register tile by
/// shape, a cache blocking and a variant. `.rule` is what an untuned plan runs; the tuner
/// picks others by timing them on the machine at hand. Every choice computes each output
/// element with the same operations in the same order, so it changes speed, never bits.
public struct KernelChoice: Hashable, Sendable, CustomStringConvertible {
    /// A register tile, rows x columns (a row of the ISA's tile table).
    public struct Tile: Hashable, Sendable, CustomStringConvertible {
        public var rows, columns: Int
        public init(_ rows: Int, _ columns: Int) { (self.rows, self.columns) = (rows, columns) }
        public var description: String { "\(rows)x\(columns)" }
    }
    /// GEMM cache blocking (BLIS's KC, NC and MC in rows).
    public struct Blocking: Hashable, Sendable, CustomStringConvertible {
        public var kc, nc, mc: Int
        public init(kc: Int, nc: Int, mc: Int) { (self.kc, self.nc, self.mc) = (kc, nc, mc) }
        public var description: String { "kc\(kc).nc\(nc).mc\(mc)" }
    }
    /// rule: the shape rule; gemm: the GEMM (forward), dY W^T (backward data), col^T dY
    /// (weight gradient); alt: the direct Cin = 1 kernel with positions in vector lanes
    /// (forward), (W dY^T)^T (1x1 backward data), (dY^T col)^T (weight gradient); direct: the
    /// direct k x k convolution (Cin > 1) of any direction, no im2col or col2im.
    public enum Variant: Int, Sendable, CaseIterable {
        case rule = 0, gemm = 1, alt = 2, direct = 3
        public static let names = ["rule", "gemm", "alt", "direct"]
    }

    public var tile: Tile?          // nil: the rule's tile
    public var blocking: Blocking?  // nil: the ISA's fixed blocking
    public var variant: Variant

    public init(tile: Tile? = nil, blocking: Blocking? = nil, variant: Variant = .rule) {
        (self.tile, self.blocking, self.variant) = (tile, blocking, variant)
    }
    public static let rule = KernelChoice()

    var c: tc_gemm_algo {
        tc_gemm_algo(mr: UInt8(clamping: tile?.rows ?? 0), nr: UInt8(clamping: tile?.columns ?? 0),
                     variant: UInt8(variant.rawValue), reserved: 0, kc: Int32(clamping: blocking?.kc ?? 0),
                     nc: Int32(clamping: blocking?.nc ?? 0), mc: Int32(clamping: blocking?.mc ?? 0))
    }
    init(_ a: tc_gemm_algo) {
        tile = a.mr > 0 ? Tile(Int(a.mr), Int(a.nr)) : nil
        blocking = a.kc > 0 ? Blocking(kc: Int(a.kc), nc: Int(a.nc), mc: Int(a.mc)) : nil
        variant = Variant(rawValue: Int(a.variant)) ?? .rule
    }

    /// `variant/tile/blocking`, e.g. `gemm/12x32/fixed`, `alt/rule/kc256.nc4096.mc384`; parsed back by init(text:).
    public var description: String {
        "\(Variant.names[variant.rawValue])/\(tile?.description ?? "rule")/\(blocking?.description ?? "fixed")"
    }

    public init?(text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let v = Variant.names.firstIndex(of: parts[0]) else { return nil }
        variant = Variant(rawValue: v)!
        if parts[1] == "rule" { tile = nil } else {
            let d = parts[1].split(separator: "x").compactMap { Int($0) }
            guard d.count == 2, (1...255).contains(d[0]), (1...255).contains(d[1]) else { return nil }
            tile = Tile(d[0], d[1])
        }
        if parts[2] == "fixed" { blocking = nil } else {
            let f = parts[2].split(separator: ".")
            guard f.count == 3, f[0].hasPrefix("kc"), f[1].hasPrefix("nc"), f[2].hasPrefix("mc"),
                  let kc = Int(f[0].dropFirst(2)), let nc = Int(f[1].dropFirst(2)), let mc = Int(f[2].dropFirst(2)),
                  kc > 0, nc > 0, mc > 0, kc <= 1 << 20, nc <= 1 << 20, mc <= 1 << 20 else { return nil }
            blocking = Blocking(kc: kc, nc: nc, mc: mc)
        }
    }
}

/// One choice per direction of a conv or dense layer (C: tc_conv_algo).
public struct ConvAlgorithm: Hashable, Sendable, CustomStringConvertible {
    public enum Direction: Int, CaseIterable, Sendable, CustomStringConvertible {
        case forward = 0, backwardData = 1, backwardWeights = 2
        public var description: String { ["forward", "backward-data", "backward-weights"][rawValue] }
        /// What the alt variant is in this direction, for people.
        public var altName: String { ["cin1-lanes", "transposed", "swapped"][rawValue] }  // "direct" is Variant.direct
    }
    public var forward, backwardData, backwardWeights: KernelChoice

    public init(forward: KernelChoice = .rule, backwardData: KernelChoice = .rule, backwardWeights: KernelChoice = .rule) {
        (self.forward, self.backwardData, self.backwardWeights) = (forward, backwardData, backwardWeights)
    }
    public static let rule = ConvAlgorithm()

    public subscript(_ d: Direction) -> KernelChoice {
        get { [forward, backwardData, backwardWeights][d.rawValue] }
        set {
            switch d {
            case .forward: forward = newValue
            case .backwardData: backwardData = newValue
            case .backwardWeights: backwardWeights = newValue
            }
        }
    }

    public var c: tc_conv_algo { tc_conv_algo(forward: forward.c, backward_data: backwardData.c, backward_weights: backwardWeights.c) }

    /// `forward;backward-data;backward-weights`, each as KernelChoice.description.
    public var description: String { "\(forward);\(backwardData);\(backwardWeights)" }
    public init?(text: String) {
        let p = text.split(separator: ";", omittingEmptySubsequences: false).map { KernelChoice(text: String($0)) }
        guard p.count == 3, let f = p[0], let d = p[1], let w = p[2] else { return nil }
        self.init(forward: f, backwardData: d, backwardWeights: w)
    }

    /// What the shape rules pick for a conv shape on the active ISA, every field filled in.
    public static func resolvedRule(_ shape: ConvShape) -> ConvAlgorithm {
        let r = tc_conv2d_rule(shape.c)
        return ConvAlgorithm(forward: KernelChoice(r.forward), backwardData: KernelChoice(r.backward_data),
                             backwardWeights: KernelChoice(r.backward_weights))
    }

    /// This choice with what the rules would pick filled in where it leaves them to the rules
    /// (tile, variant), on the active ISA: what actually runs.
    public func resolved(_ shape: ConvShape) -> ConvAlgorithm {
        let rule = Self.resolvedRule(shape)
        var out = self
        for d in Direction.allCases {
            if out[d].variant == .rule { out[d].variant = rule[d].variant }
            guard out[d].tile == nil else { continue }
            if out[d].variant == .direct {  // its own rule tile, or none (the input gradient's fixed block)
                var mr: Int32 = 0, nr: Int32 = 0
                if tc_conv2d_direct_tile(shape.c, Int32(d.rawValue), &mr, &nr) != 0 { out[d].tile = KernelChoice.Tile(Int(mr), Int(nr)) }
            } else {
                out[d].tile = rule[d].tile
            }
        }
        return out
    }

    /// What a choice can set for a direction of a conv shape (the kernel's TC_CHOICE_* flags).
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let tile = Options(rawValue: Int(TC_CHOICE_TILE))
        public static let blocking = Options(rawValue: Int(TC_CHOICE_BLOCKING))
        public static let variant = Options(rawValue: Int(TC_CHOICE_VARIANT))
        /// The direct k x k convolution is offered (Variant.direct).
        public static let direct = Options(rawValue: Int(TC_CHOICE_DIRECT))
    }
    public static func options(_ shape: ConvShape, _ d: Direction) -> Options {
        Options(rawValue: Int(tc_conv2d_choices(shape.c, Int32(d.rawValue))))
    }
}

extension ISA {
    /// The register tiles of this ISA's kernel table, by shape.
    public var tiles: [KernelChoice.Tile] {
        (0..<Int(tc_gemm_tile_count(c))).map { i in
            var mr: Int32 = 0, nr: Int32 = 0
            tc_gemm_tile_shape(c, Int32(i), &mr, &nr)
            return KernelChoice.Tile(Int(mr), Int(nr))
        }
    }
}
