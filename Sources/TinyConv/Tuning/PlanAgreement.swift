/// How the processes of a distributed job agree on one plan: the root (MPI rank 0) decides,
/// every other rank receives its text, so all ranks run the same kernels (the choices never
/// change bits, but one plan keeps the ranks' step times alike).
public protocol PlanAgreement: AnyObject {
    var isRoot: Bool { get }
    /// The root's text on every rank (`text` is ignored on the others).
    func broadcast(_ text: String) -> String
}

extension KernelTuner {
    /// The plan choices for a network at a shard size: measured (or remembered) by this process
    /// when it is alone or the root, else received from the root. The report is nil on the
    /// other ranks.
    public func agreedChoices(for network: Network, capacity: Int, fuseLayers: Bool = true,
                              agreement: (any PlanAgreement)?) throws -> (PlanChoices, Report?) {
        guard let agreement, !agreement.isRoot else {
            let (c, r) = try choices(for: network, capacity: capacity, fuseLayers: fuseLayers)
            if let agreement { _ = agreement.broadcast(c.text) }
            return (c, r)
        }
        let text = agreement.broadcast("")
        guard let c = PlanChoices(text: text) else {
            throw TrainingError(message: "tuning: the plan received from rank 0 does not parse")
        }
        return (c, nil)
    }
}
