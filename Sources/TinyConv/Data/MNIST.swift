import Foundation

/// A data folder of four IDX files, gzipped or not, checked against each other: MNIST's own
/// names (train-images-idx3-ubyte, ...) or the plain names train-images.idx, train-labels.idx,
/// test-images.idx and test-labels.idx. Images are N x H x W (grey) or N x H x W x C (channels
/// last), unsigned bytes (scaled to [0, 1]) or float32 (as they are); labels are bytes. The
/// image shape and the class count (the largest training label + 1) come from the data.
public enum MNIST {
    public static let files = (
        trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
        testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
    )
    static let plainFiles = (trainImages: "train-images.idx", trainLabels: "train-labels.idx",
                             testImages: "test-images.idx", testLabels: "test-labels.idx")

    /// The path of `name` or `name.gz` in `folder` (the raw file wins if both exist).
    static func locate(_ name: String, in folder: String) -> String {
        let raw = (folder as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: raw) { return raw }
        let gz = raw + ".gz"
        return FileManager.default.fileExists(atPath: gz) ? gz : raw
    }

    /// The four files of a folder: MNIST's names, unless the plain names are there.
    static func names(in folder: String) -> [String] {
        let plain = [plainFiles.trainImages, plainFiles.trainLabels, plainFiles.testImages, plainFiles.testLabels]
        let mnist = [files.trainImages, files.trainLabels, files.testImages, files.testLabels]
        return FileManager.default.fileExists(atPath: locate(plain[0], in: folder)) ? plain : mnist
    }

    /// The four files' paths in a folder, with the flag that names them for messages.
    public static func paths(in folder: String) -> [(String, String)] {
        names(in: folder).map { ("--data", locate($0, in: folder)) }
    }

    /// The training and test sets. `classes`: the count the model was built for, or nil to take
    /// it from the data (the largest training label + 1).
    public static func load(folder: String, classes: Int? = nil) throws -> (train: Dataset, test: Dataset) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw DataFileError(path: folder, fault: "no such data folder (run scripts/setup.sh, or pass --data DIR with the four IDX files)")
        }
        guard isDir.boolValue else {
            throw DataFileError(path: folder, fault: "is a file, not a folder (--data takes the folder that holds the four IDX files)")
        }
        let n = names(in: folder).map { locate($0, in: folder) }
        // MNIST's own files have ten classes: a label past 9 there is damage, named as such,
        // not a data set with more classes
        let mnist = n[1].contains("-idx1-ubyte")
        let train = try pair(images: n[0], labels: n[1], classes: classes ?? (mnist ? 10 : nil))
        let test = try pair(images: n[2], labels: n[3], classes: classes ?? train.classes)
        guard train.shape == test.shape else {
            throw DataFileError(path: folder, fault: "training images are \(train.shape) but test images are \(test.shape)")
        }
        return (train, test)
    }

    /// Training, validation and test sets: the validation images are the last
    /// `validation` of the (first `limit`) training images. The full training set is
    /// dropped on return, so only the splits stay in memory. `input` and `classes`: what a
    /// model was built for (checked), or nil to take them from the data.
    public static func splits(folder: String, classes: Int?, input: TensorShape?, limit: Int?, validation: Int) throws
        -> (train: Dataset, validation: Dataset?, test: Dataset) {
        let (full, test) = try load(folder: folder, classes: classes)
        if let input, full.shape != input {
            throw DataFileError(path: folder, fault: "images are \(full.shape), the model was built for \(input)")
        }
        let count = min(limit ?? full.count, full.count)
        guard validation >= 0, validation < count else {
            throw DataFileError(path: folder, fault: "a validation split of \(validation) leaves no training images out of \(count)")
        }
        let train = full.slice(0..<(count - validation))
        let val = validation > 0 ? full.slice((count - validation)..<count) : nil
        return (train, val, test)
    }

    /// One image file and its labels. classes nil: from the labels (the largest + 1).
    public static func pair(images: String, labels: String, classes: Int?) throws -> Dataset {
        let x = try IDXReader.read(path: images, ranks: [3, 4])
        let y = try IDXReader.read(path: labels, rank: 1)
        guard !y.isFloat else { throw DataFileError(path: labels, fault: "labels must be unsigned bytes (type 0x08), not float32") }
        guard x.dimensions[0] == y.dimensions[0] else {
            throw DataFileError(path: labels, fault: "\(y.dimensions[0]) labels for \(x.dimensions[0]) images in \(images)")
        }
        let k = classes ?? Int(y.bytes.max() ?? 0) + 1
        guard k >= 2 else { throw DataFileError(path: labels, fault: "every label is 0: at least two classes are needed") }
        if let bad = y.bytes.firstIndex(where: { Int($0) >= k }) {
            throw DataFileError(path: labels, fault: "label \(y.bytes[bad]) at index \(bad) is outside 0..<\(k) (\(k) classes expected: a damaged label, or data of another set)")
        }
        let shape = TensorShape(x.dimensions[1], x.dimensions[2], x.dimensions.count == 4 ? x.dimensions[3] : 1)
        guard shape.channels <= 64 else {
            throw DataFileError(path: images, fault: "\(shape.channels) channels: expected N x H x W x C images with C <= 64 (channels last)")
        }
        if let floats = x.floats { return Dataset(images: floats, labels: y.bytes, shape: shape, classes: k) }
        return Dataset(pixels: x.bytes, labels: y.bytes, shape: shape, classes: k)
    }
}
