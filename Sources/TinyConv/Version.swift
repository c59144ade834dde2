public enum TinyConvVersion { public static let string = "0.1.0" }
