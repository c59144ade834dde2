import Foundation

/// The four MNIST IDX files from a folder (gzipped or not), checked against each other.
public enum MNIST {
    public static let files = (
        trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
        testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
    )

    /// The path of `name` or `name.gz` in `folder` (the raw file wins if both exist).
    static func locate(_ name: String, in folder: String) -> String {
        let raw = (folder as NSString).appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: raw) { return raw }
        let gz = raw + ".gz"
        return FileManager.default.fileExists(atPath: gz) ? gz : raw
    }

    /// The four files' paths in a folder, with the flag that names them for messages.
    public static func paths(in folder: String) -> [(String, String)] {
        [files.trainImages, files.trainLabels, files.testImages, files.testLabels].map { ("--data", locate($0, in: folder)) }
    }

    public static func load(folder: String, classes: Int = 10) throws -> (train: Dataset, test: Dataset) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw DataFileError(path: folder, fault: "no such data folder (run scripts/setup.sh, or pass --data DIR with the four MNIST IDX files)")
        }
        let train = try pair(images: locate(files.trainImages, in: folder), labels: locate(files.trainLabels, in: folder), classes: classes)
        let test = try pair(images: locate(files.testImages, in: folder), labels: locate(files.testLabels, in: folder), classes: classes)
        guard train.shape == test.shape else {
            throw DataFileError(path: folder, fault: "training images are \(train.shape) but test images are \(test.shape)")
        }
        return (train, test)
    }

    /// Training, validation and test sets: the validation images are the last
    /// `validation` of the (first `limit`) training images. The full training set is
    /// dropped on return, so only the splits stay in memory.
    public static func splits(folder: String, classes: Int, input: TensorShape, limit: Int?, validation: Int) throws
        -> (train: Dataset, validation: Dataset?, test: Dataset) {
        let (full, test) = try load(folder: folder, classes: classes)
        guard full.shape == input else {
            throw DataFileError(path: folder, fault: "images are \(full.shape), the model expects \(input)")
        }
        let count = min(limit ?? full.count, full.count)
        guard validation >= 0, validation < count else {
            throw DataFileError(path: folder, fault: "a validation split of \(validation) leaves no training images out of \(count)")
        }
        let train = full.slice(0..<(count - validation))
        let val = validation > 0 ? full.slice((count - validation)..<count) : nil
        return (train, val, test)
    }

    public static func pair(images: String, labels: String, classes: Int) throws -> Dataset {
        let x = try IDXReader.read(path: images, rank: 3)
        let y = try IDXReader.read(path: labels, rank: 1)
        guard x.dimensions[0] == y.dimensions[0] else {
            throw DataFileError(path: labels, fault: "\(y.dimensions[0]) labels for \(x.dimensions[0]) images in \(images)")
        }
        if let bad = y.bytes.firstIndex(where: { Int($0) >= classes }) {
            throw DataFileError(path: labels, fault: "label \(y.bytes[bad]) at index \(bad) is outside 0..<\(classes)")
        }
        return Dataset(images: x.bytes, labels: y.bytes, shape: TensorShape(x.dimensions[1], x.dimensions[2], 1), classes: classes)
    }
}
