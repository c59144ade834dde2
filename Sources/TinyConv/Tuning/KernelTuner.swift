import Foundation

/// Picks, for each conv and dense layer of a network, its kernels' algorithm (register tile,
/// cache blocking, variant: GEMM or direct, product orientation) and whether a conv + max pool
/// runs as one fused stage, by timing the candidates on the real shapes on the machine at hand
/// (as FFTW plans, cuDNN's benchmark mode and oneDNN's CPU dispatch do), and remembers the
/// answers in Wisdom so that the next run on this CPU pays nothing.
///
/// Every candidate computes each element with the same operations in the same order, so the
/// choice changes speed, never bits (tests: each forced candidate equals the rule bit for bit;
/// tuned and untuned runs train to identical weights). Candidates are timed interleaved, the
/// best of `rounds` samples each, and one must beat the shape rule by `margin` to replace it.
public final class KernelTuner {
    public enum Mode: String, CaseIterable, Sendable {
        /// Use wisdom; measure what it lacks and remember it.
        case auto
        /// The shape rules; no measuring, no file.
        case off
        /// Measure every layer again and remember the answers.
        case fresh
    }

    public struct Candidate: Sendable {
        public var choice: KernelChoice
        public var seconds: Double
    }
    public struct DirectionReport: Sendable {
        public var direction: ConvAlgorithm.Direction
        public var candidates: [Candidate]
        public var chosen: KernelChoice
    }
    public struct LayerReport: Sendable {
        public var layer: String
        public var key: String
        public var fromWisdom: Bool
        /// The shape rules' resolved choice (what an untuned plan runs).
        public var rule: ConvAlgorithm
        public var directions: [DirectionReport]
        /// Seconds per shard call, forward + backward, of the fused stage and of the two apart.
        public var fusedSeconds, unfusedSeconds: Double?
        public var choice: PlanChoices.Layer
    }
    public struct Report: Sendable {
        public var layers: [LayerReport] = []
        public var seconds = 0.0
        public var measured = 0, remembered = 0
        public var cpu: String = ""
        public var wisdomPath: String?
        /// Why the wisdom file was not written, when it was not (a note, never an error).
        public var saveProblem: String?
        /// One line for the user (and a note line when the wisdom could not be saved).
        public var summary: String {
            let w = wisdomPath.map { "; wisdom \($0)" } ?? ""
            return String(format: "tuning: %d layer(s): %d from wisdom, %d measured in %.2f s on %@%@",
                          layers.count, remembered, measured, seconds, cpu, w) + (saveProblem.map { "\nnote: \($0)" } ?? "")
        }
    }

    public let mode: Mode
    public let cpu: CPUIdentity
    public let wisdom: Wisdom?
    /// Timed samples per candidate (the best is kept) and the least time one sample takes.
    public var rounds = 5
    public var secondsPerSample = 100e-6
    /// A candidate replaces the rule only when it is this much faster.
    public var margin = 0.03

    /// mode .off never touches the wisdom file; wisdomPath nil keeps wisdom in memory only.
    public init(mode: Mode, wisdomPath: String? = Wisdom.defaultPath, cpu: CPUIdentity = .current) {
        self.mode = mode
        self.cpu = cpu
        wisdom = mode == .off ? nil : wisdomPath.map { Wisdom(path: $0, identity: cpu) }
    }

    /// One line per problem with the wisdom file (damaged, unreadable, other CPUs only).
    public var notes: [String] { wisdom?.notes ?? [] }

    /// The key a layer's choice is remembered under: its kernel shape at the shard capacity, and
    /// whether a max pool follows (the fusion choice), and the generation of the candidate set:
    /// an entry measured before the direct convolutions existed is measured again, not reused.
    static func key(_ shape: ConvShape, poolNext: Bool) -> String {
        shape.description + (poolNext ? " +pool" : "") + " " + candidateGeneration
    }
    static let candidateGeneration = "g2"

    /// The plan choices for a network at a shard capacity, and what was measured.
    public func choices(for network: Network, capacity: Int, fuseLayers: Bool = true) throws -> (PlanChoices, Report) {
        var report = Report(cpu: cpu.description, wisdomPath: wisdom?.path)
        guard mode != .off else { return (.rules, report) }
        let start = monotonicNanos()
        var choices = PlanChoices()
        let layers = network.resolved
        for (i, layer) in layers.enumerated() {
            guard let shape = layer.unit.kernelShape(layer, batch: capacity) else { continue }
            let poolNext = fuseLayers && layer.relu && i + 1 < layers.count && layers[i + 1].unit is MaxPool
                && Conv2DMaxPoolKernel.supports(shape) && layer.unit is Conv2D
            let key = Self.key(shape, poolNext: poolNext)
            let rule = ConvAlgorithm.resolvedRule(shape)
            if mode == .auto, let text = wisdom?[key], let remembered = Self.parse(text) {
                choices.layers[i] = remembered
                report.layers.append(LayerReport(layer: layer.name, key: key, fromWisdom: true, rule: rule, directions: [],
                                                 choice: remembered))
                report.remembered += 1
                continue
            }
            var lr = try measure(layer, shape: shape, rule: rule)
            var choice = PlanChoices.Layer(algorithm: lr.choice.algorithm)
            if poolNext {
                let (fused, unfused) = try timeFusion(network, layer: i, capacity: capacity, algorithm: choice.algorithm)
                lr.fusedSeconds = fused
                lr.unfusedSeconds = unfused
                choice.fused = !(unfused < fused * (1 - margin))  // fused is the rule
            }
            lr.choice = choice
            lr.layer = layer.name
            lr.key = key
            choices.layers[i] = choice
            wisdom?.record(key, Self.text(choice))
            report.layers.append(lr)
            report.measured += 1
        }
        report.seconds = Double(monotonicNanos() - start) * 1e-9
        do { try wisdom?.save() } catch {
            report.saveProblem = "wisdom could not be saved to \(wisdom?.path ?? "?") (\(error)): this run uses what it measured, the next one measures again"
        }
        return (choices, report)
    }

    static func text(_ c: PlanChoices.Layer) -> String {
        "\(c.algorithm) \(c.fused.map { $0 ? "fused" : "unfused" } ?? "-")"
    }
    static func parse(_ text: String) -> PlanChoices.Layer? {
        let f = text.split(separator: " ").map(String.init)
        guard f.count == 2, let a = ConvAlgorithm(text: f[0]), ["fused", "unfused", "-"].contains(f[1]) else { return nil }
        return PlanChoices.Layer(algorithm: a, fused: f[1] == "-" ? nil : f[1] == "fused")
    }

    // MARK: - measuring

    /// The candidates of one direction: every variant the shape offers, each with every tile
    /// of the ISA (the direct kernel has none), at the ISA's fixed blocking.
    func candidates(_ shape: ConvShape, _ d: ConvAlgorithm.Direction, rule: KernelChoice) -> [KernelChoice] {
        let options = ConvAlgorithm.options(shape, d)
        guard !options.isEmpty else { return [] }
        var out: [KernelChoice] = [.rule]
        let variants: [KernelChoice.Variant] = options.contains(.variant) ? [.gemm, .alt] : [.gemm]
        for v in variants {
            if v == .alt && d == .forward {  // the direct Cin = 1 kernel: no tile
                out.append(KernelChoice(variant: .alt))
                continue
            }
            let tiles: [KernelChoice.Tile?] = options.contains(.tile) ? ISA.active.tiles : [nil]
            for t in tiles {
                let c = KernelChoice(tile: t, variant: v)
                // the rule's own resolved choice is the .rule candidate already
                if c.tile == rule.tile && c.variant == rule.variant { continue }
                out.append(c)
            }
        }
        if options.contains(.direct) {
            // the direct convolution: its own rule tile, then every tile of the ISA (forward and
            // weight gradient); the input gradient's kernel has a fixed register block
            if rule.variant != .direct { out.append(KernelChoice(variant: .direct)) }
            if d != .backwardData {
                out += ISA.active.tiles.filter { rule.variant != .direct || $0 != rule.tile }.map { KernelChoice(tile: $0, variant: .direct) }
            }
        }
        return out
    }

    /// The blocking candidate for the best choice of a direction: the analytical model's for
    /// its tile (CacheBlocking), when the direction has a GEMM blocking to set.
    func blockings(_ shape: ConvShape, _ d: ConvAlgorithm.Direction, best: KernelChoice, rule: KernelChoice) -> [KernelChoice] {
        guard ConvAlgorithm.options(shape, d).contains(.blocking), best.variant != .alt || d != .forward,
              best.variant != .direct || d == .backwardWeights,
              let tile = best.tile ?? rule.tile, let b = CacheBlocking.analytical(tile: tile, cpu: cpu) else { return [] }
        return [KernelChoice(tile: best.tile, blocking: b, variant: best.variant)]
    }

    func measure(_ layer: ResolvedLayer, shape s: ConvShape, rule: ConvAlgorithm) throws -> LayerReport {
        var directions: [DirectionReport] = []
        var chosen = ConvAlgorithm.rule
        let buffers = KernelBuffers(shape: s)
        for d in ConvAlgorithm.Direction.allCases {
            if d == .backwardData && layer.index == 0 { continue }  // the first layer computes no input gradient
            var list = candidates(s, d, rule: rule[d])
            guard list.count > 1 else { continue }
            var times = try time(list, direction: d, shape: s, buffers: buffers)
            var best = bestIndex(times)
            let extra = blockings(s, d, best: list[best], rule: rule[d])
            if !extra.isEmpty {
                let more = try time([list[best]] + extra, direction: d, shape: s, buffers: buffers)
                // the first is the best again: keep the faster of its two samples
                times[best] = min(times[best], more[0])
                list += extra
                times += more.dropFirst()
                best = bestIndex(times)
            }
            chosen[d] = list[best]
            directions.append(DirectionReport(direction: d, candidates: zip(list, times).map { Candidate(choice: $0, seconds: $1) },
                                              chosen: list[best]))
        }
        return LayerReport(layer: layer.name, key: "", fromWisdom: false, rule: rule, directions: directions,
                           choice: PlanChoices.Layer(algorithm: chosen))
    }

    /// The fastest candidate, unless it beats the rule (index 0) by less than the margin.
    func bestIndex(_ times: [Double]) -> Int {
        let i = times.indices.min { times[$0] < times[$1] } ?? 0
        return times[i] < times[0] * (1 - margin) ? i : 0
    }

    /// Best seconds per call of each candidate, timed interleaved.
    func time(_ list: [KernelChoice], direction d: ConvAlgorithm.Direction, shape s: ConvShape,
              buffers b: KernelBuffers) throws -> [Double] {
        let kernels = try list.map { try Conv2DKernel(s, algorithm: ConvAlgorithm(forward: $0, backwardData: $0, backwardWeights: $0)) }
        b.reserve(kernels.map(\.workspaceFloats).max() ?? 0)
        let runs: [() -> Void] = kernels.map { k in
            switch d {
            case .forward:
                return { k.forward(batch: s.batch, x: b.x.pointer, weights: b.w.pointer, bias: b.b.pointer, y: b.y.pointer, relu: true,
                                   workspace: b.workspace.pointer) }
            case .backwardData:
                return { k.backwardData(batch: s.batch, dy: b.dy.pointer, weights: b.w.pointer, dx: b.dx.pointer,
                                        workspace: b.workspace.pointer) }
            case .backwardWeights:
                return { k.backwardWeights(batch: s.batch, x: b.x.pointer, dy: b.dy.pointer, dw: b.dw.pointer, db: b.db.pointer,
                                           accumulate: false, workspace: b.workspace.pointer) }
            }
        }
        return Self.interleaved(runs, rounds: rounds, secondsPerSample: secondsPerSample)
    }

    /// Fused stage vs conv stage + pool stage, forward and backward, seconds per shard call.
    func timeFusion(_ network: Network, layer i: Int, capacity: Int, algorithm: ConvAlgorithm) throws -> (Double, Double) {
        var runs: [() -> Void] = []
        var keep: [StageBuffers] = []
        for fused in [true, false] {
            let plan = try ExecutionPlan(network: network, capacity: capacity,
                                         choices: PlanChoices(layers: [i: .init(algorithm: algorithm, fused: fused)]))
            let buffers = StageBuffers(plan: plan, batch: capacity)
            keep.append(buffers)
            let stages = plan.stages.filter { $0.layers.overlaps(i...(i + 1)) }
            let contexts = stages.map { buffers.context(stage: $0) }
            runs.append {
                for (st, c) in zip(stages, contexts) { st.forward(c) }
                for (st, c) in zip(stages, contexts).reversed() { st.backward(c) }
            }
        }
        let t = withExtendedLifetime(keep) { Self.interleaved(runs, rounds: rounds, secondsPerSample: secondsPerSample) }
        return (t[0], t[1])
    }

    /// Runs each closure once, then `rounds` times a sample of enough calls to take
    /// `secondsPerSample`, candidates in rotating order; the best seconds per call of each.
    static func interleaved(_ runs: [() -> Void], rounds: Int, secondsPerSample: Double) -> [Double] {
        var inner = [Int](repeating: 1, count: runs.count)
        var best = [Double](repeating: .infinity, count: runs.count)
        for (i, run) in runs.enumerated() {
            run()  // warm: caches, page faults
            let t0 = monotonicNanos()
            run()
            let dt = max(Double(monotonicNanos() - t0) * 1e-9, 1e-9)
            best[i] = dt
            inner[i] = max(1, min(10_000, Int(secondsPerSample / dt)))
        }
        for r in 0..<rounds {
            for j in runs.indices {
                let i = (j + r) % runs.count
                let t0 = monotonicNanos()
                for _ in 0..<inner[i] { runs[i]() }
                best[i] = min(best[i], Double(monotonicNanos() - t0) * 1e-9 / Double(inner[i]))
            }
        }
        return best
    }
}

/// Inputs and outputs of one conv shape's kernels, deterministic values, for timing.
final class KernelBuffers {
    let x, w, b, y, dy, dx, dw, db: FloatBuffer
    private(set) var workspace: FloatBuffer

    init(shape s: ConvShape) {
        var seed: UInt64 = 11
        func random(_ n: Int) -> FloatBuffer { .pattern(count: n, seed: &seed) }
        (x, w, b, y) = (random(s.inputCount), random(s.weightCount), random(s.outChannels), random(s.outputCount))
        (dy, dx, dw, db) = (random(s.outputCount), random(s.inputCount), random(s.weightCount), random(s.outChannels))
        workspace = FloatBuffer(count: 1)
    }

    func reserve(_ floats: Int) {
        if workspace.count < floats { workspace = FloatBuffer(count: floats) }
    }
}
