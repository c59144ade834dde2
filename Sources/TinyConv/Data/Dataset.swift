/// Images as bytes (the IDX pixels, 0...255) with their labels, in memory. Samples are
/// converted to floats (pixel / 255) only when a shard gathers them.
public struct Dataset: Sendable {
    public let images: [UInt8]      // [count][height][width][channels]
    public let labels: [UInt8]      // [count]
    public let shape: TensorShape
    public let classes: Int

    public init(images: [UInt8], labels: [UInt8], shape: TensorShape, classes: Int = 10) {
        precondition(images.count == labels.count * shape.count, "images and labels disagree")
        self.images = images
        self.labels = labels
        self.shape = shape
        self.classes = classes
    }

    public var count: Int { labels.count }

    /// Samples [range) as a new data set (a validation split, or --limit).
    public func slice(_ range: Range<Int>) -> Dataset {
        Dataset(images: Array(images[(range.lowerBound * shape.count)..<(range.upperBound * shape.count)]),
                labels: Array(labels[range]), shape: shape, classes: classes)
    }
}
