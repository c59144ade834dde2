/// A kernel was called with arguments the C code must never see.
public struct KernelArgumentError: Error, CustomStringConvertible, Equatable {
    public let kernel: String
    public let message: String
    public var description: String { "\(kernel): \(message)" }
}

@inline(__always)
func require(_ condition: Bool, _ kernel: String, _ message: @autoclosure () -> String) throws {
    if !condition { throw KernelArgumentError(kernel: kernel, message: message()) }
}

@inline(__always)
func requireCount(_ actual: Int, _ expected: Int, _ kernel: String, _ name: String) throws {
    if actual < expected {
        throw KernelArgumentError(
            kernel: kernel, message: "\(name) holds \(actual) floats, the shape needs \(expected)")
    }
}
