/// A raw pointer handed to parallel workers that each touch a disjoint part of it.
/// The scheduler guarantees the disjointness; this wrapper only states it to the compiler.
public struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    public subscript(i: Int) -> T {
        get { pointer[i] }
        nonmutating set { pointer[i] = newValue }
    }
}
