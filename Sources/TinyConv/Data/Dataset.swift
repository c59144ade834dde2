/// Images with their labels, in memory, as the floats a network reads: IDX bytes scaled
/// to [0, 1] (pixel / 255) when loaded, or float32 IDX values as they are.
/// images: [count][height][width][channels] (NHWC without padding), labels: [count].
public struct Dataset: Sendable {
    public let images: [Float]
    public let labels: [UInt8]
    public let shape: TensorShape
    public let classes: Int

    public init(images: [Float], labels: [UInt8], shape: TensorShape, classes: Int = 10) {
        precondition(images.count == labels.count * shape.count, "images and labels disagree")
        self.images = images
        self.labels = labels
        self.shape = shape
        self.classes = classes
    }

    /// Byte pixels, scaled to [0, 1] as x / 255 (x * (1/255) in fp32: the bits TinyConv has
    /// always fed MNIST with).
    public init(pixels: [UInt8], labels: [UInt8], shape: TensorShape, classes: Int = 10) {
        self.init(images: pixels.map { Float($0) * (1.0 / 255.0) }, labels: labels, shape: shape, classes: classes)
    }

    public var count: Int { labels.count }

    /// Samples [range) as a new data set (a validation split, or --limit).
    public func slice(_ range: Range<Int>) -> Dataset {
        Dataset(images: Array(images[(range.lowerBound * shape.count)..<(range.upperBound * shape.count)]),
                labels: Array(labels[range]), shape: shape, classes: classes)
    }
}
