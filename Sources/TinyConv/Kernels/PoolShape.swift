/// Shape of a 2x2 stride-2 pooling (floor: an odd trailing row or column is dropped):
/// x [batch][height][width][channels] -> y [batch][height/2][width/2][channels].
public struct PoolShape: Hashable, Sendable, CustomStringConvertible {
    public var batch, height, width, channels: Int
    public init(batch: Int, height: Int, width: Int, channels: Int) {
        (self.batch, self.height, self.width, self.channels) = (batch, height, width, channels)
    }
    public var inputCount: Int { batch * height * width * channels }
    public var outputCount: Int { batch * (height / 2) * (width / 2) * channels }
    public var description: String { "2x2 pool \(batch)x\(height)x\(width)x\(channels)" }

    public func validate(_ kernel: String) throws {
        try require(batch > 0 && height >= 2 && width >= 2 && channels > 0, kernel,
                    "needs a positive batch and channels and at least 2x2 input, got \(batch)x\(height)x\(width)x\(channels)")
        try require([batch, height, width, channels].allSatisfy { $0 < Int(Int32.max) }, kernel, "dimensions too large: \(self)")
    }
}
