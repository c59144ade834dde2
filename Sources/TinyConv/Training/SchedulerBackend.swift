/// How a minibatch is spread over threads.
public enum SchedulerBackend: String, CaseIterable, Sendable, Codable {
    /// TinyConv's design: each worker runs whole forward/backward passes on its shards
    /// (persistent Dispatch workers, see DispatchWorkerPool); two joins per step.
    case dispatch
    /// The framework way: layer by layer, each layer's shards split over OpenMP
    /// threads, a barrier after every layer.
    case openmp
}
